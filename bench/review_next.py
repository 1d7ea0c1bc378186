"""Review page "Next": page times with 10,000 submissions, on SQLite and on PostgreSQL.

For each backend: a fresh database, migrated; --rows submissions (each with a grading whose
report is a realistic ~3 KB JSON, and a real stored upload: a write-up and code, which the
page opens and renders) inserted through the models. A real service process (`assess
serve`, no workers) serves the reviewer's review page; the benchmark follows its "Next"
link (`id="nav-next"`) from the first submission and from the last page of the dashboard,
for several filters and sorts, timing each page. A static file (/static/style.css) is
timed in the same run, interleaved, as the floor. p50/p95 and the ratio are printed;
the target is a p95 under 150 ms.

    .venv/bin/python bench/review_next.py            # SQLite and PostgreSQL (ensure-postgres.sh)
    .venv/bin/python bench/review_next.py --backends sqlite --rows 2000 --steps 20
"""

from __future__ import annotations

import argparse
import html
import random
import re
import shutil
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import json  # noqa: E402

from bench.dashboard import _report, add_graded, for_each_backend, percentile  # noqa: E402
from bench.liveservice import (  # noqa: E402
    PY_EXEC,
    Client,
    LiveService,
    people,
    settings_for,
    zip_bytes,
)

TASK = "py-review"
RUBRIC = """
[[criteria]]
id = "method"
name = "Method"
max_score = 10
files = ["writeup.md", "*.py"]
[[criteria.levels]]
score = 0
descriptor = "None."
[[criteria.levels]]
score = 10
descriptor = "Sound."
"""
# Filters a reviewer walks with Next: the page's query string (scores in percent, as the
# dashboard writes it) and the same filter for the JSON list (scores as fractions).
FILTERS = [
    ("", ""),
    ("sort=score&order=desc", "sort=score&order=desc"),
    ("status=graded&sort=id&order=asc", "status=graded&sort=id&order=asc"),
    ("score_min=20&sort=received&order=asc", "score_min=0.2&sort=received&order=asc"),
    ("reviewed=not-mine&sort=reviews", "reviewed=not-mine&sort=reviews"),
]
NEXT = re.compile(r'href="([^"]+)" id="nav-next"')
VERSIONS = 5  # distinct uploads, so each applicant's submissions are distinct blobs


def task_folder(dest: Path) -> Path:
    """py-exec with a rubric whose criterion names the files the page opens."""
    root = dest / TASK
    shutil.copytree(PY_EXEC, root, ignore=shutil.ignore_patterns("__pycache__", "bad"))
    toml = (root / "task.toml").read_text().replace('id = "py-exec"', f'id = "{TASK}"')
    toml = toml.replace(
        "[scoring]\nmax_score = 10", "[scoring]\nmax_score = 10\nautomatic_weight = 0.5"
    )
    (root / "task.toml").write_text(toml)
    (root / "rubric.toml").write_text(RUBRIC)
    return root


def store_uploads(settings: Any) -> list[str]:
    """VERSIONS real uploads (a ~3 KB write-up and ~2 KB of code) in the blob store."""
    from api.storage import BlobStore

    blobs = BlobStore(settings.blob_dir)
    shas = []
    for v in range(VERSIONS):
        files = {
            "writeup.md": f"# Method {v}\n\n" + "We probed **every** layer; see the table.\n\n" * 60
            + "| layer | acc |\n|---|---|\n" + "".join(f"| {i} | 0.{i}{v} |\n" for i in range(10)),
            "main.py": "ANSWER = 6 * 7\n\n\n"
            + "".join(f"def probe_{i}(x):\n    return x * {i}  # layer {i}\n\n" for i in range(60)),
        }  # fmt: skip
        staged, sha = blobs.stage([zip_bytes(files)], suffix=".zip", max_bytes=10**7)
        blobs.commit(staged, sha, ".zip")
        shas.append(sha)
    return shas


