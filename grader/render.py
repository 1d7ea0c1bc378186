"""Renders a :class:`~grader.report.Report` for people: an HTML page and a plain-text receipt.

* :func:`render_html` — a self-contained page for reviewers: inline CSS, no scripts, no
  external loads, and a Content-Security-Policy that forbids them anyway.
* :func:`render_receipt` — a short plain-text receipt for the applicant: what was received,
  the status, and only the checks the applicant may see.
* :func:`write_report` — the JSON, the page and the receipt, each written atomically.

Everything a submission can influence (logs, feedback, file names, explanations) is
untrusted. It is cleaned of terminal escape sequences, control characters and bidirectional
controls (:func:`grader.text.clean_text`, applied by the template environment to every value
it prints), and the HTML template escapes it (Jinja2 autoescape), so nothing it prints can
become markup or display as something other than what it is.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2

from grader.report import Report, Status
from grader.sandbox.base import TRUNCATION_MARK
from grader.template_cache import bytecode_cache
from grader.text import clean_text, finalize

if TYPE_CHECKING:
    from grader.similarity import Pair

__all__ = ["clean_text", "render_html", "render_receipt", "write_report"]

# The grader's own marker where a bounded log dropped its middle (see BoundedLog).
_MARK = re.compile(
    re.escape(TRUNCATION_MARK.strip())
    .replace(re.escape("{n}"), r"\d+")
    .replace(re.escape("{limit}"), r"\d+")
)

# A log longer than this also shows its last lines outside the scroll box: a reviewer sees
# how the run ended (the traceback, the timeout) without scrolling.
_LONG_LOG_LINES = 50
_TAIL_LINES = 15

_STATUS_TEXT: Mapping[Status, str] = {
    Status.graded: "graded",
    Status.invalid: "invalid",
    Status.error: "grading error",
    Status.timeout: "timed out",
}
_STATUS_HINT: Mapping[Status, str] = {
    Status.graded: "the checks ran and the score stands",
    Status.invalid: "rejected at intake, or its outputs broke the task's contract",
    Status.error: "an infrastructure or task failure, not the applicant's fault: re-grade",
    Status.timeout: "the run phase hit its time limit; scored on what it had written",
}


def _clean_tree(value: Any) -> Any:
    """`clean_text` applied to every string inside dumped JSON-like data."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, list):
        return [_clean_tree(v) for v in value]
    if isinstance(value, dict):
        return {k: _clean_tree(v) for k, v in value.items()}
    return value


def _num(x: float | None) -> str:
    """A score for people: at most two decimals, no trailing zeros."""
    if x is None:
        return "—"
    s = f"{x:.2f}".rstrip("0").rstrip(".")
    return "0" if s in ("-0", "") else s


def _percent(score: float | None, max_score: float) -> float:
    if score is None or max_score <= 0:
        return 0.0
    return max(0.0, min(100.0, 100.0 * score / max_score))


def _bytes(n: int | None) -> str:
    """Bytes in binary units: ``1536`` -> ``1.5 KiB``."""
    if n is None:
        return "—"
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(size) < 1024 or unit == "TiB":
            return f"{n} B" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")  # pragma: no cover


def _duration(s: float | None) -> str:
    """Seconds for people: ``4.2 s``, ``2 min 05 s``, ``1 h 02 min``."""
    if s is None:
        return "—"
    if s < 60:
        return f"{s:.1f} s"
    if s < 3600:
        m, sec = divmod(round(s), 60)
        return f"{m} min {sec:02d} s"
    h, rem = divmod(round(s), 3600)
    return f"{h} h {rem // 60:02d} min"


def _tone(score: float, max_score: float) -> str:
    """A check's colour class: full marks, nothing, or in between."""
    if score >= max_score:
        return "full"
    return "none" if score <= 0 else "part"


