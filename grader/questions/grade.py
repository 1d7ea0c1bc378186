"""Grading a research-taste submission: its answers file is data, scored on the host.

No container starts and no submission code runs: intake normalises the upload, the answers
file is parsed with a size limit (TOML/JSON, never executed) and validated against the items,
and the rules in :mod:`grader.questions.rules` score it against the hidden key. Text items go
to reviewers as the rubric's pending manual items; the answers, rendered readably, are the
report's artifacts.
"""

from __future__ import annotations

import hashlib
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import grader
from grader.errors import IntakeError
from grader.intake import intake
from grader.questions.answers import Answers, AnswersError, TextAnswer, read_answers
from grader.questions.model import (
    Forecast,
    MultipleChoice,
    Number,
    Questions,
    Ranking,
    SingleChoice,
    Text,
)
from grader.questions.scoring import score_answers
from grader.report import (
    Artifact,
    Logs,
    Provenance,
    Report,
    Status,
    SubmissionRef,
    TaskRef,
    Timings,
)
from grader.task import Task

__all__ = ["grade_answers", "review_markdown"]

REVIEW_FILE = "answers.md"


def _since(t0: float) -> float:
    return round(time.monotonic() - t0, 3)


def grade_answers(
    task: Task,
    submission: Path | str,
    *,
    artifacts_dir: Path | None = None,
    exclude: frozenset[str] = frozenset(),
    queued_s: float = 0.0,
) -> Report:
    """Grade one research-taste submission (a folder, .zip, or the answers file's folder).

    Every outcome is a report: `invalid` (intake or a malformed answers file, with the item
    named), or `graded` with one check per automatic item and the rubric's criteria pending.
    """
    t0 = time.monotonic()
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    questions, key = task.questions, task.key
    assert questions is not None and key is not None, "load_task checks research-taste tasks"
    task_ref = TaskRef(
        id=task.id, version=task.spec.version, digest=task.digest, title=task.spec.title
    )
    max_score = task.spec.scoring.max_score
    provenance = Provenance(
        image="",
        image_id="",
        grader_version=grader.__version__,
        sandbox="host",  # answers are data: scored by the grader itself, no container
        started_at=started_at,
    )
    with tempfile.TemporaryDirectory(prefix="assess-rt-") as tmp:
        try:
            sub = intake(
                submission, task.spec.submission, Path(tmp) / "submission", exclude=exclude
            )
        except IntakeError as e:
            return Report(
                task=task_ref,
                max_score=max_score,
                submission=SubmissionRef(sha256="", files=[]),
                status=Status.invalid,
                explanation=f"submission rejected at intake: {e}",
                score=0.0,
                timings=Timings(queued=queued_s, total=_since(t0)),
            )
        t_check = time.monotonic()
        try:
            answers = read_answers(sub.root, questions)
        except AnswersError as e:
            return Report(
                task=task_ref,
                max_score=max_score,
                submission=sub.ref,
                status=Status.invalid,
                explanation=f"answers rejected: {e}",
                score=0.0,
                timings=Timings(queued=queued_s, check=_since(t_check), total=_since(t0)),
                provenance=provenance,
            )
        checks = score_answers(questions, key, answers)
        files = _artifacts(sub.root, questions, answers)
    check_s = _since(t_check)
    artifacts = []
    for name, data in files.items():
        artifacts.append(
            Artifact(path=name, bytes=len(data), sha256=hashlib.sha256(data).hexdigest())
        )
        if artifacts_dir is not None:
            dest = artifacts_dir / name
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(data)
    open_items = answers.unanswered()
    explanation = "graded"
    if open_items:
        explanation = f"graded; {len(open_items)} item(s) unanswered: {', '.join(open_items)}"
    texts = questions.texts()
    log = (
        f"research-taste answers scored on the host from {answers.file}; no submission code "
        f"was run. {len(checks)} automatic item(s) scored; {len(texts)} text item(s) for "
        "reviewers"
        + (f" ({', '.join(t.id for t in texts)})" if texts else "")
        + f"; answered {len(answers.answered())} of {len(questions.items)}.\n"
    )
    return Report(
        task=task_ref,
        max_score=max_score,
        submission=sub.ref,
        status=Status.graded,
        explanation=explanation,
        score=round(sum(c.score for c in checks), 6),
        checks=checks,
        manual=task.rubric.pending() if task.rubric else [],
        timings=Timings(queued=queued_s, check=check_s, total=_since(t0)),
        logs=Logs(check=log),
        artifacts=artifacts,
        provenance=provenance,
    )


def _artifacts(root: Path, questions: Questions, answers: Answers) -> dict[str, bytes]:
    """What reviewers read: the answers file as submitted, the text files it names, and a
    readable rendering of every answer with the items' wording."""
    files = {answers.file: (root / answers.file).read_bytes()}
    for value in answers.values.values():
        if isinstance(value, TextAnswer) and value.source != answers.file:
            files[value.source] = (root / value.source).read_bytes()
    files[REVIEW_FILE] = review_markdown(questions, answers).encode("utf-8")
    return files


def _fence(text: str) -> str:
    longest = max((len(run) for run in text.split("\n") if set(run) == {"`"}), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}text\n{text.rstrip()}\n{fence}"


def review_markdown(questions: Questions, answers: Answers) -> str:
    """The answers as Markdown for reviewers: each item's title, kind and the answer given,
    with option ids spelled out. Untrusted text stays inside fenced blocks."""
    out = [f"# Answers ({answers.file})", ""]
    for item in questions.items:
        value = answers.values.get(item.id)
        out.append(f"## {item.id}: {item.title}")
        kind = f"*{item.kind.replace('_', ' ')}*"
        if isinstance(item, Text) and item.criteria:
            kind += f" — rubric: {', '.join(item.criteria)}"
        out.append(kind)
        out.append("")
        if value is None:
            out += ["(not answered)", ""]
            continue
        if isinstance(item, SingleChoice) and isinstance(value, str):
            out.append(f"- `{value}`: {item.options[value]}")
        elif isinstance(item, MultipleChoice) and isinstance(value, frozenset):
            chosen = [o for o in item.options if o in value]
            out += [f"- `{o}`: {item.options[o]}" for o in chosen] or ["(none chosen)"]
        elif isinstance(item, Ranking) and isinstance(value, tuple):
            out += [f"{i}. `{o}`: {item.options[o]}" for i, o in enumerate(value, 1)]
        elif isinstance(item, Forecast) and isinstance(value, dict):
            out += [f"- {value[o]:.2f} — `{o}`: {text}" for o, text in item.outcomes.items()]
        elif isinstance(item, Number) and isinstance(value, float):
            out.append(f"{value:g} {item.unit}".rstrip())
        elif isinstance(value, TextAnswer):
            where = "" if value.source == answers.file else f" (from {value.source})"
            out.append(f"{value.words} words{where}:")
            out += ["", _fence(value.text)]
        out.append("")
    return "\n".join(out)
