"""Timed attempts and extensions: Start, each applicant's deadline per task, on-time checks.

The arithmetic is :mod:`api.deadlines`; this module reads what it needs from the database.
The deadline is computed from what is stored now (start, budget, grace, close, grants), so
an operator's later change to a window or a grant takes effect at once; ``Attempt.deadline_at``
keeps the result for listings and reminders and is rewritten on Start, on every grant
(:func:`grant`) and by :func:`refresh_deadlines` after a cohort's window or budgets change.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api import deadlines
from api.counted import mark_counted
from api.deadlines import Grant, WindowState
from api.models import (
    Applicant,
    Attempt,
    Cohort,
    CohortTask,
    Extension,
    Submission,
    TaskRow,
    utcnow,
)
from api.reviewing import audit
from api.tasklist import assigned_tasks

MAX_EXTENSION_MINUTES = 60 * 24 * 30  # a month: anything longer is a typo, not an extension


class AttemptError(ValueError):
    """Starting, uploading or granting is refused; the message says why, in one line."""

    def __init__(self, message: str, status_code: int = 409) -> None:
        super().__init__(message)
        self.status_code = status_code


@dataclass(frozen=True)
class Due:
    """An applicant's standing on one task at `now`."""

    task_id: str
    title: str
    zone: str
    window: WindowState
    opens_at: datetime | None
    closes_at: datetime | None  # the close as it applies to them (past-close grants added)
    budget_minutes: int | None
    grace_minutes: int
    extra_minutes: int
    started_at: datetime | None
    deadline_at: datetime | None
    late_policy: str
    now: datetime

    @property
    def timed(self) -> bool:
        return self.budget_minutes is not None

    @property
    def needs_start(self) -> bool:
        return self.timed and self.started_at is None

    @property
    def can_start(self) -> bool:
        return self.needs_start and self.window == "open"

    @property
    def passed(self) -> bool:
        return self.deadline_at is not None and self.now > self.deadline_at

    @property
    def upload_open(self) -> bool:
        """Whether an upload now would be stored (on time, or late under "flag")."""
        if self.window == "not_open" or self.needs_start:
            return False
        return not self.passed or self.late_policy == "flag"

    def at(self, instant: datetime | None) -> str:
        """An instant in the applicant's zone, for their pages and messages."""
        return "" if instant is None else deadlines.in_zone(instant, self.zone)

    def planned_deadline(self) -> datetime | None:
        """The deadline Start would give if pressed at `now` (for the confirmation)."""
        if not self.timed:
            return self.deadline_at
        assert self.budget_minutes is not None
        return deadlines.deadline(
            task_id=self.task_id,
            started_at=self.now,
            budget_minutes=self.budget_minutes,
            grace_minutes=self.grace_minutes,
            closes_at=self.closes_at,
            grants=[Grant(self.extra_minutes)],
        )


def grants_of(db: Session, applicant_id: int) -> list[Grant]:
    rows = db.scalars(select(Extension).where(Extension.applicant_id == applicant_id))
    return [Grant(e.minutes, e.task_id, e.past_close) for e in rows]


def budget_of(db: Session, cohort_id: int, task_id: str) -> int | None:
    """The task's time budget in the cohort (None: untimed, and for a stream's follow-up
    task that is not one of the cohort's tasks)."""
    return db.scalar(
        select(CohortTask.time_budget_minutes).where(
            CohortTask.cohort_id == cohort_id, CohortTask.task_id == task_id
        )
    )


def attempt_of(db: Session, applicant_id: int, task_id: str) -> Attempt | None:
    return db.scalar(
        select(Attempt).where(Attempt.applicant_id == applicant_id, Attempt.task_id == task_id)
    )


def due(
    db: Session,
    applicant: Applicant,
    task: TaskRow,
    now: datetime | None = None,
    *,
    grants: list[Grant] | None = None,
) -> Due:
    """Where `applicant` stands on `task` at `now` (default: the current time)."""
    now = now or utcnow()
    cohort = db.get(Cohort, applicant.cohort_id)
    assert cohort is not None
    grants = grants_of(db, applicant.id) if grants is None else grants
    budget = budget_of(db, cohort.id, task.id)
    attempt = attempt_of(db, applicant.id, task.id) if budget is not None else None
    started = attempt.started_at if attempt else None
    when = deadlines.deadline(
        task_id=task.id,
        started_at=started,
        budget_minutes=budget,
        grace_minutes=cohort.grace_minutes,
        closes_at=cohort.closes_at,
        grants=grants,
    )
    return Due(
        task_id=task.id,
        title=task.title,
        zone=applicant.timezone,
        window=deadlines.window_state(now, cohort.opens_at, cohort.closes_at),
        opens_at=cohort.opens_at,
        closes_at=deadlines.close_for(cohort.closes_at, grants, task.id),
        budget_minutes=budget,
        grace_minutes=cohort.grace_minutes,
        extra_minutes=deadlines.extra_minutes(grants, task.id)[0],
        started_at=started,
        deadline_at=when,
        late_policy=cohort.late_policy,
        now=now,
    )


