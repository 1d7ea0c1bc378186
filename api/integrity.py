"""The integrity pass in the service: compare a task's submissions and flag their reports.

Each applicant's latest graded submission to the task is compared with every other and with
the author's reference texts (:func:`grader.integrity.run_integrity`: code fingerprints and
prose similarity, the starter kit excluded). Submissions are labelled by number only, never
by name or file name, so flags and evidence are safe under blind review.

A pair at or above the task's thresholds becomes a flag on the current report of both
submissions (earlier integrity flags are replaced, so the pass can be re-run); its evidence,
the matching regions, is kept next to the submission's artifacts and rendered side by side
in the reviewer's report page. A flag asks a reviewer to look: no score changes, and the
reviewers' own integrity flag stays theirs.

The pass also sets ``submissions.integrity_auto`` on each submission it compared (True for
those in a flagged pair), so the dashboard can show and filter the machine's flags. Those
are not another reviewer's judgement: every reviewer sees them at once, whereas a
reviewer's own integrity flag (``submissions.integrity_flag``) stays under
:class:`api.reviewing.Independence`.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from api import catalog
from api.core.security import pseudonym
from api.grading import graded_name
from api.models import Applicant, Grading, Submission, TaskRow
from api.reviewing import audit
from api.services import Services
from grader.integrity import IntegrityResult, Pair, run_integrity
from grader.report import Report

EVIDENCE_FILE = "integrity.json"
# Flag kinds this pass owns (grader.integrity.Pair.flag).
KINDS = frozenset({"integrity", "integrity-reference"})


def label(submission_id: int) -> str:
    """How a submission is named in flags and evidence: its number, nothing else."""
    return f"submission-{submission_id}"


def evidence_path(services: Services, submission_id: int) -> Path:
    return services.settings.artifacts_dir / str(submission_id) / EVIDENCE_FILE


def load_evidence(services: Services, submission_id: int) -> list[Pair]:
    """The matching regions from the latest pass (empty when none, or unreadable)."""
    path = evidence_path(services, submission_id)
    try:
        return [Pair.model_validate(p) for p in json.loads(path.read_text(encoding="utf-8"))]
    except (OSError, ValueError, ValidationError, TypeError):
        return []


def latest_graded(session: Session, task_id: str) -> list[Submission]:
    """Each applicant's most recent submission to the task that has a report."""
    subs = session.scalars(
        select(Submission)
        .where(Submission.task_id == task_id, Submission.grading_id.is_not(None))
        .order_by(Submission.applicant_id, Submission.id)
    ).all()
    latest: dict[int, Submission] = {}
    for sub in subs:
        latest[sub.applicant_id] = sub  # ordered by id: the last one wins
    return sorted(latest.values(), key=lambda s: s.id)


def _write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".integrity-")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


def run_pass(services: Services, session: Session, task: TaskRow, *, actor: str) -> IntegrityResult:
    """Compare the task's submissions, flag their current reports, keep the evidence.

    The caller commits `session`. Submissions the grader's intake rejects are skipped and
    listed in the result; nothing of theirs changes.
    """
    grader_task = catalog.load(task.root)
    subs = latest_graded(session, task.id)
    with tempfile.TemporaryDirectory(prefix="assess-integrity-") as tmp:
        paths: list[Path] = []
        for sub in subs:
            blob = services.blobs.open_verified(sub.blob_sha256, Path(sub.filename).suffix.lower())
            named = Path(tmp) / str(sub.id) / graded_name(grader_task, sub.filename)
            named.parent.mkdir()
            shutil.copyfile(blob, named)
            paths.append(named)
        result = run_integrity(grader_task, paths, labels=[label(s.id) for s in subs])
    compared = set(result.compared)
    flagged = 0
    for sub in subs:
        grading = session.get(Grading, sub.grading_id)
        if grading is None or sub.content_sha256 not in compared:
            continue
        report = Report.model_validate_json(grading.report_json)
        pairs = result.for_submission(sub.content_sha256)
        kept = [f for f in report.flags if f.kind not in KINDS]
        updated = report.model_copy(update={"flags": kept + [p.flag() for p in pairs]})
        grading.report_json = updated.to_json()
        sub.integrity_auto = bool(pairs)
        body = json.dumps([p.model_dump(mode="json") for p in pairs], indent=1) + "\n"
        _write_atomically(evidence_path(services, sub.id), body)
        flagged += bool(pairs)
    audit(
        session,
        actor=actor,
        action="integrity",
        submission_id=None,
        before={},
        after={
            "task": task.id,
            "compared": len(result.compared),
            "pairs": len(result.pairs),
            "flagged": flagged,
        },
    )
    return result


@dataclass(frozen=True)
class FlaggedPair:
    """One flagged pair, with the applicants behind it (for the operator who ran the pass)."""

    a_submission: int
    a_applicant_id: int
    a_pseudonym: str
    b_submission: int | None  # None: b is one of the author's reference texts
    b_applicant_id: int | None
    b_pseudonym: str | None
    b_label: str
    kind: str  # code | prose
    score: float
    threshold: float

    def line(self) -> str:
        """One line: ``#12 (A-3f9c21d0, applicant 4) ~ #15 (...): code 87% similar ...``."""
        a = f"#{self.a_submission} ({self.a_pseudonym}, applicant {self.a_applicant_id})"
        if self.b_submission is None:
            b = f"reference text {self.b_label}"
        else:
            b = f"#{self.b_submission} ({self.b_pseudonym}, applicant {self.b_applicant_id})"
        return f"{a} ~ {b}: {self.kind} {self.score:.0%} similar (threshold {self.threshold:.0%})"


def submission_id(label_: str) -> int | None:
    """The submission number in a :func:`label` (None for anything else, e.g. a reference)."""
    prefix = "submission-"
    rest = label_.removeprefix(prefix)
    return int(rest) if label_.startswith(prefix) and rest.isdigit() else None


def flagged_pairs(session: Session, secret: bytes, result: IntegrityResult) -> list[FlaggedPair]:
    """The pass's flagged pairs with submission numbers, applicant ids and pseudonyms."""
    ids = {submission_id(p.a) for p in result.pairs} | {submission_id(p.b) for p in result.pairs}
    owners: dict[int, int] = {
        sid: aid
        for sid, aid in session.execute(
            select(Submission.id, Applicant.id)
            .join(Applicant, Applicant.id == Submission.applicant_id)
            .where(Submission.id.in_({i for i in ids if i is not None}))
        )
    }
    out = []
    for p in result.pairs:
        a, b = submission_id(p.a), submission_id(p.b)
        if a is None or a not in owners:
            continue
        b_owner = owners.get(b) if b is not None and not p.reference else None
        out.append(
            FlaggedPair(
                a_submission=a,
                a_applicant_id=owners[a],
                a_pseudonym=pseudonym(secret, owners[a]),
                b_submission=b if b_owner is not None else None,
                b_applicant_id=b_owner,
                b_pseudonym=pseudonym(secret, b_owner) if b_owner is not None else None,
                b_label=p.b,
                kind=p.kind,
                score=p.score,
                threshold=p.threshold,
            )
        )
    return out
