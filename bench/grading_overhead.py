"""Grading overhead: `assess grade` of a trivial task against two bare container runs.

Two bare `docker run`s of the same image are the physical floor of a two-phase grading on
this machine; the difference is what the grader adds (intake, scratch volume, export,
validation, report). Both are measured in the same run, interleaved, so machine noise
affects them alike. Prints medians, the ratio and the absolute overhead.

    make bench            # or: .venv/bin/python bench/grading_overhead.py --rounds 10
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import docker

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from grader.images import image_ref  # noqa: E402
from grader.pipeline import grade  # noqa: E402
from grader.report import Status  # noqa: E402
from grader.sandbox import docker_sandbox  # noqa: E402
from grader.task import load_task  # noqa: E402

TASK = REPO / "tests" / "fixtures" / "tasks" / "py-exec"


def bare_pair(client: docker.DockerClient, image: str) -> float:
    """Two `docker run --rm IMAGE python -c pass`, one after the other."""
    t = time.perf_counter()
    for _ in range(2):
        client.containers.run(
            image, ["python", "-c", "pass"], remove=True, network_mode="none", user="1000:1000"
        )
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=10)
    args = ap.parse_args()
    client = docker.from_env()
    sandbox = docker_sandbox()
    task = load_task(TASK)
    image = image_ref(task.spec.image)
    bare_pair(client, image)  # warm caches for both paths
    grade(task, task.solution, sandbox=sandbox)
    bare, graded = [], []
    for _ in range(args.rounds):
        bare.append(bare_pair(client, image))
        t = time.perf_counter()
        report = grade(task, task.solution, sandbox=sandbox)
        graded.append(time.perf_counter() - t)
        assert report.status == Status.graded and report.score == report.max_score
    b, g = statistics.median(bare), statistics.median(graded)
    print(f"rounds: {args.rounds}  image: {image}")
    print(f"floor: two bare docker runs    median {b:6.3f} s  (min {min(bare):.3f})")
    print(f"assess grade (trivial task)    median {g:6.3f} s  (min {min(graded):.3f})")
    print(f"ratio grade / floor            {g / b:6.2f}x")
    print(f"overhead per submission        {g - b:6.3f} s  (target < 1 s)")


if __name__ == "__main__":
    main()