def start(db: Session, applicant: Applicant, task: TaskRow, now: datetime | None = None) -> Attempt:
    """Start the applicant's timed attempt at `task` (idempotent: a second Start returns the
    first attempt unchanged). The caller commits.

    Raises:
        AttemptError: the task is untimed, or the window is not open.
    """
    standing = due(db, applicant, task, now)
    existing = attempt_of(db, applicant.id, task.id)
    if existing is not None:
        return existing
    if not standing.timed:
        raise AttemptError(f"{task.title} is not timed: there is nothing to start", 422)
    if standing.window == "not_open":
        raise AttemptError(
            f"{task.title} cannot be started yet: "
            f"the window opens {standing.at(standing.opens_at)}."
        )
    if standing.window == "closed":
        raise AttemptError(
            f"{task.title} cannot be started: the window closed {standing.at(standing.closes_at)}."
        )
    attempt = Attempt(
        applicant_id=applicant.id,
        task_id=task.id,
        started_at=standing.now,
        deadline_at=standing.planned_deadline(),
    )
    try:
        with db.begin_nested():  # two Starts racing: the unique pair keeps the first
            db.add(attempt)
    except IntegrityError:
        again = attempt_of(db, applicant.id, task.id)
        assert again is not None
        return again
    return attempt


def admit(db: Session, applicant: Applicant, task: TaskRow, now: datetime) -> bool:
    """Whether an upload received at `now` is late (True) or on time (False).

    Raises:
        AttemptError: refused: before the window opens, a timed task not started, or past
            the deadline under the "refuse" policy. Nothing is stored then.
    """
    d = due(db, applicant, task, now)
    if d.window == "not_open":
        raise AttemptError(
            f"Uploads for {task.title} open with the window, {d.at(d.opens_at)}.", 409
        )
    if d.needs_start:
        raise AttemptError(
            f"{task.title} is timed: press Start on your tasks page first, then upload.", 409
        )
    if not d.passed:
        return False
    if d.late_policy == "flag":
        return True
    raise AttemptError(
        f"The deadline for {task.title} passed at {d.at(d.deadline_at)}; uploads are closed.", 409
    )


def refresh_deadlines(db: Session, applicant_ids: list[int] | None = None) -> int:
    """Rewrite the stored ``deadline_at`` of these applicants' attempts (all: None) from
    the current window, budgets and grants; returns how many changed. The caller commits."""
    query = select(Attempt, Applicant).join(Applicant, Applicant.id == Attempt.applicant_id)
    if applicant_ids is not None:
        query = query.where(Attempt.applicant_id.in_(applicant_ids))
    changed = 0
    for attempt, applicant in db.execute(query).all():
        task = db.get(TaskRow, attempt.task_id)
        assert task is not None
        new = due(db, applicant, task).deadline_at
        if new != attempt.deadline_at:
            attempt.deadline_at = new
            changed += 1
    return changed


def check_grant(
    db: Session, applicant: Applicant, *, minutes: int, task_id: str | None, reason: str
) -> None:
    """Raises AttemptError (422) naming what is wrong with a grant."""
    if not 1 <= minutes <= MAX_EXTENSION_MINUTES:
        raise AttemptError(f"minutes: give a whole number from 1 to {MAX_EXTENSION_MINUTES}", 422)
    if not reason.strip():
        raise AttemptError("reason: say why the extension is granted (it is audited)", 422)
    if task_id is not None and task_id not in {t.id for t in tasks_of(db, applicant)}:
        raise AttemptError(f"task: {task_id!r} is not one of this applicant's tasks", 422)


