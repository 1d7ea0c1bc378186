"""Who reviews what: balanced assignment, reassignment, conflicts of interest, "my queue".

Rules that hold for every change made here:

* Only **counted** submissions (the last one received per applicant and task) are assigned.
* A reviewer never gets a submission by an applicant they declared a **conflict** with.
* **Capacity** (``users.review_capacity``, None: no cap) bounds how many counted
  submissions of one cohort a reviewer is assigned: a cohort is one assignment round.
* Balancing is greedy, least-loaded first (load: the reviewer's assignments in the cohort,
  existing ones included), ties broken by reviewer id, submissions taken in (task, id) order;
  without conflicts or caps the loads end within one of each other.
* Existing assignments are kept: running an assignment twice adds nothing.
* Every change writes an :class:`~api.models.AuditEntry` in the same transaction.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.orm import Session, selectinload

from api.models import (
    Assignment,
    Review,
    ReviewConflict,
    Submission,
    User,
)
from api.reviewing import audit


class AssignmentError(ValueError):
    """A request that breaks an assignment rule; the message says which, in one line."""


@dataclass(frozen=True)
class Unfilled:
    submission_id: int
    missing: int
    reason: str


@dataclass
class Plan:
    """What an assignment run creates (or would create, for a preview)."""

    created: list[tuple[int, int]] = field(default_factory=list)  # (submission, reviewer)
    unfilled: list[Unfilled] = field(default_factory=list)
    submissions: int = 0

    def per_reviewer(self) -> dict[int, int]:
        counts: dict[int, int] = defaultdict(int)
        for _, reviewer in self.created:
            counts[reviewer] += 1
        return dict(counts)


def eligible_reviewers(db: Session, reviewer_ids: Sequence[int] | None) -> list[User]:
    """The named reviewers (each must exist and be active), or every active user."""
    if reviewer_ids is None:
        return list(db.scalars(select(User).where(User.active).order_by(User.id)))
    if not reviewer_ids:
        raise AssignmentError("no reviewer named: name at least one, or none for every active one")
    users = {u.id: u for u in db.scalars(select(User).where(User.id.in_(set(reviewer_ids))))}
    for rid in reviewer_ids:
        user = users.get(rid)
        if user is None:
            raise AssignmentError(f"no reviewer with id {rid}")
        if not user.active:
            raise AssignmentError(f"reviewer {user.username} is not active")
    return sorted(users.values(), key=lambda u: u.id)


def loads(db: Session, cohort_id: int) -> dict[int, int]:
    """Each reviewer's load: their assignments on counted submissions of the cohort."""
    rows = db.execute(
        select(Assignment.reviewer_id, func.count())
        .join(Submission, Submission.id == Assignment.submission_id)
        .where(Submission.cohort_id == cohort_id, Submission.counted.is_(True))
        .group_by(Assignment.reviewer_id)
    ).all()
    return {rid: int(n) for rid, n in rows}


def _conflicts(db: Session, reviewer_ids: Iterable[int]) -> set[tuple[int, int]]:
    rows = db.execute(
        select(ReviewConflict.reviewer_id, ReviewConflict.applicant_id).where(
            ReviewConflict.reviewer_id.in_(list(reviewer_ids))
        )
    )
    return {(rid, aid) for rid, aid in rows}


def _pick(
    need: int,
    taken: set[int],
    applicant_id: int,
    reviewers: Sequence[User],
    load: dict[int, int],
    conflicts: set[tuple[int, int]],
) -> tuple[list[int], str]:
    """Up to `need` reviewers for one submission, least-loaded first; why any are missing."""
    free = [u for u in reviewers if u.id not in taken]
    unconflicted = [u for u in free if (u.id, applicant_id) not in conflicts]
    room = [
        u
        for u in unconflicted
        if u.review_capacity is None or load.get(u.id, 0) < u.review_capacity
    ]
    room.sort(key=lambda u: (load.get(u.id, 0), u.id))
    chosen = [u.id for u in room[:need]]
    reason = ""
    if len(chosen) < need:
        if len(unconflicted) < need:
            reason = (
                f"only {len(unconflicted)} eligible reviewer(s) not yet assigned "
                "and without a conflict of interest"
            )
        else:
            reason = "the other eligible reviewers are at capacity"
    return chosen, reason


