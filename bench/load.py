"""Load: many applicants uploading and polling, reviewers paging the dashboard, at once.

Against a real service process on 127.0.0.1 (`assess serve`: in-process pool, the real
Docker sandbox, SQLite unless --database-url), every applicant lists their tasks, uploads a
distinct submission, polls its status until it is graded and fetches the receipt, while
the reviewers page the dashboard (HTML and JSON) and open submissions. Bounded in count
(--applicants, --reviewers) and time (--timeout). Prints p50/p95/p99 per endpoint and the
error count; exits non-zero on any error, any submission not graded, or the time running out.

    .venv/bin/python bench/load.py                          # 60 applicants, 4 reviewers
    .venv/bin/python bench/load.py --applicants 6 --reviewers 2   # what CI runs
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from functools import partial
from pathlib import Path

import httpx2 as httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.liveservice import Client, LiveService, people, settings_for  # noqa: E402


class Recorder:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.times: dict[str, list[float]] = defaultdict(list)
        self.errors: list[str] = []

    def call(
        self, label: str, fn: Callable[[], httpx.Response], ok: tuple[int, ...] = (200,)
    ) -> httpx.Response | None:
        t = time.perf_counter()
        try:
            resp = fn()
        except Exception as e:  # a refused or dropped connection is an error like a 500
            with self.lock:
                self.errors.append(f"{label}: {type(e).__name__}: {e}")
            return None
        took = time.perf_counter() - t
        with self.lock:
            self.times[label].append(took)
            if resp.status_code not in ok:
                self.errors.append(f"{label}: HTTP {resp.status_code} {resp.text[:200]}")
                return None
        return resp


def pct(xs: list[float], p: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, round(p / 100 * (len(s) - 1)))]


def applicant(url: str, token: str, i: int, rec: Recorder, deadline: float, poll: float) -> str:
    c = Client(url, token)
    try:
        rec.call("GET  /api/v1/me/tasks", partial(c.http.get, "/api/v1/me/tasks"))
        r = rec.call(
            "POST /api/v1/me/tasks/{t}/submissions",
            partial(c.upload, {"main.py": f"ANSWER = 6 * 7  # applicant {i}\n"}),
            ok=(201,),
        )
        if r is None:
            return "upload failed"
        sid = r.json()["id"]
        time.sleep(random.uniform(0, poll))
        while time.monotonic() < deadline:
            r = rec.call(
                "GET  /api/v1/me/submissions/{id}",
                partial(c.http.get, f"/api/v1/me/submissions/{sid}"),
            )
            if r is not None and r.json()["status"] not in ("queued", "running"):
                status: str = r.json()["status"]
                rec.call(
                    "GET  /api/v1/me/submissions/{id}/receipt",
                    partial(c.http.get, f"/api/v1/me/submissions/{sid}/receipt"),
                )
                return status
            time.sleep(poll)
        return "timeout"
    finally:
        c.close()


def reviewer(url: str, rec: Recorder, stop: threading.Event) -> None:
    c = Client.reviewer(url)
    rng = random.Random()
    try:
        while not stop.is_set():
            page = rng.randint(1, 3)
            rec.call("GET  /review (dashboard HTML)", partial(c.http.get, f"/review?page={page}"))
            r = rec.call(
                "GET  /api/v1/submissions",
                partial(c.http.get, f"/api/v1/submissions?page={page}&sort=score&order=desc"),
            )
            items = r.json()["items"] if r is not None else []
            if items:
                sid = rng.choice(items)["id"]
                rec.call(
                    "GET  /api/v1/submissions/{id}",
                    partial(c.http.get, f"/api/v1/submissions/{sid}"),
                )
            stop.wait(rng.uniform(0.1, 0.4))
    finally:
        c.close()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--applicants", type=int, default=60)
    ap.add_argument("--reviewers", type=int, default=4)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="grading threads")
    ap.add_argument("--poll", type=float, default=1.0, help="seconds between status polls")
    ap.add_argument("--timeout", type=float, default=300, help="give up after (s)")
    ap.add_argument("--database-url", default="", help="default: SQLite in a temp folder")
    args = ap.parse_args()

    rec = Recorder()
    with tempfile.TemporaryDirectory(prefix="assess-load-") as tmp:
        data = Path(tmp) / "data"
        settings = settings_for(data, args.database_url)
        tokens = people(settings, args.applicants, ["py-exec"]).tokens
        svc = LiveService(
            data, workers=args.workers, database_url=args.database_url,
            log=Path(tmp) / "service.log",
        ).start()  # fmt: skip
        t0 = time.perf_counter()
        deadline = time.monotonic() + args.timeout
        outcomes: list[str] = []
        stop = threading.Event()
        try:
            revs = [
                threading.Thread(target=reviewer, args=(svc.url, rec, stop))
                for _ in range(args.reviewers)
            ]
            for t in revs:
                t.start()
            lock = threading.Lock()

            def run(i: int, token: str) -> None:
                out = applicant(svc.url, token, i, rec, deadline, args.poll)
                with lock:
                    outcomes.append(out)

            apps = [threading.Thread(target=run, args=(i, tok)) for i, tok in enumerate(tokens)]
            for t in apps:
                t.start()
            for t in apps:
                t.join()
            stop.set()
            for t in revs:
                t.join()
        finally:
            stop.set()
            svc.stop()
    wall = time.perf_counter() - t0

    print(f"applicants {args.applicants}  reviewers {args.reviewers}  workers {args.workers}  "
          f"cores {os.cpu_count()}  wall {wall:.1f} s")  # fmt: skip
    print(f"{'endpoint':44s} {'n':>6s} {'p50 ms':>8s} {'p95 ms':>8s} {'p99 ms':>8s}")
    for label in sorted(rec.times):
        xs = rec.times[label]
        print(
            f"{label:44s} {len(xs):6d} {pct(xs, 50) * 1000:8.1f} {pct(xs, 95) * 1000:8.1f} "
            f"{pct(xs, 99) * 1000:8.1f}"
        )
    counts = {o: outcomes.count(o) for o in sorted(set(outcomes))}
    print(f"submissions: {counts}")
    print(f"errors: {len(rec.errors)}")
    for e in rec.errors[:10]:
        print(f"  {e}")
    ok = not rec.errors and counts == {"graded": args.applicants}
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
