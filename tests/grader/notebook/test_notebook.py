"""Notebook submissions without Docker: intake checks, the answer format, the driver's
record as report text, and the sanitised rendering (the Docker tests run real kernels)."""

from __future__ import annotations

import base64
import json
import struct
import sys
import zlib
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from grader.errors import IntakeError
from grader.intake import intake
from grader.notebook import check_notebook, explain, read_record, render_notebook, summarize
from grader.notebook._render import sanitize_html
from grader.report import Status
from grader.spec import Notebook, SubmissionRules, TaskSpec

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "grader" / "harness"))
import assess_answers as answers

RULES = Notebook(answers=("probe",), submitted_output_kb=1)


def _png(width: int = 4, height: int = 3) -> str:
    """A real (tiny, red) PNG, base64 as in a notebook output."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\0" + b"\xff\x00\x00" * width for _ in range(height))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    data = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(rows))
    return base64.b64encode(data + chunk(b"IEND", b"")).decode()


PNG = _png()


def cell(source: str, *, tags: tuple[str, ...] = (), outputs: list[Any] | None = None) -> Any:
    return {
        "cell_type": "code",
        "id": f"c{abs(hash((source, tags))) % 10**8}",
        "metadata": {"tags": list(tags)} if tags else {},
        "source": source,
        "execution_count": None,
        "outputs": outputs or [],
    }


def notebook(*cells: Any, minor: int = 5) -> dict[str, Any]:
    return {"nbformat": 4, "nbformat_minor": minor, "metadata": {}, "cells": list(cells)}


def raw(nb: Any) -> bytes:
    return json.dumps(nb).encode()


# ----------------------------------------------------------------------------- intake


def test_valid_notebook_passes_and_missing_ids_are_normalised() -> None:
    nb = notebook(cell("x = 1"), cell("(w, b)", tags=("answer:probe",)))
    del nb["cells"][0]["id"]
    assert check_notebook(raw(nb), "work.ipynb", RULES)["nbformat"] == 4


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (b"{not json", "not JSON"),
        (b"\xff\xfe", "not JSON"),
        (raw({"nbformat": 3, "cells": []}), "expected nbformat 4, found 3"),
        (raw([1, 2]), "expected nbformat 4"),
        (raw(notebook(cell("x")) | {"nbformat_minor": "5"}), "nbformat_minor"),
        (b"[" * 100_000 + b"]" * 100_000, "not JSON|nested"),
    ],
)
def test_not_a_notebook_is_rejected(data: bytes, match: str) -> None:
    with pytest.raises(IntakeError, match=match):
        check_notebook(data, "work.ipynb", RULES)


def test_schema_error_names_the_place_and_the_problem() -> None:
    nb = notebook(cell("x", tags=("answer:probe",)))
    nb["cells"][0]["execution_count"] = "three"
    with pytest.raises(IntakeError) as e:
        check_notebook(raw(nb), "work.ipynb", RULES)
    msg = str(e.value)
    assert "not a valid nbformat v4 notebook" in msg
    assert "cells/0/execution_count" in msg and "'three'" in msg
    assert "\n" not in msg


def test_outputs_larger_than_the_bound_are_rejected() -> None:
    big = [{"output_type": "stream", "name": "stdout", "text": "x" * 5000}]
    nb = notebook(cell("print(...)", tags=("answer:probe",), outputs=big))
    with pytest.raises(IntakeError, match=r"outputs take \d+ bytes.*limit of 1 KB.*Clear Outputs"):
        check_notebook(raw(nb), "work.ipynb", RULES)


def test_required_answer_tags_are_checked() -> None:
    nb = notebook(cell("x"), cell("y", tags=("answer:layer",)))
    with pytest.raises(IntakeError, match="no cell is tagged answer:probe"):
        check_notebook(raw(nb), "work.ipynb", RULES)


def test_folder_holding_one_notebook_is_a_notebook_submission(tmp_path: Path) -> None:
    src = tmp_path / "case"
    src.mkdir()
    (src / "work.ipynb").write_bytes(raw(notebook(cell("1", tags=("answer:probe",)))))
    rules = SubmissionRules(required=("probe.py",), allow_notebook=True)
    sub = intake(src, rules, tmp_path / "d", notebook=RULES)
    assert sub.ref.kind == "notebook" and sub.ref.files == ["work.ipynb"]
    # without allow_notebook it is an ordinary folder, and probe.py is required
    with pytest.raises(IntakeError, match="missing required file"):
        intake(src, SubmissionRules(required=("probe.py",)), tmp_path / "e")


def test_oversized_notebook_file_is_rejected(tmp_path: Path) -> None:
    nb = tmp_path / "work.ipynb"
    nb.write_bytes(raw(notebook(cell("#" * 5000, tags=("answer:probe",)))))
    rules = SubmissionRules(allow_notebook=True, max_bytes=1000)
    with pytest.raises(IntakeError, match="too large: notebook is"):
        intake(nb, rules, tmp_path / "d", notebook=RULES)
    assert not (tmp_path / "d").exists()


def test_spec_keeps_notebook_outputs_below_the_output_cap() -> None:
    base = {"id": "t-t", "title": "t", "version": "1.0.0", "summary": "s"}
    with pytest.raises(ValueError, match=r"notebook.output_kb must be below"):
        TaskSpec.model_validate(
            base
            | {
                "submission": {"allow_notebook": True},
                "resources": {"output_mb": 1},
                "notebook": {"output_kb": 2048},
            }
        )


# ----------------------------------------------------------------------------- answers


def test_answers_round_trip_as_data(tmp_path: Path) -> None:
    value = (np.arange(4, dtype=np.float32), 1.5, {"nan": float("nan"), "n": [1, "a", None]})
    answers.export_value(value, "probe", tmp_path)
    back = answers.load_answer(tmp_path, "probe")
    assert isinstance(back, tuple) and back[0].dtype == np.float32
    assert back[0].tolist() == [0, 1, 2, 3] and back[1] == 1.5
    assert np.isnan(back[2]["nan"]) and back[2]["n"] == [1, "a", None]


@pytest.mark.parametrize(
    ("value", "match"),
    [
        (object(), "cannot export a object"),
        (np.array([object()]), "dtype object"),
        ({1: 2}, "keys must be strings"),
        ({"__ndarray__": "a0"}, "reserved"),
    ],
)
def test_values_that_are_not_data_are_refused(value: Any, match: str, tmp_path: Path) -> None:
    with pytest.raises((TypeError, ValueError), match=match):
        answers.export_value(value, "x", tmp_path)
    assert not list(tmp_path.iterdir())


def test_kernel_export_records_why_an_answer_is_missing(tmp_path: Path) -> None:
    answers.export_from_kernel({"Out": {}}, "probe", 3, str(tmp_path))
    with pytest.raises(answers.AnswerError, match="has no result: end it with an expression"):
        answers.load_answer(tmp_path, "probe")
    answers.export_from_kernel({"Out": {}, "probe": 7}, "probe", 3, str(tmp_path))
    assert answers.load_answer(tmp_path, "probe") == 7  # the variable, when no result
    answers.export_from_kernel({"Out": {3: 8}, "probe": 7}, "probe", 3, str(tmp_path))
    assert answers.load_answer(tmp_path, "probe") == 8  # the cell's result first


def test_hostile_answer_files_are_refused(tmp_path: Path) -> None:
    (tmp_path / "deep.json").write_text('{"value": ' + "[" * 50_000 + "]" * 50_000 + "}")
    (tmp_path / "pickled.json").write_text('{"value": {"__ndarray__": "a0"}}')
    np.savez(tmp_path / "pickled.npz", a0=np.array([{"x": 1}], dtype=object))
    (tmp_path / "link.json").symlink_to("/etc/passwd")
    (tmp_path / "forged.json").write_text('{"value": {"__float__": "__import__"}}')
    for name, match in [
        ("deep", "not valid JSON|nested"),
        ("pickled", "arrays cannot be read"),
        ("link", "not a regular file"),
        ("forged", "malformed"),
        ("absent", "no cell tagged answer:absent ran"),
        ("../x", "invalid answer name"),
    ]:
        with pytest.raises(answers.AnswerError, match=match):
            answers.load_answer(tmp_path, name)


# ----------------------------------------------------------------------------- record


def write_record(tmp_path: Path, record: Any) -> Path:
    (tmp_path / "notebook").mkdir(parents=True, exist_ok=True)
    (tmp_path / "notebook" / "record.json").write_text(json.dumps(record))
    return tmp_path


FAILED = {"index": 3, "execution_count": 4, "tags": ["answer:probe"], "first_line": "fit(x)"}


@pytest.mark.parametrize(
    ("outcome", "status", "words"),
    [
        ("error", Status.graded, "stopped at cell 4 (In [4], tagged answer:probe)"),
        ("cell-timeout", Status.timeout, "ran past the per-cell limit of 60 s"),
        ("timeout", Status.timeout, "its total limit of 300 s"),
        ("kernel-died", Status.graded, "the kernel died while running cell 4"),
    ],
)
def test_record_says_which_cell_failed_and_why(
    tmp_path: Path, outcome: str, status: Status, words: str
) -> None:
    failed = FAILED | {"ename": "ValueError", "evalue": "bad shape"}
    out = write_record(tmp_path, {"outcome": outcome, "failed_cell": failed})
    spec = TaskSpec.model_validate({"id": "t-t", "title": "t", "version": "1.0.0", "summary": "s"})
    got, explanation, flags = explain(spec, out, Status.graded, "all fine", clean=True)
    assert got == status
    assert words in explanation
    assert "scored on what the notebook had produced" in explanation
    assert flags[0].kind == "notebook" and words.lower() in flags[0].detail.lower()
    if outcome == "error":
        assert "raised ValueError: bad shape" in explanation


def test_forged_or_broken_record_is_not_trusted(tmp_path: Path) -> None:
    write_record(tmp_path, {"outcome": "completed", "executed": -5})
    assert read_record(tmp_path) is None
    write_record(tmp_path, {"outcome": "perfect score"})
    assert read_record(tmp_path) is None
    summary = summarize(None, cell_timeout_s=1, timeout_s=1)
    assert summary.flags and "no record" in summary.flags[0].detail


def test_answer_export_problems_are_flagged(tmp_path: Path) -> None:
    write_record(
        tmp_path,
        {
            "outcome": "completed",
            "answers": {"probe": {"cell": 2, "error": "TypeError: cannot export a Model"}},
            "dropped_output_bytes": 50_000_000,
        },
    )
    summary = summarize(read_record(tmp_path), cell_timeout_s=1, timeout_s=1)
    details = [f.detail for f in summary.flags]
    assert any("answer:probe (cell 3) was not exported: TypeError" in d for d in details)
    assert any("50000000 bytes of cell output were dropped" in d for d in details)
    assert summary.note == "" and not summary.timed_out


# ----------------------------------------------------------------------------- rendering

PAYLOAD_HTML = (
    '<script>alert("s")</script><img src=x onerror="alert(1)">'
    '<img src="http://127.0.0.1:9/i.png"><iframe src="http://127.0.0.1:9/f"></iframe>'
    '<a href="javascript:alert(2)">click</a><div style="background:url(http://127.0.0.1:9/b)">'
    'styled</div><link rel="stylesheet" href="http://127.0.0.1:9/c.css">'
    '<meta http-equiv="refresh" content="0;url=http://127.0.0.1:9/r">'
    '<svg onload="alert(3)"><image href="http://127.0.0.1:9/s"/></svg>'
    '<form action="http://127.0.0.1:9/f"><input autofocus onfocus="alert(4)"></form>'
    '<base href="http://127.0.0.1:9/"><div class="top bar nbx-answer">fake</div>'
    '<style>@import url(http://127.0.0.1:9/i.css);</style><object data="x"></object>'
)
ACTIVE_TAGS = {"script", "iframe", "object", "embed", "link", "meta", "base", "form", "input",
               "style", "svg", "frame", "video", "audio", "source", "template"}  # fmt: skip


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ACTIVE_TAGS:
            self.found.append(f"<{tag}>")
        for name, value in attrs:
            if name.startswith("on") or name in ("style", "href", "action", "srcset", "id"):
                self.found.append(f"{tag}[{name}]")
            if name == "src" and not (value or "").startswith("data:image/"):
                self.found.append(f"{tag}[src={value}]")


def active_parts(html: str) -> list[str]:
    """Everything in `html` that could run, load or navigate (parsed, not grepped)."""
    parser = _Tags()
    parser.feed(html)
    return parser.found


def payload_notebook() -> dict[str, Any]:
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" onload="alert(5)"><script>alert(6)</script></svg>'
    )
    outputs = [
        {"output_type": "display_data", "metadata": {}, "data": {"text/html": PAYLOAD_HTML}},
        {
            "output_type": "display_data",
            "metadata": {},
            "data": {"application/javascript": "alert(7)", "text/plain": "<JS>"},
        },
        {"output_type": "display_data", "metadata": {}, "data": {"image/svg+xml": svg}},
        {"output_type": "display_data", "metadata": {}, "data": {"image/png": PNG}},
        {"output_type": "stream", "name": "stdout", "text": "<script>alert(8)</script>\n"},
        {
            "output_type": "error",
            "ename": "ValueError",
            "evalue": "<img src=x onerror=alert(9)>",
            "traceback": ["\x1b[0;31mValueError\x1b[0m: <img src=x onerror=alert(9)>"],
        },
    ]
    md = {
        "cell_type": "markdown",
        "id": "m1",
        "metadata": {"tags": ['"><script>alert(10)</script>']},
        "source": "# Notes\n\n<script>alert(11)</script>\n\n[l](javascript:alert(12))\n\n"
        "![i](http://127.0.0.1:9/md.png)\n\n<img src=x onerror=alert(13)>",
    }
    return notebook(md, cell("show()", tags=("answer:probe",), outputs=outputs))


def test_sanitiser_removes_every_active_thing() -> None:
    clean = sanitize_html(PAYLOAD_HTML)
    assert active_parts(clean) == [], clean
    assert "styled" in clean and "click" in clean and "fake" in clean
    assert 'class="' not in clean  # top, bar, nbx-answer: none of them is nbconvert's


def test_rendered_notebook_is_inert_keeps_images_and_marks_answers() -> None:
    view = render_notebook(payload_notebook())
    assert not view.problem
    html = "".join(str(c.html) for c in view.cells)
    assert active_parts(html) == []
    assert "alert(10)" not in html  # the tag on the Markdown cell never reaches the page
    assert f'src="data:image/png;base64,{PNG}"' in html  # the plot stays
    assert 'src="data:image/svg+xml;base64,' in html  # SVG only as an inert image
    assert "[output of type application/javascript" not in html  # text/plain was offered
    assert "&lt;JS&gt;" in html
    code = view.cells[1]
    assert code.answers == ("probe",) and code.error.startswith("ValueError")
    assert view.answers == ["probe"]


def hostile_notebook(label: str, hostile: str) -> dict[str, Any]:
    """A notebook with `hostile` in every kind of cell and output, each beside a marker
    ``{label}-md``, ``-code``, ``-stream``, ``-html``, ``-markdown``, ``-plain``, ``-error``
    (the error's value), ``-tb`` (its coloured traceback) and ``-raw``."""
    esc = "\x1b"

    def show(mime: str, text: str) -> dict[str, Any]:
        return {"output_type": "display_data", "metadata": {}, "data": {mime: text}}

    outputs = [
        {"output_type": "stream", "name": "stdout", "text": f"{label}-stream{hostile}\n"},
        show("text/html", f"<b title='{hostile}'>{label}-html{hostile}</b>"),
        show("text/markdown", f"{label}-markdown{hostile}"),
        {**show("text/plain", f"{label}-plain{hostile}"), "output_type": "execute_result"},
        {
            "output_type": "error",
            "ename": f"Err{hostile}",
            "evalue": f"{label}-error{hostile}",
            "traceback": [f"{esc}[0;31m{label}-tb{esc}[0m{hostile}"],
        },
    ]
    outputs[3]["execution_count"] = 1
    md = {"cell_type": "markdown", "id": "m", "metadata": {}, "source": f"# {label}-md{hostile}"}
    raw_cell = {"cell_type": "raw", "id": "r", "metadata": {}, "source": f"{label}-raw{hostile}"}
    # "\r" in source is a line break to Python: shown as one, never as a terminal overwrite.
    source = f"evil()\r# {label}-code{hostile}"
    code = cell(source, tags=(f"answer:x{hostile}",), outputs=outputs)
    return notebook(md, code, raw_cell)


def test_rendered_notebook_strips_escapes_controls_and_bidi_overrides() -> None:
    """Markdown, code, streams, HTML/Markdown/plain outputs, errors and raw cells: none keeps
    an escape sequence, a control character or a bidi override; colours stay as classes."""
    hostile = "\u202e\x1b[31m\x1b]8;;http://x\x07\x07\u2066\u200f"
    view = render_notebook(hostile_notebook("nb", hostile))
    html = "".join(str(c.html) for c in view.cells)
    for c in ("\x1b", "\u202e", "\x07", "\u2066", "\u200f", "\r"):
        assert c not in html, repr(c)
    for part in ("md", "code", "stream", "html", "markdown", "plain", "tb", "raw"):
        assert f"nb-{part}" in html, part
    assert 'class="ansi-red-fg">nb-tb' in html  # the traceback keeps its colour
    assert "evil" in html
    assert view.cells[1].error == "Err: nb-error" and view.cells[1].answers == ("x",)


def test_broken_notebooks_render_as_a_problem_not_a_crash(tmp_path: Path) -> None:
    assert render_notebook(tmp_path / "missing.ipynb").problem == "no notebook was written"
    (tmp_path / "bad.ipynb").write_text("{")
    assert "not JSON" in render_notebook(tmp_path / "bad.ipynb").problem
    weird = {"cells": [1, {"cell_type": "code", "outputs": [{"output_type": "x"}, 3]}]}
    assert len(render_notebook(weird).cells) == 1