def grant(
    db: Session,
    applicant: Applicant,
    *,
    minutes: int,
    task_id: str | None,
    past_close: bool,
    reason: str,
    by: str,
) -> Extension:
    """Grant `applicant` extra minutes (one task, or all: None), recompute their stored
    deadlines and write the audit entry with the deadlines before and after. The caller
    commits.

    Raises:
        AttemptError: the grant is not valid (see :func:`check_grant`).
    """
    check_grant(db, applicant, minutes=minutes, task_id=task_id, reason=reason)
    tasks = [t for t in tasks_of(db, applicant) if task_id is None or t.id == task_id]
    before = {t.id: _iso(due(db, applicant, t).deadline_at) for t in tasks}
    ext = Extension(
        applicant_id=applicant.id,
        task_id=task_id,
        minutes=minutes,
        past_close=past_close,
        reason=reason.strip(),
        granted_by=by,
    )
    db.add(ext)
    db.flush()
    refresh_deadlines(db, [applicant.id])
    after = {t.id: _iso(due(db, applicant, t).deadline_at) for t in tasks}
    now_on_time = _clear_late(db, applicant, tasks, by)
    audit(
        db,
        actor=by,
        action="extension",
        submission_id=None,
        before={"applicant_id": applicant.id, "deadlines": before},
        after={
            "applicant_id": applicant.id,
            "extension_id": ext.id,
            "task_id": task_id,
            "minutes": minutes,
            "past_close": past_close,
            "reason": ext.reason,
            "deadlines": after,
            "now_on_time": now_on_time,
        },
    )
    return ext


def _clear_late(db: Session, applicant: Applicant, tasks: list[TaskRow], by: str) -> list[int]:
    """Late submissions (kept under "flag") that the extended deadline now covers become
    on time, and each pair's counted submission is chosen again: the last on-time one.
    Returns the ids that were cleared."""

    cleared = []
    for task in tasks:
        d = due(db, applicant, task).deadline_at
        subs = db.scalars(
            select(Submission)
            .where(Submission.applicant_id == applicant.id, Submission.task_id == task.id)
            .order_by(Submission.received_at, Submission.id)
        ).all()
        changed = [s for s in subs if s.late and deadlines.on_time(s.received_at, d)]
        if not changed:
            continue
        for s in changed:
            s.late = False
            cleared.append(s.id)
        last = [s for s in subs if not s.late][-1]
        if not last.counted:
            replaced = mark_counted(db, last)
            audit(db, actor=by, action="counted", submission_id=last.id,
                  before={"counted": False, "counted_submissions": replaced},
                  after={"counted": True, "why": "on time after an extension"})  # fmt: skip
    return cleared


@dataclass(frozen=True)
class Row:
    """One applicant's standing on one cohort task, for the operator's extensions page."""

    applicant: Applicant
    task_id: str
    budget_minutes: int | None
    started_at: datetime | None
    deadline_at: datetime | None
    extensions: list[Extension]


def cohort_rows(db: Session, cohort: Cohort) -> list[Row]:
    """Every applicant of `cohort` on each of its tasks, with start, deadline and grants;
    a fixed number of queries whatever the cohort's size (a page of 2,000 applicants)."""
    budgets = dict(
        db.execute(
            select(CohortTask.task_id, CohortTask.time_budget_minutes)
            .where(CohortTask.cohort_id == cohort.id)
            .order_by(CohortTask.task_id)
        ).all()
    )
    applicants = db.scalars(
        select(Applicant).where(Applicant.cohort_id == cohort.id).order_by(Applicant.id)
    ).all()
    ids = [a.id for a in applicants]
    started: dict[tuple[int, str], datetime] = {
        (a, t): at
        for a, t, at in db.execute(
            select(Attempt.applicant_id, Attempt.task_id, Attempt.started_at).where(
                Attempt.applicant_id.in_(ids)
            )
        )
    }
    exts: dict[int, list[Extension]] = {}
    for e in db.scalars(
        select(Extension).where(Extension.applicant_id.in_(ids)).order_by(Extension.id)
    ):
        exts.setdefault(e.applicant_id, []).append(e)
    rows = []
    for a in applicants:
        mine = exts.get(a.id, [])
        grants = [Grant(e.minutes, e.task_id, e.past_close) for e in mine]
        for task_id, budget in budgets.items():
            at = started.get((a.id, task_id))
            rows.append(
                Row(
                    applicant=a,
                    task_id=task_id,
                    budget_minutes=budget,
                    started_at=at,
                    deadline_at=deadlines.deadline(
                        task_id=task_id,
                        started_at=at,
                        budget_minutes=budget,
                        grace_minutes=cohort.grace_minutes,
                        closes_at=cohort.closes_at,
                        grants=grants,
                    ),
                    extensions=[e for e in mine if e.task_id in (None, task_id)],
                )
            )
    return rows


def tasks_of(db: Session, applicant: Applicant) -> list[TaskRow]:
    """The applicant's task list (api.tasklist: cohort tasks, shortlisted streams' follow-ups)."""
    return assigned_tasks(db, applicant)


def _iso(instant: datetime | None) -> str | None:
    return None if instant is None else deadlines.iso_utc(instant)