def _segments(text: str, truncated: bool) -> list[dict[str, Any]]:
    """`text` split into plain runs and the grader's truncation markers (if it truncated)."""
    segments: list[dict[str, Any]] = []
    pos = 0
    if truncated:
        for m in _MARK.finditer(text):
            segments.append({"text": text[pos : m.start()], "mark": False})
            segments.append({"text": m.group(0), "mark": True})
            pos = m.end()
    segments.append({"text": text[pos:], "mark": False})
    return [s for s in segments if s["text"]]


def _log_view(text: str, truncated: bool) -> dict[str, Any]:
    """A cleaned log for the template, with its last lines repeated when it is long."""
    text = clean_text(text)
    lines = text.splitlines()
    tail = "\n".join(lines[-_TAIL_LINES:]) if len(lines) > _LONG_LOG_LINES else ""
    return {
        "segments": _segments(text, truncated),
        "tail": _segments(tail, truncated),
        "tail_lines": _TAIL_LINES,
        "empty": not text.strip(),
        "truncated": truncated,
        "lines": len(lines),
        "size": _bytes(len(text.encode("utf-8"))),
    }


@functools.cache
def _env() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("grader", "templates"),
        autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
        undefined=jinja2.StrictUndefined,
        finalize=finalize,  # every printed value is cleaned, whatever the template forgets
        trim_blocks=True,
        lstrip_blocks=True,
        bytecode_cache=bytecode_cache(),
    )
    env.filters["num"] = _num
    env.filters["bytes"] = _bytes
    env.filters["duration"] = _duration
    return env


def warm() -> None:
    """Load the report's template now (about 60 ms to compile, 1 ms from the cache), e.g. in
    a thread while a grading waits on its containers."""
    _env().get_template("report.html.j2")


def render_html(
    report: Report, *, artifacts: Path | None = None, integrity: Sequence[Pair] = ()
) -> str:
    """Render `report` as one self-contained HTML page for reviewers.

    The page has inline CSS only, no scripts and no external loads; its CSP meta forbids
    them too. All untrusted text is cleaned of control characters and HTML-escaped; a
    notebook's HTML is sanitised (grader.notebook) and shown with its answer cells marked.

    Args:
        report: the grading's report.
        artifacts: the grading's copied outputs; for a notebook submission, the executed
            notebook (and the one submitted) there are rendered into the page.
        integrity: similarity pairs of this submission (grader.integrity), shown with
            their matching regions side by side.

    Returns:
        The HTML document.
    """
    r = _clean_tree(report.model_dump(mode="json", by_alias=True))
    checks = [
        {
            **c,
            "tone": _tone(c["score"], c["max_score"]),
            "pct": _percent(c["score"], c["max_score"]),
        }
        for c in r["checks"]
    ]
    manual_max = sum(m["max_score"] for m in r["manual"])
    view = {
        "status_text": _STATUS_TEXT[report.status],
        "status_hint": _STATUS_HINT[report.status],
        "pct": _percent(report.score, report.max_score),
        "checks": checks,
        "check_total": sum(c["score"] for c in r["checks"]),
        "check_max": sum(c["max_score"] for c in r["checks"]),
        "applicant_checks": sum(1 for c in r["checks"] if c["visibility"] == "applicant"),
        "manual_pending": sum(1 for m in r["manual"] if m["score"] is None),
        "manual_max": manual_max,
        "logs": {
            "run": _log_view(report.logs.run, report.logs.run_truncated),
            "check": _log_view(report.logs.check, report.logs.check_truncated),
        },
        "files_open": len(r["submission"]["files"]) <= 30,
        "notebook": _notebook(report, artifacts),
        "integrity": [_clean_tree(p.model_dump(mode="json")) for p in integrity],
    }
    return _env().get_template("report.html.j2").render(r=r, v=view)


def _notebook(report: Report, artifacts: Path | None) -> Any:
    if artifacts is None or report.submission.kind != "notebook":
        return None
    from grader.notebook._view import notebook_view

    return notebook_view(artifacts)


def _indent(text: str, prefix: str) -> str:
    return "\n".join(prefix + line if line else "" for line in text.splitlines())


