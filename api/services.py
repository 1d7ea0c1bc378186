"""What the routes and workers depend on, built once by the app factory (or a worker).

Passed explicitly (``app.state.services`` → typed dependencies in ``api.deps``), never
looked up from globals, so tests build as many independent services as they like.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from api.core.config import Settings
from api.core.db import make_engine, session_factory
from api.job_queue import JobQueue
from api.storage import BlobStore

if TYPE_CHECKING:
    from grader.report import Report
    from grader.task import Task

log = logging.getLogger("assess.services")
# How often gradings that ended well look for sandbox leftovers (of dead processes, or of
# a removal the engine refused); one that ended in an error looks at once.
REAP_EVERY_S = 60.0

# (task, submission file, artifacts folder) -> report. The default is grader.grade on the
# Docker sandbox; tests may pass another function with the same contract.
GradeFn = Callable[["Task", Path, Path], "Report"]


@dataclass
class Services:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    blobs: BlobStore
    secret: bytes
    grade_fn: GradeFn
    queue: JobQueue | None = None
    worker_name: str = field(default_factory=lambda: process_name("service"))
    # Removes sandbox leftovers of dead processes (set with the Docker grading function).
    reap: Callable[[], None] | None = None
    # Each task's upload cap in bytes, for cutting a body off while it arrives.
    upload_limits: dict[str, int] = field(default_factory=dict)


def process_name(kind: str) -> str:
    """Who runs a job: ``kind@host:pid``, so a job held by a dead process can be taken over."""
    return f"{kind}@{os.uname().nodename}:{os.getpid()}"


def holder_is_dead(name: str) -> bool:
    """True when `name` (see :func:`process_name`) is a process on this host that is gone.

    Conservative: another host, an unparsable name or a live pid is never "dead"."""
    host, _, pid = name.partition("@")[2].rpartition(":")
    if host != os.uname().nodename or not pid.isdigit():
        return False
    try:
        with open(f"/proc/{pid}/stat") as f:  # a zombie is dead too (its parent has not reaped)
            return f.read().rsplit(")", 1)[-1].split()[0] == "Z"
    except FileNotFoundError:
        return True
    except OSError:
        return False


class DockerGrading:
    """grader.grade on the Docker engine, cleaning up after itself and after dead processes.

    Each grading gets its own sandbox owner label (``assess@host:pid:tag``). The sandbox
    removes its containers in a ``finally``; when it cannot (the engine restarted under it)
    or never gets there (the process was killed), :meth:`reap` removes what remains: the
    leftovers of this process's finished gradings, and anything owned by a dead process.
    A grading that ended in an error is reaped after at once; one that ended well removed
    all it made, so the listing (two engine calls, ~12 ms of CPU) runs at most every
    :data:`REAP_EVERY_S` then, unless the last look could not finish (the engine away, a
    removal refused): then the next grading looks again, whatever its end.
    """

    def __init__(self, runtime: str = "") -> None:
        import threading

        self.runtime = runtime or None

        self._lock = threading.Lock()
        self._client: Any = None
        # Set by the in-process pool: how many gradings' commands may run at once, when it
        # runs more gradings than that (see :meth:`run_commands_at_most`).
        self.slots: threading.Semaphore | None = None
        self._finished: set[str] = set()  # owners whose grading ended; reaped when possible
        self._reap_after = 0.0  # monotonic time after which a good grading reaps again

    def _docker(self) -> Any:
        from grader.sandbox.docker import DockerSandbox

        with self._lock:
            if self._client is None:
                self._client = DockerSandbox().client
            return self._client

    def __call__(self, task: Task, submission: Path, artifacts: Path) -> Report:
        import uuid

        import grader
        from grader.report import Status
        from grader.sandbox.docker import DockerSandbox

        sandbox = DockerSandbox(self._docker(), runtime=self.runtime, slots=self.slots)
        sandbox.owner = f"{process_name('assess')}:{uuid.uuid4().hex[:12]}"
        clean = False
        try:
            report = grader.grade(task, submission, sandbox=sandbox, artifacts_dir=artifacts)
            clean = report.status is not Status.error
            return report
        finally:
            with self._lock:
                self._finished.add(sandbox.owner)
                due = not clean or time.monotonic() >= self._reap_after
            if due:
                self.reap()

    def run_commands_at_most(self, n: int) -> None:
        """Let at most `n` of this process's gradings run their commands at once, however
        many gradings it runs at once (the rest create, start and remove containers)."""
        import threading

        self.slots = threading.BoundedSemaphore(n)

    def reap(self) -> None:
        """Remove what finished or dead gradings left in the engine (best effort, logged)."""
        from docker.errors import NotFound

        from grader.sandbox.docker import OWNER_LABEL

        try:
            client = self._docker()
            with self._lock:
                finished = set(self._finished)
                self._reap_after = time.monotonic() + REAP_EVERY_S

            def gone(owner: str) -> bool:
                return owner in finished or (
                    owner.startswith("assess@") and holder_is_dead(owner.rsplit(":", 1)[0])
                )

            failed: set[str] = set()
            flt = {"label": OWNER_LABEL}
            for c in client.containers.list(all=True, filters=flt):
                owner = c.labels.get(OWNER_LABEL, "")
                if gone(owner):
                    try:
                        c.remove(force=True, v=True)
                    except NotFound:  # removed meanwhile (by its own grading): done
                        pass
                    except Exception:  # anything else: next time
                        failed.add(owner)
            for v in client.volumes.list(filters=flt):
                owner = (v.attrs.get("Labels") or {}).get(OWNER_LABEL, "")
                if gone(owner):
                    try:
                        v.remove(force=True)
                    except NotFound:
                        pass
                    except Exception:
                        failed.add(owner)
            with self._lock:
                self._finished -= finished - failed
                if failed:  # refused this time: the next grading looks again
                    self._reap_after = 0.0
        except Exception as e:  # the engine is away: the next grading looks again
            with self._lock:
                self._reap_after = 0.0
            log.warning("could not clean up sandbox leftovers: %s: %s", type(e).__name__, e)


def docker_grade_fn(runtime: str = "") -> GradeFn:
    """grader.grade on one shared Docker client (connected on first use)."""
    return DockerGrading(runtime)


def build_services(settings: Settings, grade_fn: GradeFn | None = None) -> Services:
    """Connect (lazily) to the database and storage that `settings` name."""
    engine = make_engine(settings.db_url)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    grade = grade_fn or docker_grade_fn(settings.sandbox_runtime)
    return Services(
        settings=settings,
        engine=engine,
        sessions=session_factory(engine),
        blobs=BlobStore(settings.blob_dir),
        secret=settings.secret(),
        grade_fn=grade,
        reap=grade.reap if isinstance(grade, DockerGrading) else None,
    )