def plan_auto(
    db: Session,
    *,
    cohort_id: int,
    task_id: str | None,
    per_submission: int,
    reviewer_ids: Sequence[int] | None,
) -> Plan:
    """The assignments that give each counted submission `per_submission` distinct reviewers.

    Changes nothing (see :func:`apply`); existing assignments count towards the K and the
    loads.
    """
    if per_submission < 1:
        raise AssignmentError("reviewers per submission must be at least 1")
    reviewers = eligible_reviewers(db, reviewer_ids)
    query = select(Submission.id, Submission.applicant_id).where(
        Submission.cohort_id == cohort_id, Submission.counted.is_(True)
    )
    if task_id is not None:
        query = query.where(Submission.task_id == task_id)
    subs = db.execute(query.order_by(Submission.task_id, Submission.id)).all()
    assigned: dict[int, set[int]] = defaultdict(set)
    for sid, rid in db.execute(
        select(Assignment.submission_id, Assignment.reviewer_id).where(
            Assignment.submission_id.in_(select(query.with_only_columns(Submission.id).subquery()))
        )
    ):
        assigned[sid].add(rid)
    load = loads(db, cohort_id)
    conflicts = _conflicts(db, [u.id for u in reviewers])
    plan = Plan(submissions=len(subs))
    for sid, applicant_id in subs:
        need = per_submission - len(assigned[sid])
        if need <= 0:
            continue
        chosen, reason = _pick(need, assigned[sid], applicant_id, reviewers, load, conflicts)
        for rid in chosen:
            plan.created.append((sid, rid))
            load[rid] = load.get(rid, 0) + 1
        if len(chosen) < need:
            plan.unfilled.append(Unfilled(sid, need - len(chosen), reason))
    return plan


def apply(db: Session, plan: Plan, *, actor: str) -> None:
    """Write the plan's assignments, each with its audit entry (the caller commits)."""
    for sid, rid in plan.created:
        db.add(Assignment(submission_id=sid, reviewer_id=rid, assigned_by=actor))
        audit(
            db,
            actor=actor,
            action="assign",
            submission_id=sid,
            before={},
            after={"reviewer_id": rid},
        )
    db.flush()


def _reviewed(db: Session, reviewer_id: int, submission_id: int) -> bool:
    return (
        db.scalar(
            select(Review.id).where(
                Review.reviewer_id == reviewer_id, Review.submission_id == submission_id
            )
        )
        is not None
    )


def check_can_take(db: Session, user: User, sub: Submission) -> None:
    """Raises AssignmentError unless `user` may be assigned `sub` (every rule above)."""
    if not user.active:
        raise AssignmentError(f"reviewer {user.username} is not active")
    if not sub.counted:
        raise AssignmentError(f"submission #{sub.id} is superseded by a later upload")
    if db.scalar(
        select(ReviewConflict.id).where(
            ReviewConflict.reviewer_id == user.id,
            ReviewConflict.applicant_id == sub.applicant_id,
        )
    ):
        raise AssignmentError(
            f"{user.username} declared a conflict of interest with this applicant"
        )
    if db.scalar(
        select(Assignment.id).where(
            Assignment.reviewer_id == user.id, Assignment.submission_id == sub.id
        )
    ):
        raise AssignmentError(f"{user.username} is already assigned submission #{sub.id}")
    if user.review_capacity is not None:
        load = loads(db, sub.cohort_id).get(user.id, 0)
        if load >= user.review_capacity:
            raise AssignmentError(
                f"{user.username} is at capacity ({load} of {user.review_capacity})"
            )


def reassign_one(db: Session, assignment: Assignment, to: User, *, actor: str) -> Assignment:
    """Move one assignment to reviewer `to`; the rules hold for `to`."""
    sub = db.get(Submission, assignment.submission_id)
    assert sub is not None
    check_can_take(db, to, sub)
    before = {"reviewer_id": assignment.reviewer_id}
    db.delete(assignment)
    moved = Assignment(submission_id=sub.id, reviewer_id=to.id, assigned_by=actor)
    db.add(moved)
    audit(
        db,
        actor=actor,
        action="reassign",
        submission_id=sub.id,
        before=before,
        after={"reviewer_id": to.id},
    )
    db.flush()
    return moved


def reassign_all(
    db: Session, source: User, reviewer_ids: Sequence[int] | None, *, actor: str
) -> Plan:
    """Move every counted submission `source` is assigned and has not reviewed to others,
    balanced as :func:`plan_auto` balances; what cannot move stays with `source`."""
    candidates = [u for u in eligible_reviewers(db, reviewer_ids) if u.id != source.id]
    rows = db.execute(
        select(Assignment, Submission.applicant_id, Submission.cohort_id)
        .join(Submission, Submission.id == Assignment.submission_id)
        .where(
            Assignment.reviewer_id == source.id,
            Submission.counted.is_(True),
            ~exists().where(
                Review.submission_id == Assignment.submission_id,
                Review.reviewer_id == source.id,
            ),
        )
        .order_by(Submission.task_id, Submission.id)
    ).all()
    conflicts = _conflicts(db, [u.id for u in candidates])
    by_cohort: dict[int, dict[int, int]] = {}
    plan = Plan(submissions=len(rows))
    for assignment, applicant_id, cohort_id in rows:
        if cohort_id not in by_cohort:
            by_cohort[cohort_id] = loads(db, cohort_id)
        load = by_cohort[cohort_id]
        taken = set(
            db.scalars(
                select(Assignment.reviewer_id).where(
                    Assignment.submission_id == assignment.submission_id
                )
            )
        )
        chosen, reason = _pick(1, taken, applicant_id, candidates, load, conflicts)
        if not chosen:
            plan.unfilled.append(Unfilled(assignment.submission_id, 1, reason))
            continue
        (rid,) = chosen
        load[rid] = load.get(rid, 0) + 1
        load[source.id] = load.get(source.id, 0) - 1
        sid = assignment.submission_id
        db.delete(assignment)
        db.add(Assignment(submission_id=sid, reviewer_id=rid, assigned_by=actor))
        audit(
            db,
            actor=actor,
            action="reassign",
            submission_id=sid,
            before={"reviewer_id": source.id},
            after={"reviewer_id": rid},
        )
        plan.created.append((sid, rid))
        db.flush()
    return plan


