"""The report's renderings: a safe reviewer page, an applicant receipt, atomic files."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from grader.render import clean_text, render_html, render_receipt, write_report
from grader.report import (
    Artifact,
    Check,
    Flag,
    Logs,
    ManualItem,
    Provenance,
    Report,
    Resources,
    Status,
    SubmissionRef,
    TaskRef,
    Timings,
)
from grader.sandbox.base import BoundedLog
from grader.spec import Visibility

SCRIPT = "<script>alert(1)</script>"
IMG = '<img src=x onerror="alert(1)">'
ANSI_LOG = "\x1b[1;31mERROR\x1b[0m plain \x1b]0;evil title\x07after \x1b[2K\x1b[1Adone\x07\x00\x08"


def make_report(**overrides: object) -> Report:
    """A realistic graded report; keyword arguments replace its fields."""
    fields: dict[str, object] = {
        "task": TaskRef(
            id="probe-basics", version="1.2.0", digest="ab" * 32, title="Linear probes"
        ),
        "submission": SubmissionRef(
            sha256="cd" * 32, files=["probe.py", "README.md"], bytes=2048, kind="zip"
        ),
        "status": Status.graded,
        "explanation": "graded",
        "score": 6.5,
        "max_score": 10,
        "checks": [
            Check(
                id="outputs.exist",
                name="Outputs present",
                score=1,
                max_score=1,
                visibility=Visibility.applicant,
                feedback="all outputs found",
            ),
            Check(
                id="probe.hidden",
                name="Hidden probe accuracy",
                score=5.5,
                max_score=9,
                visibility=Visibility.reviewer,
                feedback="held-out accuracy 0.91 vs answer key",
            ),
        ],
        "manual": [
            ManualItem(criterion="Write-up quality", max_score=5),
            ManualItem(criterion="Code clarity", max_score=3, score=2, reviewer="r7"),
        ],
        "flags": [Flag(kind="integrity", detail="copied starter output")],
        "timings": Timings(queued=1.5, run=42.25, check=3.0, total=47.0),
        "resources": Resources(peak_memory=3 * 1024**3 // 2, cpu_seconds=80.5),
        "logs": Logs(run="step 1\nstep 2\n", check="checking\n"),
        "artifacts": [Artifact(path="probe_acc.json", bytes=512, sha256="ef" * 32)],
        "provenance": Provenance(
            image="assess/cpu:0.1.0",
            image_id="sha256:1234567890ab",
            grader_version="0.1.0",
            sandbox="docker",
            started_at="2025-03-14T09:21:07+00:00",
        ),
    }
    fields.update(overrides)
    return Report.model_validate(fields)


def hostile_report() -> Report:
    """A report where every untrusted string tries to inject markup."""
    return make_report(
        explanation=f"run phase exited 1 {SCRIPT}",
        submission=SubmissionRef(sha256="cd" * 32, files=[f"notes {IMG}.md", "ok.py"], bytes=10),
        checks=[
            Check(
                id="c1",
                name=f"name {SCRIPT}",
                score=0,
                max_score=1,
                feedback=f"feedback {IMG}",
            )
        ],
        flags=[Flag(kind=f"kind {IMG}", detail=f"detail {SCRIPT}")],
        logs=Logs(run=f"hello\n{SCRIPT}\n{IMG}\n", check=f"check {SCRIPT}"),
        artifacts=[Artifact(path=f"out/{IMG}.json", bytes=1, sha256="ef" * 32)],
        manual=[ManualItem(criterion=f"crit {IMG}", max_score=1, reviewer=SCRIPT)],
    )


# --- HTML: escaping and safety ------------------------------------------------------------


def test_html_escapes_script_and_img_in_logs_feedback_and_file_names() -> None:
    page = render_html(hostile_report())
    assert "<script" not in page.lower()
    assert "<img" not in page.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    # Jinja escapes quotes too: the attribute can't break out either.
    escaped_img = "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;"
    assert f"notes {escaped_img}.md" in page  # file name
    assert f"feedback {escaped_img}" in page  # check feedback
    assert f"out/{escaped_img}.json" in page  # artifact path
    assert "run phase exited 1 &lt;script&gt;" in page  # explanation


def test_html_has_strict_csp_and_no_scripts_or_external_loads() -> None:
    page = render_html(make_report())
    assert (
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'; img-src data:\">"
    ) in page
    assert "<script" not in page.lower()
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", page, re.I)
    assert "<link" not in page.lower()
    assert "@import" not in page


def test_html_strips_ansi_and_control_characters_from_logs() -> None:
    page = render_html(make_report(logs=Logs(run=ANSI_LOG, check="ok\r\nfine\x1b[0m")))
    assert "\x1b" not in page
    assert "\x07" not in page and "\x00" not in page and "\x08" not in page and "\r" not in page
    assert "[1;31m" not in page and "evil title" not in page
    assert "ERROR plain after done" in page
    assert "ok\nfine" in page


def test_clean_text_applies_carriage_returns_like_a_terminal() -> None:
    bar = "progress  10%\rprogress  50%\rprogress 100%\r\nnext line\n"
    assert clean_text(bar) == "progress 100%\nnext line\n"
    assert clean_text("tab\tkept\nnewline kept") == "tab\tkept\nnewline kept"
    assert clean_text("bidi \u202eevil\u202c text") == "bidi evil text"
    assert clean_text("c1 \x9b31mred") == "c1 red"


def test_html_marks_truncated_logs() -> None:
    log = BoundedLog(200)
    for i in range(100):
        log.feed(f"line {i}\n".encode())
    assert log.truncated
    page = render_html(make_report(logs=Logs(run=log.text(), run_truncated=True)))
    assert "TRUNCATED" in page
    assert re.search(
        r'<span class="trunc">\[\.\.\. \d+ bytes of output dropped by the grader', page
    )
    assert "line 0\n" in page and "line 99\n" in page


def test_html_does_not_claim_truncation_for_a_complete_log() -> None:
    fake = "[... 5 bytes of output dropped by the grader: log limit 9 bytes ...]"
    page = render_html(make_report(logs=Logs(run=f"a\n{fake}\nb\n")))
    assert "TRUNCATED" not in page
    assert 'class="trunc"' not in page
    assert fake in page  # shown as the plain text the submission printed


def test_long_log_repeats_its_last_lines() -> None:
    run = "".join(f"step {i}\n" for i in range(200)) + "Traceback: boom\n"
    page = render_html(make_report(logs=Logs(run=run)))
    assert "End of the log" in page
    assert page.count("Traceback: boom") == 2
    short = render_html(make_report())
    assert "End of the log" not in short


# --- HTML: content ------------------------------------------------------------------------


def test_html_shows_the_report_content() -> None:
    page = render_html(make_report())
    for text in (
        "Linear probes",
        "probe-basics",
        "1.2.0",
        "6.5",
        "outputs.exist",
        "Hidden probe accuracy",
        "5.5 / 9",
        "held-out accuracy 0.91",
        "pending",
        "r7",
        "integrity",
        "copied starter output",
        "1.5 GiB",
        "1 min 20 s",
        "42.2 s",
        "probe_acc.json",
        "efefefefefef",
        "cd" * 32,
        "README.md",
        "assess/cpu:0.1.0",
        "sha256:1234567890ab",
        "docker",
        "2025-03-14T09:21:07+00:00",
        "ab" * 32,
        "assess.report/1",
    ):
        assert text in page, text
    assert "status-graded" in page
    assert "no score" not in page


def test_html_error_status_renders_no_score() -> None:
    page = render_html(
        make_report(status=Status.error, score=None, explanation="infrastructure failed")
    )
    assert "no score" in page
    assert "status-error" in page
    assert "infrastructure failed" in page


def test_html_timeout_status_is_visible() -> None:
    page = render_html(make_report(status=Status.timeout, explanation="hit 600s limit"))
    assert "status-timeout" in page
    assert "timed out" in page
    assert "hit 600s limit" in page


def test_html_renders_a_report_without_provenance() -> None:
    page = render_html(
        make_report(
            status=Status.invalid,
            score=0.0,
            provenance=None,
            checks=[],
            manual=[],
            submission=SubmissionRef(sha256="", files=[]),
        )
    )
    assert "status-invalid" in page
    assert "not recorded" in page
    assert "No checks ran." in page


# --- Receipt ------------------------------------------------------------------------------


def test_receipt_lists_only_applicant_checks() -> None:
    receipt = render_receipt(make_report())
    assert "Outputs present" in receipt
    assert "all outputs found" in receipt
    assert "Hidden probe accuracy" not in receipt
    assert "probe.hidden" not in receipt
    assert "answer key" not in receipt


def test_receipt_says_what_was_received() -> None:
    receipt = render_receipt(make_report())
    assert "2 files" in receipt
    assert "2,048 bytes" in receipt
    assert "cd" * 32 in receipt
    assert "probe-basics" in receipt and "1.2.0" in receipt
    assert "graded" in receipt
    assert "2025-03-14T09:21:07+00:00" in receipt


def test_receipt_hides_score_by_default() -> None:
    report = make_report()
    hidden = render_receipt(report)
    assert "Score" not in hidden
    assert "6.5" not in hidden
    shown = render_receipt(report, show_score=True)
    assert "Score:      6.5 / 10" in shown


def test_receipt_shows_no_score_for_errors_without_leaking_the_explanation() -> None:
    report = make_report(
        status=Status.error, score=None, explanation="check.py: KeyError 'hidden_answer'"
    )
    receipt = render_receipt(report, show_score=True)
    assert "no score" in receipt
    assert "hidden_answer" not in receipt
    assert "not with your submission" in receipt


def test_receipt_strips_control_characters() -> None:
    report = make_report(
        checks=[
            Check(
                id="c",
                name="visible \x1b[31mred\x1b[0m",
                score=1,
                max_score=1,
                visibility=Visibility.applicant,
                feedback="line\x07 one\r\nline two\x00",
            )
        ]
    )
    receipt = render_receipt(report)
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f]", receipt)
    assert "visible red" in receipt
    assert "line one\n" in receipt and "line two" in receipt


# --- Files --------------------------------------------------------------------------------


def test_write_report_writes_three_files_that_round_trip(tmp_path: Path) -> None:
    report = hostile_report()
    paths = write_report(report, tmp_path / "reports", stem="sub-0001")
    assert set(paths) == {"json", "html", "receipt"}
    assert paths["json"].name == "sub-0001.json"
    assert paths["html"].name == "sub-0001.html"
    assert paths["receipt"].name == "sub-0001.receipt.txt"
    assert sorted(p.name for p in (tmp_path / "reports").iterdir()) == sorted(
        p.name for p in paths.values()
    )  # no temporary files left behind
    raw = paths["json"].read_text(encoding="utf-8")
    assert json.loads(raw)["schema"] == "assess.report/1"
    again = Report.model_validate_json(raw)
    assert again == report
    assert again.model_dump() == report.model_dump()
    assert paths["html"].read_text(encoding="utf-8") == render_html(report)
    assert paths["receipt"].read_text(encoding="utf-8") == render_receipt(report)


def test_write_report_replaces_existing_files(tmp_path: Path) -> None:
    first = write_report(make_report(score=1.0), tmp_path, stem="r")
    write_report(make_report(score=2.0), tmp_path, stem="r")
    assert Report.model_validate_json(first["json"].read_text()).score == 2.0
    assert len(os.listdir(tmp_path)) == 3


@pytest.mark.parametrize("stem", ["", ".hidden", "a/b", "..\\x", "../up"])
def test_write_report_rejects_unsafe_stems(tmp_path: Path, stem: str) -> None:
    with pytest.raises(ValueError, match="stem"):
        write_report(make_report(), tmp_path, stem=stem)
    assert list(tmp_path.iterdir()) == []


# --- every path: no escape, control or bidi character reaches the page ------------------

HOSTILE_CHARS = "\u202e\x1b[31m\x1b]0;title\x07\x07\x00\u2066\u200f\x9b1m\u202a"


def test_no_escape_control_or_bidi_character_reaches_the_page_by_any_path(
    tmp_path: Path,
) -> None:
    """Hostile characters in every report field, integrity excerpt, notebook cell and output
    (executed and submitted) and the notebook record: the page holds none of them."""
    from grader.integrity import Pair
    from grader.integrity._pass import Span
    from grader.text import UNSAFE_CHARACTERS
    from tests.grader.notebook.test_notebook import hostile_notebook

    h = HOSTILE_CHARS
    report = make_report(
        task=TaskRef(id="t", version=f"1{h}", digest="ab" * 32, title=f"title{h}"),
        submission=SubmissionRef(sha256="cd" * 32, files=[f"file{h}.md"], bytes=1, kind="notebook"),
        explanation=f"explanation{h}",
        checks=[Check(id="c1", name=f"name{h}", score=0, max_score=10, feedback=f"feedback{h}")],
        manual=[ManualItem(criterion=f"criterion{h}", max_score=1, score=1, reviewer=f"rev{h}")],
        flags=[Flag(kind=f"kind{h}", detail=f"detail{h}")],
        logs=Logs(run=f"run-log{h}\n" * 60, check=f"check-log{h}", run_truncated=True),
        artifacts=[Artifact(path=f"out{h}.json", bytes=1, sha256="ef" * 32)],
        provenance=Provenance(
            image=f"img{h}", image_id=f"id{h}", grader_version=f"v{h}",
            sandbox=f"docker{h}", started_at=f"now{h}",
        ),
    )  # fmt: skip
    span = Span(
        a_where=f"a.py{h}", a_lines="1-2", a_text=f"a-text{h}",
        b_where=f"b.py{h}", b_lines="3-4", b_text=f"b-text{h}",
    )  # fmt: skip
    pair = Pair(
        a=f"sub{h}", a_sha256="ab" * 32, b=f"other{h}", b_sha256="cd" * 32, kind="code",
        score=0.9, threshold=0.5, method=f"method{h}", reference=False, spans=[span],
    )  # fmt: skip
    artifacts = tmp_path / "outputs"
    (artifacts / "notebook").mkdir(parents=True)
    for name, label in (("executed", "executed"), ("submitted", "submitted")):
        path = artifacts / "notebook" / f"{name}.ipynb"
        path.write_text(json.dumps(hostile_notebook(label, h)))
    record = {
        "outcome": "error",
        "failed_cell": {"index": 1, "first_line": f"line{h}", "ename": f"E{h}", "evalue": f"v{h}"},
        "executed": 1,
        "cells": 3,
        "code_cells": 1,
        "detail": f"detail{h}",
    }
    (artifacts / "notebook" / "record.json").write_text(json.dumps(record))

    page = render_html(report, artifacts=artifacts, integrity=[pair])
    found = sorted({f"U+{ord(c):04X}" for c in re.findall(f"[{UNSAFE_CHARACTERS}]", page)})
    assert found == [], found
    shown = [
        "title", "explanation", "name", "feedback", "criterion", "rev", "kind", "detail",
        "run-log", "check-log", "file", "out", "img", "a-text", "b-text", "method",
        "executed-error",  # the error label: the executed notebook's cells only
        *(f"{nb}-{part}" for nb in ("executed", "submitted")
          for part in ("md", "code", "stream", "html", "markdown", "plain", "tb", "raw")),
    ]  # fmt: skip
    missing = [s for s in shown if s not in page]
    assert missing == [], missing
