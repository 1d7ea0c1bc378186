"""Review progress per reviewer and per task, and the time to finish at the current pace.

*Assigned* counts assignments of counted submissions; *reviewed* those whose reviewer has
saved a review of it; *remaining* the difference. *Needs adjudication* counts counted
submissions whose reviewers disagree (:func:`api.scoring.disagreement`), under
:class:`~api.reviewing.Independence`: a reviewer counts only those they have reviewed.

The **pace** is reviews saved (``reviews.created_at``) in the last 24 hours divided by the
hours since the first of them (at least one hour, so a single quick review does not promise
a rate nobody keeps); the estimate is remaining / pace. No review in 24 hours: no pace yet.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, exists, select
from sqlalchemy.orm import Session

from api.models import Assignment, Review, Submission, User, utcnow
from api.reviewing import Independence

WINDOW = timedelta(hours=24)


@dataclass
class Line:
    """One row of the progress table: a reviewer or a task."""

    key: str
    assigned: int = 0
    reviewed: int = 0
    adjudicate: int = 0
    recent: int = 0  # reviews saved in the window
    first_recent: datetime | None = None

    @property
    def remaining(self) -> int:
        return self.assigned - self.reviewed

    def pace(self, now: datetime) -> float | None:
        """Reviews per hour over the window, or None without a review in it."""
        if not self.recent or self.first_recent is None:
            return None
        hours = min(max((now - self.first_recent).total_seconds() / 3600, 1.0), 24.0)
        return self.recent / hours

    def eta_hours(self, now: datetime) -> float | None:
        pace = self.pace(now)
        if self.remaining == 0:
            return 0.0
        return None if pace is None else self.remaining / pace

    def note(self, when: datetime | None) -> None:
        self.recent += 1
        if when is not None and (self.first_recent is None or when < self.first_recent):
            self.first_recent = when


@dataclass
class Progress:
    reviewers: list[Line]
    tasks: list[Line]
    total: Line
    now: datetime


def progress(
    db: Session, view: Independence, *, cohort_id: int | None = None, now: datetime | None = None
) -> Progress:
    """Per reviewer (a reviewer's view: their own row only) and per task (everyone's counts)."""
    now = now or utcnow()
    scope: list[ColumnElement[bool]] = [Submission.counted.is_(True)]
    if cohort_id is not None:
        scope.append(Submission.cohort_id == cohort_id)
    reviewed = exists().where(
        Review.submission_id == Assignment.submission_id,
        Review.reviewer_id == Assignment.reviewer_id,
    )
    rows = db.execute(
        select(
            User.username,
            Assignment.reviewer_id,
            Submission.id,
            Submission.task_id,
            Submission.disagreement,
            reviewed,
        )
        .join(Submission, Submission.id == Assignment.submission_id)
        .join(User, User.id == Assignment.reviewer_id)
        .where(*scope)
    ).all()
    people: dict[int, Line] = {}
    tasks: dict[str, Line] = {}
    total = Line("all tasks")
    for username, rid, sid, task_id, disagree, done in rows:
        if not view.everything and rid != view.reviewer_id:
            person = None
        else:
            person = people.setdefault(rid, Line(username))
        task = tasks.setdefault(task_id, Line(task_id))
        for line in (person, task, total):
            if line is None:
                continue
            line.assigned += 1
            line.reviewed += int(bool(done))
        if person is not None and disagree and view.sees_reviews(sid):
            person.adjudicate += 1
    # Submissions to adjudicate per task: each once, whoever is assigned.
    for sid, task_id in db.execute(
        select(Submission.id, Submission.task_id).where(*scope, Submission.disagreement.is_(True))
    ):
        if view.sees_reviews(sid):
            tasks.setdefault(task_id, Line(task_id)).adjudicate += 1
            total.adjudicate += 1
    for username, rid, task_id, created in db.execute(
        select(User.username, Review.reviewer_id, Submission.task_id, Review.created_at)
        .join(Submission, Submission.id == Review.submission_id)
        .join(User, User.id == Review.reviewer_id)
        .where(*scope, Review.created_at >= now - WINDOW)
    ):
        if view.everything or rid == view.reviewer_id:
            people.setdefault(rid, Line(username)).note(created)
        tasks.setdefault(task_id, Line(task_id)).note(created)
        total.note(created)
    return Progress(
        reviewers=sorted(people.values(), key=lambda line: line.key),
        tasks=sorted(tasks.values(), key=lambda line: line.key),
        total=total,
        now=now,
    )


def duration(hours: float | None) -> str:
    """An estimate for people: "about 3 h 20 min", "about 2 days 4 h", "done"."""
    if hours is None:
        return "no pace yet"
    if hours <= 0:
        return "done"
    minutes = max(round(hours * 60), 1)
    if minutes < 60:
        return f"about {minutes} min"
    if minutes < 48 * 60:
        h, m = divmod(minutes, 60)
        return f"about {h} h {m} min" if m else f"about {h} h"
    days, rest = divmod(round(hours), 24)
    return f"about {days} days {rest} h" if rest else f"about {days} days"


def rate(pace: float | None) -> str:
    """Reviews per hour for people: "4.2 per hour", "no pace yet"."""
    if pace is None:
        return "no pace yet"
    return f"{pace:.1f} per hour"
