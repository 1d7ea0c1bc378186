"""Previous and next submission within the dashboard's filter and order, by keyset.

The dashboard orders rows by (sort value, id), both descending or both ascending, with
rows whose sort value is NULL last (``nulls_last``). The neighbours of a submission are
found from its own (value, id) in one indexed query each, never with an OFFSET, so the
10,000th submission is as quick to leave as the first. The sort value is the one the viewer
sees (:meth:`Independence.task_score_sql` for scores), so a reviewer's order never depends on
reviews they may not see yet.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.orm import Session

from api.models import Assignment, Submission
from api.reviewing import Independence
from api.routes.submissions import Filters, Sort


@dataclass(frozen=True)
class Neighbours:
    previous: int | None
    next: int | None


def _after(
    col: Any, value: Any, current: int, descending: bool, nullable: bool
) -> ColumnElement[bool]:
    """Rows that come after (value, current) in the order (col, id), NULLs last."""
    later_id = Submission.id < current if descending else Submission.id > current
    if value is None:  # among the NULLs at the end: only later ids among them
        return and_(col.is_(None), later_id)
    beyond = col < value if descending else col > value
    if not nullable:  # a plain row comparison, which the (col, id) indexes answer
        return or_(beyond, and_(col == value, later_id))
    return or_(beyond, and_(col == value, later_id), col.is_(None))


def _before(col: Any, value: Any, current: int, descending: bool) -> ColumnElement[bool]:
    """Rows that come before (value, current) in the order (col, id), NULLs last."""
    earlier_id = Submission.id > current if descending else Submission.id < current
    if value is None:  # every non-NULL row, and the NULLs with earlier ids
        return or_(col.is_not(None), and_(col.is_(None), earlier_id))
    ahead = col > value if descending else col < value
    # NULLs come last: a NULL is never before a row that has a value.
    return or_(ahead, and_(col == value, earlier_id))


def step(
    db: Session, f: Filters, viewer_id: int, view: Independence, current: int, forward: bool
) -> int | None:
    """The submission next to `current` (forward: the next; else the previous), or None."""
    col = f.sort_column(view)
    nullable = f.sort == Sort.score  # as the dashboard orders: only scores can be NULL
    value = db.scalar(select(col).where(Submission.id == current))
    descending = f.order != "asc"
    if forward:
        cond = _after(col, value, current, descending, nullable)
        order = _order(col, descending, nullable)
    else:
        # Walk the order backwards: the nearest row before the current one comes first.
        cond = _before(col, value, current, descending)
        order = _order(col, not descending, nullable, nulls_first=True)
    return db.scalar(
        select(Submission.id).where(*f.where(viewer_id, view), cond).order_by(*order).limit(1)
    )


def _order(col: Any, descending: bool, nullable: bool, nulls_first: bool = False) -> list[Any]:
    c = col.desc() if descending else col.asc()
    if nullable:  # other columns keep a plain order, the one their indexes hold
        c = c.nulls_first() if nulls_first else c.nulls_last()
    return [c, Submission.id.desc() if descending else Submission.id.asc()]


def neighbours(
    db: Session, f: Filters, viewer_id: int, view: Independence, current: int
) -> Neighbours:
    """The previous and the next submission around `current` in `f`'s filter and order."""
    return Neighbours(
        previous=step(db, f, viewer_id, view, current, forward=False),
        next=step(db, f, viewer_id, view, current, forward=True),
    )


def queue_previous(db: Session, reviewer_id: int, current: int) -> int | None:
    """The assigned, counted submission before `current` in my queue's order (task, id)."""
    task = db.scalar(select(Submission.task_id).where(Submission.id == current))
    if task is None:
        return None
    mine = and_(
        Assignment.submission_id == Submission.id,
        Assignment.reviewer_id == reviewer_id,
        Submission.counted.is_(True),
    )
    earlier = or_(
        Submission.task_id < task, and_(Submission.task_id == task, Submission.id < current)
    )
    return db.scalar(
        select(Submission.id)
        .join(Assignment, mine)
        .where(earlier)
        .order_by(Submission.task_id.desc(), Submission.id.desc())
        .limit(1)
    )


def queue_next(db: Session, reviewer_id: int, current: int | None) -> int | None:
    """The next unreviewed submission of my queue after `current` (the queue's own rule).

    The queue's order and what counts as done belong to :mod:`api.assignment`; until that
    module exists there is no queue to walk, and the page links to ``/review/queue/next``.
    """
    try:
        from api.assignment import next_assigned  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        return None
    found: int | None = next_assigned(db, reviewer_id, current)
    return found
