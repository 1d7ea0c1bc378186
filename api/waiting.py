"""Where a received submission waits: its place in the grading queue and an estimate.

An applicant who uploads in the last minutes before a deadline wants to know that the upload
arrived and when it will be checked. The place is counted from the job rows (the queue's
truth, whichever worker pool serves it); the estimate uses how long recent gradings of the
same queue took and how many gradings run at once, and is said as a rough figure.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.models import Job, utcnow

# Recent gradings whose durations make the estimate; enough to smooth one slow task out.
RECENT = 50
# When nothing was graded yet on this queue: a trivial grading's time on a busy machine.
DEFAULT_GRADING_S = 20.0
# Celery workers: those that finished or took a job lately count as running.
LIVE_WINDOW = timedelta(minutes=10)


@dataclass(frozen=True)
class Waiting:
    position: int  # 1: next to be taken; counts the queued jobs of the same queue ahead
    running: int  # gradings of the same queue running now
    estimate_s: int  # until this one's grading should be finished, rounded up to 10 s


def grading_time(db: Session, queue: str) -> float:
    """The median seconds of the queue's last RECENT finished gradings."""
    rows = db.execute(
        select(Job.started_at, Job.finished_at)
        .where(Job.queue == queue, Job.state == "done", Job.started_at.is_not(None))
        .order_by(Job.id.desc())
        .limit(RECENT)
    ).all()
    spans = [(f - s).total_seconds() for s, f in rows if s is not None and f is not None and f >= s]
    return statistics.median(spans) if spans else DEFAULT_GRADING_S


def parallel(db: Session, queue: str, workers: int | None) -> int:
    """How many gradings run at once: the in-process pool's size, else the workers seen."""
    if workers:
        return workers
    since = utcnow() - LIVE_WINDOW
    seen = db.scalar(
        select(func.count(func.distinct(Job.worker))).where(
            Job.queue == queue, Job.worker != "", Job.started_at >= since
        )
    )
    return max(int(seen or 0), 1)


def waiting(db: Session, submission_ids: list[int], *, workers: int | None) -> dict[int, Waiting]:
    """For each of these submissions that has a queued grading: where it waits."""
    if not submission_ids:
        return {}
    jobs = db.scalars(
        select(Job).where(Job.submission_id.in_(submission_ids), Job.state == "queued")
    ).all()
    out: dict[int, Waiting] = {}
    per_queue: dict[str, tuple[float, int]] = {}
    for job in jobs:
        if job.queue not in per_queue:
            per_queue[job.queue] = (
                grading_time(db, job.queue),
                parallel(db, job.queue, workers),
            )
        each_s, lanes = per_queue[job.queue]
        # One query for both counts: the queue's running jobs, and its queued ones ahead.
        running, ahead = db.execute(
            select(
                func.count().filter(Job.state == "running"),
                func.count().filter(Job.state == "queued", Job.id < job.id),
            ).where(Job.queue == job.queue, Job.state.in_(("queued", "running")))
        ).one()
        position = int(ahead or 0) + 1
        running = int(running or 0)
        # This job starts once the running ones and those ahead have made room, then takes
        # one grading's time: rounds of `lanes` gradings at a time.
        rounds = (position - 1 + running) // lanes + 1
        estimate = -(-rounds * each_s // 10) * 10
        current = out.get(job.submission_id)
        if current is None or position < current.position:
            out[job.submission_id] = Waiting(position, running, int(estimate))
    return out


def said(w: Waiting) -> str:
    """The applicant's words: "3rd in the queue, ready in about 2 min"."""
    place = "next in the queue" if w.position == 1 else f"{_ordinal(w.position)} in the queue"
    minutes = w.estimate_s / 60
    when = (
        "in under a minute"
        if w.estimate_s < 60
        else f"in about {round(minutes)} min"
        if minutes < 90
        else f"in about {minutes / 60:.1f} h"
    )
    return f"{place}, checked {when}"


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"
