"""Throughput: N trivial submissions graded end to end through a real service process.

Uploads N distinct correct submissions to `assess serve` (in-process pool, SQLite, the real
Docker sandbox) from a few applicants at once and waits until every one is graded;
reports submissions/minute. In the same run it measures the container-start floor: pairs
of bare `docker run --rm IMAGE python -c pass` (one per grading phase), as many at once as
the service has workers. The ratio says what fraction of the engine's raw container rate
the whole service (HTTP, storage, queue, two sandboxed phases, report, database) achieves.

    .venv/bin/python bench/throughput.py --n 200
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import docker  # noqa: E402

from bench.liveservice import (  # noqa: E402
    PY_EXEC,
    Client,
    LiveService,
    ledger,
    people,
    settings_for,
)
from grader.images import image_ref  # noqa: E402
from grader.sandbox.docker import NO_NETWORK  # noqa: E402
from grader.task import load_task  # noqa: E402

RATIO_TARGET = 0.85  # issue "throughput near the container floor"


def floor_rate(image: str, pairs: int, parallel: int) -> tuple[int, float]:
    """Bare container pairs, `parallel` at a time: (pairs, seconds they took)."""
    client = docker.from_env(timeout=120)

    def pair(_: int) -> None:
        for _phase in range(2):
            client.containers.run(
                image, ["python", "-c", "pass"], remove=True, user="1000:1000", **NO_NETWORK
            )

    pair(0)  # warm
    t = time.perf_counter()
    with ThreadPoolExecutor(parallel) as pool:
        list(pool.map(pair, range(pairs)))
    client.close()
    return pairs, time.perf_counter() - t


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=200, help="submissions (default 200)")
    ap.add_argument("--applicants", type=int, default=8, help="uploading at once")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="grading threads")
    ap.add_argument("--floor-pairs", type=int, default=40, help="bare container pairs")
    ap.add_argument("--timeout", type=float, default=900, help="give up after (s)")
    args = ap.parse_args()
    image = image_ref(load_task(PY_EXEC).spec.image)
    # Half the floor before the service runs, half after: a machine that drifts during the
    # run moves both alike.
    before = floor_rate(image, args.floor_pairs // 2, args.workers)

    with tempfile.TemporaryDirectory(prefix="assess-throughput-") as tmp:
        data = Path(tmp) / "data"
        settings = settings_for(data)
        tokens = people(settings, args.applicants, ["py-exec"]).tokens
        svc = LiveService(data, workers=args.workers, log=Path(tmp) / "service.log").start()
        try:
            clients = [Client(svc.url, t) for t in tokens]
            warm = clients[0].upload({"main.py": "ANSWER = 42  # warm\n"}).json()["id"]
            clients[0].wait(warm, timeout=120)

            def upload(i: int) -> int:
                c = clients[i % len(clients)]
                r = c.upload({"main.py": f"ANSWER = 6 * 7  # submission {i}\n"})
                r.raise_for_status()
                return int(r.json()["id"])

            t0, t0_wall = time.perf_counter(), time.time()
            with ThreadPoolExecutor(len(clients)) as pool:
                ids = set(pool.map(upload, range(args.n)))
            uploaded = time.perf_counter() - t0
            with _Waiting(settings) as waiting:
                while left := waiting.count(ids):
                    if time.perf_counter() - t0 > args.timeout:
                        print(f"timeout: {left} of {args.n} not graded", file=sys.stderr)
                        return 1
                    time.sleep(0.5)
                # The run ends when the last grading was stored, not when a poll saw it: the
                # polls (twice a second, to cost the shared cores little) come up to 0.5 s
                # late, ~1% of a 40 s run that the floor's own timing does not pay.
                total = waiting.last_finished(ids) - t0_wall
            subs = ledger(settings)["submissions"]
            bad = {s: subs[s] for s in ids if subs[s] != "graded"}
            for c in clients:
                c.close()
        finally:
            svc.stop()
        times = _grading_times(settings, ids)
    rate = args.n / total * 60
    after = floor_rate(image, args.floor_pairs - args.floor_pairs // 2, args.workers)
    floor = (before[0] + after[0]) / (before[1] + after[1]) * 60
    print(f"submissions: {args.n}  applicants uploading at once: {args.applicants}  "
          f"workers: {args.workers}  cores: {os.cpu_count()}  image: {image}")  # fmt: skip
    print(f"uploads accepted in         {uploaded:8.1f} s")
    print(f"all graded after            {total:8.1f} s")
    print(f"service throughput          {rate:8.1f} submissions/min")
    print(f"per grading (median run+check) {statistics.median(times):5.2f} s")
    halves = " / ".join(f"{n / sec * 60:.1f}" for n, sec in (before, after))
    print(f"floor: bare container pairs {floor:8.1f} /min ({args.workers} at once; "
          f"before / after the service: {halves})")  # fmt: skip
    print(f"ratio service / floor       {rate / floor:8.2f}")
    verdict = "met" if rate / floor >= RATIO_TARGET else "NOT met"
    print(f"ratio target                >= {RATIO_TARGET:.2f}: {verdict}")
    if bad:
        print(f"not graded: {bad}", file=sys.stderr)
        return 1
    return 0


class _Waiting:
    """How many of the submissions still wait: one small query on one connection, so that
    watching the service costs the two cores it shares next to nothing."""

    def __init__(self, settings: object) -> None:
        from api.core.db import make_engine

        self.engine = make_engine(settings.db_url)  # type: ignore[attr-defined]

    def __enter__(self) -> _Waiting:
        return self

    def __exit__(self, *exc: object) -> None:
        self.engine.dispose()

    def count(self, ids: set[int]) -> int:
        from sqlalchemy import func, select

        from api.models import Submission

        query = select(func.count(Submission.id)).where(
            Submission.id.in_(ids), Submission.status.in_(("queued", "running"))
        )
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def last_finished(self, ids: set[int]) -> float:
        """When the last of their jobs finished (seconds since the epoch)."""
        from sqlalchemy import func, select

        from api.models import Job

        query = select(func.max(Job.finished_at)).where(Job.submission_id.in_(ids))
        with self.engine.connect() as conn:
            # A UTC datetime with its zone on either backend (api.models.UTCDateTime).
            return float(conn.execute(query).scalar_one().timestamp())


def _grading_times(settings: object, ids: set[int]) -> list[float]:
    import json

    from sqlalchemy import select

    from api.core.db import make_engine, session_factory
    from api.models import Grading

    engine = make_engine(settings.db_url)  # type: ignore[attr-defined]
    try:
        with session_factory(engine)() as session:
            query = select(Grading.report_json).where(Grading.submission_id.in_(ids))
            docs = session.scalars(query)
            return [json.loads(d)["timings"]["total"] for d in docs]
    finally:
        engine.dispose()


if __name__ == "__main__":
    sys.exit(main())
