"""Celery for scale-out: the service publishes job ids; ``assess worker`` runs them.

Workers share the database and the submission storage with the service (PostgreSQL and a
shared folder across machines; the same SQLite file on one machine). Late acks and
``reject_on_worker_lost`` return a job's message to the broker when its worker dies; the
job row's atomic claim and the idempotent result write make a second delivery harmless.
Retries are bounded: :data:`api.grading.MAX_ATTEMPTS` per job.
"""

from __future__ import annotations

import os
from typing import Any

from celery import Celery, Task
from kombu import Queue

from api.job_queue import GRADE_TASK

_SERVICES: dict[int, Any] = {}


def make_celery(broker_url: str) -> Celery:
    app = Celery("assess", broker=broker_url)
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        task_acks_on_failure_or_timeout=True,
        worker_prefetch_multiplier=1,
        task_ignore_result=True,
        task_queues=(Queue("cpu"), Queue("gpu")),
        task_default_queue="cpu",
        broker_connection_retry_on_startup=True,
        broker_transport_options={"visibility_timeout": 4 * 3600},
        worker_hijack_root_logger=False,
    )

    @app.task(name=GRADE_TASK, bind=True, max_retries=5)  # type: ignore[untyped-decorator]
    def grade(self: Task, job_id: int) -> str:
        from api.grading import Outcome, run_job

        outcome = run_job(_worker_services(), job_id)
        if outcome in (Outcome.retry, Outcome.busy):
            # Infrastructure failure (bounded by the job's attempts) or held by a worker
            # that may have died: try again later; the claim decides who runs it.
            raise self.retry(countdown=2 if outcome == Outcome.retry else 60)
        return outcome.value

    return app


def _worker_services() -> Any:
    """The worker process's services, built from the environment once per process."""
    pid = os.getpid()
    if pid not in _SERVICES:
        from api.core.config import Settings
        from api.services import build_services

        services = build_services(Settings())
        services.worker_name = f"celery@{os.uname().nodename}:{pid}"
        _SERVICES[pid] = services
    return _SERVICES[pid]


def run_worker(broker_url: str, queues: list[str], concurrency: int, loglevel: str) -> None:
    """Run a Celery worker in this process (``assess worker``)."""
    app = make_celery(broker_url)
    app.worker_main(
        [
            "worker",
            f"--queues={','.join(queues)}",
            f"--concurrency={concurrency}",
            f"--loglevel={loglevel}",
            "--without-gossip",
            "--without-mingle",
            "--hostname=assess@%h",
        ]
    )
