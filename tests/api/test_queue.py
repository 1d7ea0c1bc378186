"""The in-process queue: jobs persist in the database, survive restarts, retry a bounded
number of times, and write each result once."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sqlalchemy import func, select, update

from api.grading import MAX_ATTEMPTS, run_job, store_result
from api.models import Grading, Job, Submission
from api.queue import pool_size
from api.services import Services
from grader.report import Report
from grader.task import Task
from tests.api.conftest import RIGHT, Service, add_user, fake_grade


def _setup(svc: Service) -> object:
    add_user(svc, "ops", "operator")
    ops = svc.login("ops")
    ops.post("/api/v1/cohorts", json={"name": "c", "tasks": ["py-exec"]})
    token = ops.post("/api/v1/invitations", json={"cohort": "c", "email": "a@x.org"}).json()[
        "token"
    ]
    return token


def _services(svc: Service) -> Services:
    s: Services = svc.client.app.state.services  # type: ignore[attr-defined]
    return s


def test_queued_jobs_resume_after_a_restart(service_factory: Callable[..., Service]) -> None:
    first = service_factory(workers=0)  # enqueue only: nothing grades
    token = _setup(first)
    alice = first.applicant(str(token))
    sid = first.upload(alice, RIGHT).json()["id"]
    assert alice.get(f"/api/v1/me/submissions/{sid}").json()["status"] == "queued"
    first.client.__exit__(None, None, None)  # the service stops with the job still queued

    second = service_factory(workers=1)  # same database and storage
    again = second.applicant(str(token))
    assert second.wait(again, sid)["status"] == "graded"


def test_jobs_running_when_the_process_died_are_run_again(
    service_factory: Callable[..., Service],
) -> None:
    first = service_factory(workers=0)
    token = _setup(first)
    sid = first.upload(first.applicant(str(token)), RIGHT).json()["id"]
    with _services(first).sessions() as session, session.begin():
        session.execute(update(Job).values(state="running", attempts=1))
    first.client.__exit__(None, None, None)
    second = service_factory(workers=1)
    assert second.wait(second.applicant(str(token)), sid)["status"] == "graded"


def test_infrastructure_failures_retry_then_fail(service_factory: Callable[..., Service]) -> None:
    calls: list[int] = []

    def broken(task: Task, submission: Path, artifacts: Path) -> object:
        calls.append(1)
        raise RuntimeError("engine went away")

    svc = service_factory(grade_fn=broken)
    token = _setup(svc)
    alice = svc.applicant(str(token))
    sid = svc.upload(alice, RIGHT).json()["id"]
    assert svc.wait(alice, sid, timeout=60)["status"] == "error"
    assert len(calls) == MAX_ATTEMPTS
    with _services(svc).sessions() as session:
        job = session.scalar(select(Job))
        assert job is not None and job.state == "failed" and "engine went away" in job.error


def test_result_write_is_idempotent(service_factory: Callable[..., Service]) -> None:
    svc = service_factory(workers=0)
    token = _setup(svc)
    sid = svc.upload(svc.applicant(str(token)), RIGHT).json()["id"]
    services = _services(svc)
    from api import catalog
    from api.storage import BlobStore

    with services.sessions() as session:
        job = session.scalar(select(Job))
        assert job is not None
        job_id = job.id
    assert run_job(services, job_id).value == "done"
    assert run_job(services, job_id).value == "gone"  # delivered twice: no second grading
    with services.sessions() as session:
        from api.models import TaskRow

        sub = session.get(Submission, sid)
        assert sub is not None
        task_row = session.get(TaskRow, sub.task_id)
        assert task_row is not None
        blob = BlobStore(services.settings.blob_dir).open_verified(sub.blob_sha256, ".zip")
        report = fake_grade(catalog.load(task_row.root), blob, services.settings.data_dir / "x")
    first = _store(services, sid, report)
    second = _store(services, sid, report)
    assert first == second
    with services.sessions() as session:
        assert session.scalar(select(func.count(Grading.id))) == 1


def _store(services: Services, sub_id: int, report: Report) -> int:
    """A report stored as a job stores it: in a transaction, the submission read for update."""
    with services.sessions() as session, session.begin():
        sub = session.get(Submission, sub_id, with_for_update=True)
        assert sub is not None
        return store_result(session, sub, report, actor="test")


def test_pool_size_from_cores_and_task_resources() -> None:
    import os

    cores = os.cpu_count() or 1
    assert pool_size(64, [1.0]) == cores
    assert pool_size(1, [1.0]) == 1
    assert pool_size(64, [float(cores * 2)]) == 1


def test_on_docker_the_pool_prepares_gradings_while_its_workers_run_commands(
    tmp_path: Path,
) -> None:
    # Workers = commands at once; on the Docker sandbox the pool runs more gradings, which
    # take one of the workers' command slots only to run a command. A stand-in grading
    # function gets exactly the workers it was given.
    from api.core.config import Settings
    from api.queue import InProcessQueue, preparing
    from api.services import DockerGrading, build_services

    settings = Settings(data_dir=tmp_path, secret_key="k", workers=0)
    docker_grading = DockerGrading()
    on_docker = InProcessQueue(build_services(settings, docker_grading), 2, judge_workers=0)
    assert on_docker.workers == 2 and on_docker.threads == 2 + preparing(2) == 3
    assert docker_grading.slots is not None
    taken = [docker_grading.slots.acquire(blocking=False) for _ in range(3)]
    assert taken == [True, True, False]  # two commands at once, however many gradings
    stand_in = InProcessQueue(build_services(settings, fake_grade), 2, judge_workers=0)
    assert stand_in.threads == 2
    assert [preparing(n) for n in (1, 2, 3, 8)] == [1, 1, 1, 4]
