"""Where one grading's time goes: every step of a trivial grading, median over rounds.

Grades the py-exec fixture's solution `--rounds` times through the library (the pipeline
and the Docker sandbox, timed by grader.spans), then the same through a service's job
runner (api.grading.run_job, SQLite, the report and database writes included), and measures
in the same run the floor (two bare `docker run`s of the same image, user and network) and
`assess grade` as a process. Prints one table per path, in milliseconds, with the part no
span covers as "other" (Python work between steps: copying task files, hashing, the report).

    .venv/bin/python bench/profile_grading.py --rounds 10
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import docker

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.grading_overhead import TASK, bare_pair, grade_command  # noqa: E402
from bench.liveservice import ASSESS, zip_bytes  # noqa: E402
from grader.images import image_ref  # noqa: E402
from grader.pipeline import grade  # noqa: E402
from grader.report import Status  # noqa: E402
from grader.sandbox import docker_sandbox  # noqa: E402
from grader.spans import recording  # noqa: E402
from grader.task import load_task  # noqa: E402


def profile(rounds: int, one: Callable[[], None]) -> tuple[dict[str, float], float]:
    """Median seconds per span name (summed within a round) and the median round."""
    per: dict[str, list[float]] = defaultdict(list)
    totals = []
    one()  # warm
    for _ in range(rounds):
        t = time.perf_counter()
        with recording() as spans:
            one()
        totals.append(time.perf_counter() - t)
        summed: dict[str, float] = defaultdict(float)
        for name, seconds in spans:
            summed[name] += seconds
        for name, seconds in summed.items():
            per[name].append(seconds)
    return {k: statistics.median(v) for k, v in per.items()}, statistics.median(totals)


# Steps timed in a thread of their own while the grading goes on (grader.sandbox: the check
# container starts ahead, during the run phase): shown, not counted in the sum.
CONCURRENT = {"check.start"}


def table(title: str, spans: dict[str, float], total: float, nested: set[str]) -> None:
    print(f"\n{title}: median {total * 1000:.0f} ms per grading")
    print("| step | ms |\n|---|---:|")
    covered = 0.0
    for name, seconds in sorted(spans.items(), key=lambda kv: -kv[1]):
        aside = name in CONCURRENT
        print(f"| {name}{' (alongside the run phase)' if aside else ''} | {seconds * 1000:.0f} |")
        covered += 0 if name in nested or aside else seconds
    print(f"| other (between steps) | {(total - covered) * 1000:.0f} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=10)
    args = ap.parse_args()
    client = docker.from_env()
    sandbox = docker_sandbox()
    task = load_task(TASK)
    image = image_ref(task.spec.image)

    def library() -> None:
        report = grade(task, task.solution, sandbox=sandbox)
        assert report.status == Status.graded and report.score == report.max_score

    lib, lib_total = profile(args.rounds, library)
    svc, svc_total = _service_profile(args.rounds)
    floor = statistics.median(bare_pair(client, image) for _ in range(args.rounds))
    with tempfile.TemporaryDirectory() as out:
        cli = []
        for _ in range(args.rounds):
            t = time.perf_counter()
            subprocess.run(grade_command(out), check=True, capture_output=True)
            cli.append(time.perf_counter() - t)
        help_s = []
        for _ in range(args.rounds):
            t = time.perf_counter()
            subprocess.run([str(ASSESS), "--help"], check=True, capture_output=True)
            help_s.append(time.perf_counter() - t)
    print(f"rounds: {args.rounds}  image: {image}")
    print(f"floor: two bare docker runs     median {floor * 1000:.0f} ms")
    print(f"`assess grade` as a process    median {statistics.median(cli) * 1000:.0f} ms")
    print(f"`assess --help`                median {statistics.median(help_s) * 1000:.0f} ms")
    # Service spans nest the library's: "grade" holds every run.* / check.* / scratch.* span.
    table("library (grader.pipeline.grade)", lib, lib_total, nested=set())
    inner = {k for k in svc if not k.startswith("service.") and k != "grade"}
    table("service job (api.grading.run_job)", svc, svc_total, nested=inner)


def _service_profile(rounds: int) -> tuple[dict[str, float], float]:
    """Upload rounds+1 distinct submissions to an in-process app without workers, then run
    each job with the service's own job runner under the span recorder."""
    from fastapi.testclient import TestClient
    from sqlalchemy import select

    from api.app import create_app
    from api.core.db import transaction
    from api.grading import run_job
    from api.models import Job
    from bench.liveservice import people, settings_for

    with tempfile.TemporaryDirectory() as tmp:
        settings = settings_for(Path(tmp) / "data")
        token = people(settings, applicants=1, tasks=["py-exec"]).tokens[0]
        app = create_app(settings)
        with TestClient(app) as http:
            services = app.state.services
            http.headers["Authorization"] = f"Bearer {token}"
            for i in range(rounds + 1):
                body = zip_bytes({"main.py": f"ANSWER = 6 * 7  # {i}\n"})
                r = http.post(
                    "/api/v1/me/tasks/py-exec/submissions",
                    files={"file": (f"s{i}.zip", body, "application/zip")},
                )
                assert r.status_code == 201, r.text
            with transaction(services.sessions) as db:
                jobs = list(db.scalars(select(Job.id).order_by(Job.id)))
            pending = iter(jobs)
            return profile(rounds, lambda: run_job(services, next(pending)))


if __name__ == "__main__":
    main()
