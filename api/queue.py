"""Where ``grade`` jobs run: an in-process pool (default) or Celery workers (``--broker``).

The job itself is a row in ``jobs``; a queue only decides who runs it. The in-process pool
polls the table, so queued jobs resume after a restart without any broker; jobs that were
running when the process died are queued again at start-up (this process owned them).

Judging (:mod:`api.judging`) has its own queue, ``judge``: its jobs are rows in the same
table, run by their own threads (:class:`JudgeWorkers`, ``Settings.judge_workers``) in the
service process, whichever queue runs the gradings, so a grading never waits on the judge
and a slow model never holds a grading thread. With Celery the judge's jobs are not
published to the broker: the service's judge threads run them (the model stays loaded in
one process).
"""

from __future__ import annotations

import logging
import os
import threading
import time

from sqlalchemy import ColumnElement, select, update

from api.grading import Outcome, run_job
from api.job_queue import GRADE_TASK
from api.job_queue import JobQueue as JobQueue  # re-exported: the queues' contract
from api.judging import QUEUE as JUDGE_QUEUE
from api.models import Job
from api.services import DockerGrading, Services, holder_is_dead

log = logging.getLogger("assess.queue")
POLL_S = 1.0
RESEND_S = 2.0


def preparing(workers: int) -> int:
    """Threads the pool adds to its `workers` on the Docker sandbox: gradings that create,
    start and remove their containers, and write their results, while `workers` commands
    run. A grading spends most of its time outside its commands (two container starts, two
    removals, the report); with only `workers` threads the cores idled through those steps."""
    return max(1, workers // 2)


def pool_size(configured: int, task_cpus: list[float]) -> int:
    """The pool's workers (commands at once): the configured number, capped by cores / the
    largest task's CPUs."""
    cores = os.cpu_count() or 1
    widest = max([1.0, *task_cpus])
    return max(1, min(configured, int(cores // widest) or 1))


class InProcessQueue:
    """Threads in this process that claim queued jobs from the database.

    `workers` is how many gradings run their commands at once (each command gets the CPUs
    its task's limits give it). On the Docker sandbox the pool runs :func:`preparing` more
    gradings than that, which wait for one of the `workers` command slots only to run a
    command; with a stand-in grading function it runs exactly `workers`."""

    name = "in-process"

    def __init__(self, services: Services, workers: int, judge_workers: int | None = None) -> None:
        self.services = services
        self.workers = workers
        self.threads = workers
        grade = services.grade_fn
        if workers and isinstance(grade, DockerGrading):
            grade.run_commands_at_most(workers)
            self.threads = workers + preparing(workers)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.judge = JudgeWorkers(services, judge_workers)

    # The jobs these threads take: every queue but the judge's.
    def _mine(self) -> ColumnElement[bool]:
        return Job.queue != JUDGE_QUEUE

    def start(self) -> None:
        with self.services.sessions() as session, session.begin():
            session.execute(
                update(Job)
                .where(Job.state == "running")
                .values(state="queued", started_at=None)
                .execution_options(synchronize_session=False)
            )
        if self.services.reap is not None:
            self.services.reap()  # containers of the gradings that the dead process ran
        for i in range(self.threads):
            t = threading.Thread(target=self._loop, name=f"assess-worker-{i}", daemon=True)
            t.start()
            self._threads.append(t)
        self.judge.start()

    def enqueue(self, job_id: int, queue: str) -> None:
        if queue == JUDGE_QUEUE:
            self.judge.enqueue(job_id, queue)
        else:
            self._wake.set()

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        self._wake.set()
        self.judge.signal_stop()
        deadline = time.monotonic() + timeout
        for t in self._threads:
            t.join(max(0.0, deadline - time.monotonic()))
        self._threads.clear()
        self.judge.stop(max(0.0, deadline - time.monotonic()))

    def health(self) -> str:
        if self.workers == 0:
            return "ok (enqueue only: no in-process workers)" + self.judge.health_suffix()
        alive = sum(t.is_alive() for t in self._threads)
        if alive != self.threads:
            return f"{alive}/{self.threads} workers alive"
        return "ok" + self.judge.health_suffix()

    def _next(self) -> int | None:
        with self.services.sessions() as session:
            return session.scalar(
                select(Job.id).where(Job.state == "queued", self._mine()).order_by(Job.id).limit(1)
            )

    def _release(self, job_id: int) -> None:
        """Queue again a job this process holds but could not finish (the database kept
        refusing its result): it is re-run rather than left ``running`` until a restart."""
        with self.services.sessions() as session, session.begin():
            session.execute(
                update(Job)
                .where(
                    Job.id == job_id,
                    Job.state == "running",
                    Job.worker == self.services.worker_name,
                )
                .values(state="queued", started_at=None)
                .execution_options(synchronize_session=False)
            )

    def _loop(self) -> None:
        unfinished: int | None = None
        while not self._stop.is_set():
            try:
                if unfinished is not None:
                    self._release(unfinished)
                    unfinished = None
                job_id = self._next()
                if job_id is None:
                    self._wake.wait(POLL_S)
                    self._wake.clear()
                    continue
                unfinished = job_id
                outcome = run_job(self.services, job_id)
                unfinished = None
                if outcome == Outcome.retry:
                    self._stop.wait(POLL_S)  # a short pause before the retry
            except Exception:  # the database went away for a moment: keep the thread
                log.exception("worker loop error")
                self._stop.wait(POLL_S)


class JudgeWorkers(InProcessQueue):
    """Threads of this process that run the judge's queue (``Settings.judge_workers``).

    Started by either grading queue. At start-up the judging jobs that a dead process (or
    this one, before a restart) left running are queued again."""

    name = "judge"

    def __init__(self, services: Services, workers: int | None = None) -> None:
        self.services = services
        self.workers = services.settings.judge_workers if workers is None else workers
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._threads = []

    def _mine(self) -> ColumnElement[bool]:
        return Job.queue == JUDGE_QUEUE

    def start(self) -> None:
        if self.workers == 0:
            return
        with self.services.sessions() as session, session.begin():
            held = session.execute(
                select(Job.id, Job.worker).where(Job.state == "running", self._mine())
            ).all()
            lost = [i for i, w in held if w == self.services.worker_name or holder_is_dead(w)]
            if lost:
                session.execute(
                    update(Job)
                    .where(Job.id.in_(lost), Job.state == "running")
                    .values(state="queued", started_at=None)
                    .execution_options(synchronize_session=False)
                )
        for i in range(self.workers):
            t = threading.Thread(target=self._loop, name=f"assess-judge-{i}", daemon=True)
            t.start()
            self._threads.append(t)

    def enqueue(self, job_id: int, queue: str) -> None:
        self._wake.set()

    def signal_stop(self) -> None:
        self._stop.set()
        self._wake.set()

    def stop(self, timeout: float = 30.0) -> None:
        self.signal_stop()
        deadline = time.monotonic() + timeout
        for t in self._threads:
            t.join(max(0.0, deadline - time.monotonic()))
        self._threads.clear()

    def health_suffix(self) -> str:
        """The judge threads, for the queue's health line ("" when all are alive)."""
        if self.workers == 0:
            return ""
        alive = sum(t.is_alive() for t in self._threads)
        return "" if alive == self.workers else f"; {alive}/{self.workers} judge workers alive"


class CeleryQueue:
    """Publishes jobs to Celery workers through the broker (queues ``cpu`` and ``gpu``)."""

    name = "celery"

    def __init__(self, services: Services, broker_url: str) -> None:
        from api.celery_app import make_celery

        self.services = services
        self.app = make_celery(broker_url)
        # Jobs stored but not yet published (the broker was away): sent again until it answers.
        self._unsent: dict[int, str] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.judge = JudgeWorkers(services)

    def start(self) -> None:
        # Re-publish what is still queued: a job sent before a restart may be sent twice,
        # which is harmless (a worker's claim is atomic and the result write idempotent).
        with self.services.sessions() as session:
            queued = session.execute(
                select(Job.id, Job.queue).where(Job.state == "queued", Job.queue != JUDGE_QUEUE)
            ).all()
        self._thread = threading.Thread(target=self._resend, name="assess-publish", daemon=True)
        self._thread.start()
        for job_id, queue in queued:
            self.enqueue(job_id, queue)
        self.judge.start()

    def enqueue(self, job_id: int, queue: str) -> None:
        """Publish the job; when the broker does not answer, keep it and publish it later
        (the job row is already stored, so the upload itself has succeeded). A judging job
        wakes this process's judge threads instead."""
        if queue == JUDGE_QUEUE:
            self.judge.enqueue(job_id, queue)
            return
        try:
            self._publish(job_id, queue)
        except Exception as e:  # kombu's OperationalError and friends: the broker is away
            why = f"{type(e).__name__}: {e}"
            log.warning("job %s not published yet (%s); will retry", job_id, why)
            with self._lock:
                self._unsent[job_id] = queue

    def _publish(self, job_id: int, queue: str) -> None:
        self.app.send_task(GRADE_TASK, args=[job_id], queue=queue)

    def _resend(self) -> None:
        while not self._stop.wait(RESEND_S):
            with self._lock:
                pending = dict(self._unsent)
            for job_id, queue in pending.items():
                try:
                    self._publish(job_id, queue)
                except Exception:
                    break  # still away: try again later
                with self._lock:
                    self._unsent.pop(job_id, None)
                log.info("job %s published", job_id)

    def stop(self) -> None:
        self._stop.set()
        self.judge.stop()
        if self._thread is not None:
            self._thread.join(10)
        self.app.close()

    def health(self) -> str:
        try:
            with self.app.connection_for_write() as conn:
                conn.ensure_connection(max_retries=1, timeout=2)
        except Exception as e:  # any broker error means "not ready"; say which
            return f"broker unreachable: {type(e).__name__}: {e}"
        with self._lock:
            unsent = len(self._unsent)
        text = f"ok ({unsent} jobs waiting to be published)" if unsent else "ok"
        return text + self.judge.health_suffix()