def render_receipt(report: Report, *, show_score: bool = False) -> str:
    """Render the short plain-text receipt an applicant sees.

    It says what was received (file count, bytes, SHA-256), for which task, the status and
    when; it lists only checks whose visibility is ``applicant``, and the total score only
    when `show_score` is true.

    Args:
        report: the grading's report.
        show_score: include the total score (the task allows applicants to see it).

    Returns:
        The receipt, ending with a newline.
    """
    task, sub = report.task, report.submission
    title = clean_text(task.title).strip()
    task_line = f"{clean_text(task.id)} (version {clean_text(task.version)})"
    if title:
        task_line = f"{title} — {task_line}"
    when = clean_text(report.provenance.started_at) if report.provenance else "not recorded"
    if report.status == Status.error:
        status = "error — a problem on our side, not with your submission; it will be graded again"
    else:
        explanation = clean_text(report.explanation).strip()
        status = report.status.value
        if explanation and explanation != report.status.value:
            status += f" — {explanation}"
    files = len(sub.files)
    lines = [
        "Submission receipt",
        "==================",
        "",
        f"Task:       {task_line}",
        f"Graded at:  {when}",
        f"Received:   {files} file{'s' if files != 1 else ''}, "
        f"{_bytes(sub.bytes)} ({sub.bytes:,} bytes), {clean_text(sub.kind)}",
        f"SHA-256:    {clean_text(sub.sha256) or 'none (nothing was accepted)'}",
        f"Status:     {status}",
    ]
    if show_score:
        score = (
            "no score"
            if report.score is None
            else f"{_num(report.score)} / {_num(report.max_score)}"
        )
        lines.append(f"Score:      {score}")
    lines.append("")
    visible = report.applicant_checks()
    if visible:
        lines.append("Checks you can see:")
        for c in visible:
            lines.append(f"  [{_num(c.score)}/{_num(c.max_score)}] {clean_text(c.name)} ({c.id})")
            feedback = clean_text(c.feedback).strip()
            if feedback:
                lines.append(_indent(feedback, "      "))
    else:
        lines.append("No checks are shown to applicants for this task.")
    lines += [
        "",
        "Keep this receipt: the SHA-256 above identifies exactly what you submitted.",
    ]
    return "\n".join(lines) + "\n"


def _write_atomic(path: Path, text: str) -> None:
    """Write `text` to `path` so that readers see the old file or the whole new one."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(text.encode("utf-8"))
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _fsync_dir(path: Path) -> None:
    """Make the renames in `path` durable (best effort where directories can't be opened)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # pragma: no cover - e.g. platforms without directory fds
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


def write_report(
    report: Report,
    dest_dir: Path,
    *,
    stem: str,
    artifacts: Path | None = None,
    integrity: Sequence[Pair] = (),
) -> dict[str, Path]:
    """Write the report as ``<stem>.json``, ``<stem>.html`` and ``<stem>.receipt.txt``.

    Each file is written to a temporary file in `dest_dir`, fsynced and renamed over the
    destination, so a reader never sees a partial file. All three are rendered before any
    is written. `dest_dir` is created if missing. The receipt hides the total score.

    Args:
        report: the grading's report.
        dest_dir: the folder to write into.
        stem: the file names' common stem (a plain name, no path separators).
        artifacts, integrity: passed on to :func:`render_html`.

    Returns:
        The written paths by kind: ``"json"``, ``"html"`` and ``"receipt"``.

    Raises:
        ValueError: `stem` is empty, starts with a dot, or contains a path separator.
        OSError: a file could not be written.
    """
    if not stem or stem.startswith(".") or "/" in stem or "\\" in stem or "\0" in stem:
        raise ValueError(f"invalid report file stem {stem!r}: use a plain file name")
    contents = {
        "json": (f"{stem}.json", report.to_json() + "\n"),
        "html": (f"{stem}.html", render_html(report, artifacts=artifacts, integrity=integrity)),
        "receipt": (f"{stem}.receipt.txt", render_receipt(report)),
    }
    dest_dir.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    for kind, (name, text) in contents.items():
        path = dest_dir / name
        _write_atomic(path, text)
        paths[kind] = path
    _fsync_dir(dest_dir)
    return paths