def insert(settings: Any, rows: int, shas: list[str], applicants: int = 2000) -> float:
    """Insert `rows` graded submissions over `applicants`; return the seconds taken."""
    from sqlalchemy import select

    from api.core.db import make_engine, session_factory
    from api.core.security import token_hash
    from api.models import Applicant, Cohort, Submission, TaskRow, utcnow

    rng = random.Random(1)
    engine = make_engine(settings.db_url)
    t = time.perf_counter()
    try:
        with session_factory(engine)() as session, session.begin():
            cohort = session.scalar(select(Cohort))
            task = session.get(TaskRow, TASK)
            assert cohort is not None and task is not None
            now = utcnow()
            session.add_all(
                Applicant(
                    cohort_id=cohort.id,
                    email=f"b{i}@example.org",
                    name=f"B{i}",
                    token_hash=token_hash(f"bench-{i}"),
                    token_expires_at=now + timedelta(days=30),
                )
                for i in range(applicants)
            )
            session.flush()
            ids = list(session.scalars(select(Applicant.id).order_by(Applicant.id)))
            # The dashboard benchmark's report, made whole: the page reads it as a Report.
            report = json.dumps(
                {
                    **json.loads(_report(task.id, task.digest)),
                    "submission": {"sha256": "0" * 64, "files": ["main.py", "writeup.md"]},
                }
            )
            for n in range(rows):
                score = rng.choice([0.0, 2.0, 10.0])
                sub = Submission(
                    applicant_id=ids[n % len(ids)], task_id=task.id, cohort_id=cohort.id,
                    blob_sha256=shas[(n // len(ids)) % len(shas)], filename="s.zip", size=4000,
                    content_sha256=f"{n:064x}", files=2,
                    received_at=now - timedelta(seconds=rng.randint(0, 86400 * 30)),
                    status="graded", score=score, max_score=10.0, task_score=score / 10,
                    review_count=rng.choice([0, 0, 1, 2]),
                )  # fmt: skip
                add_graded(session, sub, task.digest, score, report)
    finally:
        engine.dispose()
    return time.perf_counter() - t


def walk(url: str, steps: int) -> tuple[dict[str, list[float]], list[float], int]:
    """Follow Next from the first row and from the last page of each filter; time every
    review page and, interleaved, the static floor. Returns (pages by filter, floor,
    walks that reached the end of their list)."""
    reviewer = Client.reviewer(url)
    pages: dict[str, list[float]] = {}
    floor: list[float] = []
    ended = 0
    try:
        reviewer.http.get("/static/style.css").raise_for_status()  # warm
        for q, api in FILTERS:
            listing = reviewer.http.get(f"/api/v1/submissions?{api}&per_page=50")
            listing.raise_for_status()
            last = reviewer.http.get(f"/api/v1/submissions?{api}&per_page=50&last=1").json()
            starts = [listing.json()["items"][0]["id"], last["items"][0]["id"]]
            for start in starts:
                path = f"/review/submissions/{start}" + (f"?{q}" if q else "")
                reviewer.http.get(path).raise_for_status()  # warm this walk
                for _ in range(steps):
                    t = time.perf_counter()
                    r = reviewer.http.get("/static/style.css")
                    floor.append(time.perf_counter() - t)
                    r.raise_for_status()
                    t = time.perf_counter()
                    r = reviewer.http.get(path)
                    pages.setdefault(q or "(dashboard default)", []).append(time.perf_counter() - t)
                    r.raise_for_status()
                    found = NEXT.search(r.text)
                    if found is None:
                        ended += 1
                        break
                    path = html.unescape(found.group(1))
    finally:
        reviewer.close()
    return pages, floor, ended


def bench_backend(backend: str, database_url: str, rows: int, steps: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="assess-review-next-") as tmp:
        tasks = (task_folder(Path(tmp) / "tasks"),)
        data = Path(tmp) / "data"
        settings = settings_for(data, database_url, tasks)
        people(settings, 0, [TASK])
        shas = store_uploads(settings)
        took = insert(settings, rows, shas)
        print(f"{backend}: inserted {rows} submissions in {took:.1f} s")
        log = Path(tmp) / "service.log"
        svc = LiveService(data, tasks=tasks, workers=0, database_url=database_url, log=log)
        try:
            by_filter, floor, ended = walk(svc.start().url, steps)
        except Exception:
            print(log.read_text()[-3000:], file=sys.stderr)
            raise
        finally:
            svc.stop()
    for q, xs in by_filter.items():
        print(
            f"{backend:10s}   {q:38s} p50 {statistics.median(xs) * 1000:6.1f} ms  "
            f"p95 {percentile(xs, 95) * 1000:6.1f} ms  ({len(xs)} pages)"
        )
    pages = [x for xs in by_filter.values() for x in xs]
    p50, p95 = statistics.median(pages) * 1000, percentile(pages, 95) * 1000
    f50, f95 = statistics.median(floor) * 1000, percentile(floor, 95) * 1000
    verdict = "OK" if p95 < 150 else "OVER the 150 ms target"
    print(
        f"{backend:10s} review page via Next, {rows} rows, {len(pages)} pages: "
        f"p50 {p50:6.1f} ms  p95 {p95:6.1f} ms  ({verdict})\n"
        f"{backend:10s} floor /static/style.css, same run:        "
        f"p50 {f50:6.1f} ms  p95 {f95:6.1f} ms   ratio p95 {p95 / f95:5.1f}x"
        + (f"  ({ended} walks reached the end of their list)" if ended else "")
    )
    return {"p50": p50, "p95": p95, "floor_p95": f95}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=10_000)
    ap.add_argument("--steps", type=int, default=30, help="Next clicks per walk")
    ap.add_argument("--backends", default="sqlite,postgresql")
    args = ap.parse_args()
    return for_each_backend(
        args.backends, lambda name, url: bench_backend(name, url, args.rows, args.steps)
    )


if __name__ == "__main__":
    sys.exit(main())
