"""Operators' decisions on applicants: one at a time, or in bulk from the ranking.

A bulk decision is planned first (:func:`plan_bulk`: exactly who changes from what to what,
nothing stored) and applied second (:func:`apply_plan`). The confirmation names the plan
it saw by its fingerprint; if the ranking or a decision changed in between, the plan
computed again differs and nothing is applied (the operator previews again). Every change
is audited per applicant.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.models import Applicant, Cohort, utcnow
from api.reviewing import audit, ranking
from api.stages import DECISIONS, stages

MAX_REASON = 2000
MAX_FEEDBACK = 5000
# Rejected and withdrawn need a reason: the applicant may ask, and the next operator reads it.
NEEDS_REASON = ("rejected", "withdrawn")


class DecisionError(ValueError):
    """A decision that cannot be stored as asked (one line, naming what was wrong)."""


@dataclass(frozen=True)
class BoardRow:
    """One applicant on the decisions page: stage, rank and composite, decision, feedback."""

    applicant_id: int
    name: str
    email: str
    stage: str
    rank: int | None
    composite: float | None
    provisional: bool
    decision: str | None
    reason: str
    decided_by: str
    feedback: str


def board(db: Session, cohort: Cohort) -> list[BoardRow]:
    """Every applicant of the cohort: ranked ones by rank, then the rest by id.

    The ranking is the stored one (every review counts): decisions are operators' work.
    """
    ranked = ranking(db, cohort)
    by_id = {
        a.id: a
        for a in db.scalars(
            select(Applicant).where(Applicant.cohort_id == cohort.id).order_by(Applicant.id)
        )
    }
    stage = stages(db, cohort)
    out: list[BoardRow] = []

    def add(a: Applicant, rank: int | None, composite: float | None, provisional: bool) -> None:
        out.append(
            BoardRow(
                applicant_id=a.id,
                name=a.name,
                email=a.email,
                stage=stage.get(a.id, "invited"),
                rank=rank,
                composite=composite,
                provisional=provisional,
                decision=a.decision,
                reason=a.decision_reason,
                decided_by=a.decision_by,
                feedback=a.feedback,
            )
        )

    seen: set[int] = set()
    for i, r in enumerate(ranked, start=1):
        a = by_id.get(r.applicant_id)
        if a is None:
            continue
        seen.add(a.id)
        add(a, i, round(r.composite, 6), r.provisional)
    for aid, a in by_id.items():
        if aid not in seen:
            add(a, None, None, True)
    return out


def _state(a: Applicant) -> dict[str, Any]:
    return {
        "applicant_id": a.id,
        "decision": a.decision,
        "reason": a.decision_reason,
        "feedback": a.feedback,
    }


def check_decision(decision: str | None, reason: str) -> None:
    """Raises DecisionError for an unknown decision, a missing or overlong reason."""
    if decision is not None and decision not in DECISIONS:
        raise DecisionError(
            f"Decision: {decision[:40]!r} is not one of {', '.join(DECISIONS)} (or none)"
        )
    if decision in NEEDS_REASON and not reason.strip():
        raise DecisionError(f"Reason: required when the decision is {decision}")
    if len(reason) > MAX_REASON:
        raise DecisionError(f"Reason: longer than {MAX_REASON} characters")


def set_decision(
    db: Session,
    applicant: Applicant,
    decision: str | None,
    reason: str,
    *,
    actor: str,
    feedback: str | None = None,
) -> bool:
    """Store one applicant's decision (None clears it) and, if given, their feedback message.

    Returns whether anything changed; the change is audited. Raises DecisionError.
    """
    reason = reason.strip()
    check_decision(decision, reason)
    if feedback is not None and len(feedback) > MAX_FEEDBACK:
        raise DecisionError(f"Feedback: longer than {MAX_FEEDBACK} characters")
    before = _state(applicant)
    if decision is None:
        reason = ""
    if (applicant.decision, applicant.decision_reason) != (decision, reason):
        applicant.decision = decision
        applicant.decision_reason = reason
        applicant.decision_by = actor
        applicant.decision_at = utcnow() if decision is not None else None
    if feedback is not None:
        applicant.feedback = feedback.strip()
    after = _state(applicant)
    if after == before:
        return False
    audit(db, actor=actor, action="decision", submission_id=None, before=before, after=after)
    return True


@dataclass(frozen=True)
class BulkSpec:
    """Advance the top `k` ranked, or everyone ranked with composite ≥ `threshold`;
    with `reject_rest`, every undecided applicant not advanced is rejected with `reason`."""

    mode: str  # "top" | "threshold"
    k: int | None = None
    threshold: float | None = None
    reject_rest: bool = False
    reason: str = ""

    def check(self) -> None:
        if self.mode == "top":
            if self.k is None or self.k < 1:
                raise DecisionError("Top K: a whole number from 1 up")
        elif self.mode == "threshold":
            if self.threshold is None or not 0 <= self.threshold <= 1:
                raise DecisionError("Threshold: a composite from 0 to 1 (for example 0.65)")
        else:
            raise DecisionError(f"Mode: {self.mode[:20]!r} is neither 'top' nor 'threshold'")
        if self.reject_rest and not self.reason.strip():
            raise DecisionError("Reason: required to reject the rest")
        if len(self.reason) > MAX_REASON:
            raise DecisionError(f"Reason: longer than {MAX_REASON} characters")


@dataclass(frozen=True)
class Change:
    applicant_id: int
    name: str
    email: str
    rank: int | None
    composite: float | None
    stage: str
    before: str | None
    after: str
    reason: str


def plan_bulk(db: Session, cohort: Cohort, spec: BulkSpec) -> list[Change]:
    """Exactly the changes `spec` makes, nothing stored.

    Advancing skips withdrawn applicants (they left; an operator undoes that one by one)
    and those already advanced. Rejecting the rest touches only applicants without a
    decision: a decision an operator made by hand is never overwritten by a bulk one.
    """
    spec.check()
    rows = board(db, cohort)
    ranked = [r for r in rows if r.rank is not None]
    if spec.mode == "top":
        assert spec.k is not None
        chosen = {r.applicant_id for r in ranked[: spec.k]}
    else:
        assert spec.threshold is not None
        chosen = {
            r.applicant_id
            for r in ranked
            if r.composite is not None and r.composite >= spec.threshold - 1e-9
        }
    changes: list[Change] = []
    for r in rows:
        if r.applicant_id in chosen:
            if r.decision in ("advanced", "withdrawn"):
                continue
            after, reason = "advanced", ""
        elif spec.reject_rest and r.decision is None:
            after, reason = "rejected", spec.reason.strip()
        else:
            continue
        changes.append(
            Change(
                applicant_id=r.applicant_id, name=r.name, email=r.email, rank=r.rank,
                composite=r.composite, stage=r.stage, before=r.decision, after=after,
                reason=reason,
            )
        )  # fmt: skip
    return changes


def fingerprint(changes: list[Change]) -> str:
    """A digest of a plan: the confirmation carries it, so only what was previewed is applied."""
    doc = json.dumps([asdict(c) for c in changes], sort_keys=True, default=str)
    return hashlib.sha256(doc.encode()).hexdigest()[:32]


def apply_plan(db: Session, cohort: Cohort, changes: list[Change], *, actor: str) -> int:
    """Store every change of a plan (one audit entry per applicant); the caller commits."""
    for c in changes:
        a = db.get(Applicant, c.applicant_id)
        assert a is not None and a.cohort_id == cohort.id
        set_decision(db, a, c.after, c.reason, actor=actor)
    return len(changes)


def csv_safe(value: str) -> str:
    """Keep spreadsheet formulas out of exports (CSV injection), as the cohort export does."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def export_csv(db: Session, cohort: Cohort) -> str:
    """Stages and decisions, one row per applicant; every text cell formula-safe."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(
        ["applicant_id", "name", "email", "rank", "composite", "provisional", "stage",
         "decision", "reason", "decided_by", "feedback"]
    )  # fmt: skip
    for r in board(db, cohort):
        w.writerow(
            [
                r.applicant_id, csv_safe(r.name), csv_safe(r.email), r.rank or "",
                "" if r.composite is None else f"{r.composite:.4f}", r.provisional, r.stage,
                r.decision or "", csv_safe(r.reason), csv_safe(r.decided_by), csv_safe(r.feedback),
            ]
        )  # fmt: skip
    return buf.getvalue()
