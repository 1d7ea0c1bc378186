"""The contract between the service and whatever runs its grading jobs.

A leaf module: the services hold a queue and the queues hold the services, so the shape
of a queue and the Celery task's name live here, apart from both.
"""

from __future__ import annotations

from typing import Protocol

GRADE_TASK = "assess.grade"  # the Celery task a worker runs for one job id


class JobQueue(Protocol):
    """Runs stored jobs: the in-process pool or Celery workers (api.queue)."""

    name: str

    def start(self) -> None: ...
    def enqueue(self, job_id: int, queue: str) -> None: ...
    def stop(self) -> None: ...
    def health(self) -> str: ...
