"""Reviewer dashboard: page times with 10,000 submissions, on SQLite and on PostgreSQL.

For each backend: a fresh database, migrated; submissions (each with a grading whose report
is a realistic ~3 KB JSON) inserted directly through the models, in two steps — first 100,
then up to --rows. After each step a real service process (`assess serve`, no workers)
serves the reviewer's dashboard page (/review, HTML) and the JSON list
(/api/v1/submissions) for a mix of pages, sorts and filters; p50/p95 are printed with the
ratio of the p95 at --rows to the p95 at 100 rows (how the page scales with the table).

    .venv/bin/python bench/dashboard.py            # SQLite and PostgreSQL (ensure-postgres.sh)
    .venv/bin/python bench/dashboard.py --backends sqlite --rows 2000
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.liveservice import Client, LiveService, people, settings_for  # noqa: E402

QUERIES = [
    "page={page}",
    "page={page}&sort=score&order=desc",
    "page={page}&status=graded",
    "page={page}&sort=received&order=asc",
    "page={page}&per_page=200",
]


def percentile(xs: list[float], p: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, round(p / 100 * (len(s) - 1)))]


@contextmanager
def postgres_db() -> Iterator[str]:
    import psycopg

    out = subprocess.run(
        ["bash", str(REPO / "scripts" / "ensure-postgres.sh")],
        capture_output=True, text=True, timeout=600, check=True,
    )  # fmt: skip
    server = out.stdout.strip().splitlines()[-1]
    name = f"assess_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield server.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def insert(settings: Any, start: int, stop: int, applicants: int = 2000) -> float:
    """Insert submissions [start, stop) with a grading each; return the seconds taken."""
    from sqlalchemy import func, select

    from api.core.db import make_engine, session_factory
    from api.core.security import token_hash
    from api.models import Applicant, Cohort, Submission, TaskRow, utcnow

    rng = random.Random(start)
    engine = make_engine(settings.db_url)
    t = time.perf_counter()
    try:
        with session_factory(engine)() as session, session.begin():
            cohort = session.scalar(select(Cohort))
            task = session.scalar(select(TaskRow))
            assert cohort is not None and task is not None
            have = session.scalar(select(func.count(Applicant.id))) or 0
            now = utcnow()
            for i in range(have, applicants):
                session.add(
                    Applicant(
                        cohort_id=cohort.id, email=f"b{i}@example.org", name=f"B{i}",
                        token_hash=token_hash(f"bench-{i}"),
                        token_expires_at=now + timedelta(days=30),
                    )
                )  # fmt: skip
            session.flush()
            ids = list(session.scalars(select(Applicant.id)))
            report = _report(task.id, task.digest)
            for n in range(start, stop):
                score = rng.choice([0.0, 2.0, 10.0])
                sub = Submission(
                    applicant_id=ids[n % len(ids)], task_id=task.id, cohort_id=cohort.id,
                    blob_sha256=f"{n:064x}", filename="s.zip", size=215,
                    content_sha256=f"{n:064x}", files=1,
                    received_at=now - timedelta(seconds=rng.randint(0, 86400 * 30)),
                    status="graded", score=score, max_score=10.0, task_score=score / 10,
                )  # fmt: skip
                add_graded(session, sub, task.digest, score, report)
    finally:
        engine.dispose()
    return time.perf_counter() - t


def add_graded(session: Any, sub: Any, digest: str, score: float, report: str) -> None:
    """Store `sub` with one grading (its report) and point the submission at it."""
    from api.models import Grading

    session.add(sub)
    session.flush()
    g = Grading(
        submission_id=sub.id, task_digest=digest, task_version="1.0.0", status="graded",
        score=score, max_score=10.0, report_json=report, differences={"items": []},
    )  # fmt: skip
    session.add(g)
    session.flush()
    sub.grading_id = g.id


def _report(task_id: str, digest: str) -> str:
    return json.dumps(
        {
            "schema": "assess.report/1",
            "task": {"id": task_id, "version": "1.0.0", "digest": digest},
            "status": "graded",
            "score": 10.0,
            "max_score": 10.0,
            "checks": [
                {
                    "id": f"c{i}",
                    "name": f"Check {i}",
                    "score": 1.0,
                    "max_score": 1.0,
                    "visibility": "reviewer",
                    "feedback": "x" * 120,
                }
                for i in range(10)
            ],
            "logs": {"run": "log line\n" * 150, "check": ""},
        }
    )


def measure(url: str, rounds: int, rows: int) -> dict[str, list[float]]:
    reviewer = Client.reviewer(url)
    pages = max(1, rows // 50)
    out: dict[str, list[float]] = {"/review (HTML)": [], "/api/v1/submissions": []}
    rng = random.Random(7)
    try:
        for path, key in (("/review", "/review (HTML)"), ("/api/v1/submissions", None)):
            reviewer.http.get(path).raise_for_status()  # warm
            for r in range(rounds):
                q = QUERIES[r % len(QUERIES)].format(page=rng.randint(1, max(1, pages // 4)))
                t = time.perf_counter()
                resp = reviewer.http.get(f"{path}?{q}")
                resp.raise_for_status()
                out[key or path].append(time.perf_counter() - t)
    finally:
        reviewer.close()
    return out


def bench_backend(backend: str, database_url: str, rows: int, rounds: int) -> None:
    with tempfile.TemporaryDirectory(prefix="assess-dashboard-") as tmp:
        data = Path(tmp) / "data"
        settings = settings_for(data, database_url)
        people(settings, 1, ["py-exec"])
        results: dict[int, dict[str, list[float]]] = {}
        done = 0
        for step in (100, rows):
            took = insert(settings, done, step)
            print(f"{backend}: inserted {step - done} submissions in {took:.1f} s")
            done = step
            svc = LiveService(data, workers=0, database_url=database_url,
                              log=Path(tmp) / "service.log").start()  # fmt: skip
            try:
                results[step] = measure(svc.url, rounds, step)
            finally:
                svc.stop()
        for key in results[rows]:
            small, big = results[100][key], results[rows][key]
            p95, p95_small = percentile(big, 95) * 1000, percentile(small, 95) * 1000
            print(
                f"{backend:10s} {key:22s} rows {rows:6d}: "
                f"p50 {statistics.median(big) * 1000:6.1f} ms  p95 {p95:6.1f} ms   "
                f"(100 rows: p95 {p95_small:5.1f} ms; ratio {p95 / p95_small:4.2f})"
            )


def for_each_backend(names: str, run: Callable[[str, str], object]) -> int:
    """Run `run(backend, database_url)` for each of the comma-separated backends (SQLite in
    the service's data dir; a fresh PostgreSQL database); 2 for an unknown name."""
    for backend in names.split(","):
        if backend == "sqlite":
            run("sqlite", "")
        elif backend == "postgresql":
            with postgres_db() as url:
                run("postgresql", url)
        else:
            print(f"unknown backend {backend}", file=sys.stderr)
            return 2
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=10_000)
    ap.add_argument("--rounds", type=int, default=60, help="requests per page kind")
    ap.add_argument("--backends", default="sqlite,postgresql")
    args = ap.parse_args()
    return for_each_backend(
        args.backends, lambda name, url: bench_backend(name, url, args.rows, args.rounds)
    )


if __name__ == "__main__":
    sys.exit(main())