def unassign(db: Session, assignment: Assignment, *, actor: str) -> None:
    audit(
        db,
        actor=actor,
        action="unassign",
        submission_id=assignment.submission_id,
        before={"reviewer_id": assignment.reviewer_id},
        after={},
    )
    db.delete(assignment)
    db.flush()


def declare_conflict(
    db: Session, reviewer: User, applicant_id: int, reason: str, *, actor: str
) -> tuple[ReviewConflict, int]:
    """Record the conflict (or return the one already declared) and drop the reviewer's
    assignments of that applicant's submissions; returns the conflict and how many went."""
    conflict = db.scalar(
        select(ReviewConflict).where(
            ReviewConflict.reviewer_id == reviewer.id,
            ReviewConflict.applicant_id == applicant_id,
        )
    )
    if conflict is None:
        conflict = ReviewConflict(
            reviewer_id=reviewer.id, applicant_id=applicant_id, reason=reason, declared_by=actor
        )
        db.add(conflict)
    dropped = list(
        db.scalars(
            select(Assignment).where(
                Assignment.reviewer_id == reviewer.id,
                Assignment.submission_id.in_(
                    select(Submission.id).where(Submission.applicant_id == applicant_id)
                ),
            )
        )
    )
    for a in dropped:
        unassign(db, a, actor=actor)
    audit(
        db,
        actor=actor,
        action="conflict",
        submission_id=None,
        before={},
        after={"reviewer_id": reviewer.id, "applicant_id": applicant_id, "dropped": len(dropped)},
    )
    db.flush()
    return conflict, len(dropped)


def remove_conflict(db: Session, conflict: ReviewConflict, *, actor: str) -> None:
    audit(
        db,
        actor=actor,
        action="conflict-removed",
        submission_id=None,
        before={"reviewer_id": conflict.reviewer_id, "applicant_id": conflict.applicant_id},
        after={},
    )
    db.delete(conflict)
    db.flush()


# -- my queue ---------------------------------------------------------------------------


def _mine(reviewer_id: int) -> list[object]:
    """Conditions for the reviewer's queue: assigned to them, counted."""
    return [
        Assignment.reviewer_id == reviewer_id,
        Assignment.submission_id == Submission.id,
        Submission.counted.is_(True),
    ]


def _unreviewed(reviewer_id: int) -> object:
    return ~exists().where(Review.submission_id == Submission.id, Review.reviewer_id == reviewer_id)


def queue_items(db: Session, reviewer_id: int) -> list[tuple[Submission, bool]]:
    """The reviewer's assigned counted submissions in (task, id) order, each with whether
    they have reviewed it."""
    reviewed = (
        exists()
        .where(Review.submission_id == Submission.id, Review.reviewer_id == reviewer_id)
        .label("reviewed")
    )
    rows = db.execute(
        select(Submission, reviewed)
        .options(selectinload(Submission.applicant))  # labels for every row, in one query
        .join(Assignment, Assignment.submission_id == Submission.id)
        .where(*_mine(reviewer_id))  # type: ignore[arg-type]
        .order_by(Submission.task_id, Submission.id)
    ).all()
    return [(sub, bool(done)) for sub, done in rows]


def next_assigned(db: Session, reviewer_id: int, after_id: int | None) -> int | None:
    """The reviewer's next assigned, counted submission they have not reviewed, in (task, id)
    order after `after_id` (wrapping to the start); None when none is left.

    `after_id` need not be in the queue (a page opened from the dashboard): its (task, id)
    place in the order is used. It is returned itself only when it is the last one left.
    """
    base = (
        select(Submission.id)
        .join(Assignment, Assignment.submission_id == Submission.id)
        .where(*_mine(reviewer_id), _unreviewed(reviewer_id))  # type: ignore[arg-type]
        .order_by(Submission.task_id, Submission.id)
        .limit(1)
    )
    if after_id is not None:
        task_id = db.scalar(select(Submission.task_id).where(Submission.id == after_id))
        if task_id is not None:
            later = db.scalar(
                base.where(
                    or_(
                        Submission.task_id > task_id,
                        and_(Submission.task_id == task_id, Submission.id > after_id),
                    )
                )
            )
            if later is not None:
                return later
    return db.scalar(base)
