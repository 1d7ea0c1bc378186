"""Grading overhead: one trivial grading against two bare container runs, in the library
and as the `assess grade` command a user types.

Two bare `docker run`s of the same image, user and network setting are the physical floor of
a two-phase grading on this machine; the difference is what the grader adds (intake, the
scratch area, export, validation, the report, and for the command its start-up and
imports). The three are measured in the same run, interleaved round by round, so machine
noise affects them alike. Prints medians, ratios and the overheads (the median of each
round's difference from its floor) against their targets (the command within 0.5 s).

    make bench            # or: .venv/bin/python bench/grading_overhead.py --rounds 10
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import docker

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.liveservice import ASSESS  # noqa: E402
from grader.images import image_ref  # noqa: E402
from grader.pipeline import grade  # noqa: E402
from grader.report import Status  # noqa: E402
from grader.sandbox import docker_sandbox  # noqa: E402
from grader.sandbox.docker import NO_NETWORK  # noqa: E402
from grader.task import load_task  # noqa: E402

TASK = REPO / "tests" / "fixtures" / "tasks" / "py-exec"
CLI_TARGET_S = 0.5  # issue "throughput near the container floor": the command's overhead


def grade_command(out: str) -> list[str]:
    """`assess grade` of the trivial task's solution, reports written under `out`."""
    return [str(ASSESS), "grade", "--task", str(TASK), str(TASK / "solution"), "-o", out]


def bare_pair(client: docker.DockerClient, image: str) -> float:
    """Two `docker run --rm IMAGE python -c pass`, one after the other."""
    t = time.perf_counter()
    for _ in range(2):
        client.containers.run(
            image, ["python", "-c", "pass"], remove=True, user="1000:1000", **NO_NETWORK
        )
    return time.perf_counter() - t


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=10)
    args = ap.parse_args()
    client = docker.from_env()
    sandbox = docker_sandbox()
    task = load_task(TASK)
    image = image_ref(task.spec.image)
    bare_pair(client, image)  # warm caches for every path
    grade(task, task.solution, sandbox=sandbox)
    bare, library, command = [], [], []
    with tempfile.TemporaryDirectory() as out:
        cmd = grade_command(out)
        subprocess.run(cmd, check=True, capture_output=True)
        for _ in range(args.rounds):
            bare.append(bare_pair(client, image))
            t = time.perf_counter()
            report = grade(task, task.solution, sandbox=sandbox)
            library.append(time.perf_counter() - t)
            assert report.status == Status.graded and report.score == report.max_score
            t = time.perf_counter()
            subprocess.run(cmd, check=True, capture_output=True)
            command.append(time.perf_counter() - t)
    b, g, c = (statistics.median(x) for x in (bare, library, command))
    # Each round measures the three back to back, so a round's differences share its
    # machine's pace: their median is the overhead (a slow minute moves all three alike).
    g_over = statistics.median(x - y for x, y in zip(library, bare, strict=True))
    c_over = statistics.median(x - y for x, y in zip(command, bare, strict=True))
    verdict = "met" if c_over <= CLI_TARGET_S else "NOT met"
    print(f"rounds: {args.rounds}  image: {image}")
    print(f"floor: two bare docker runs      median {b:6.3f} s  (min {min(bare):.3f})")
    print(f"library grade (trivial task)     median {g:6.3f} s  (min {min(library):.3f})")
    print(f"`assess grade` as a process      median {c:6.3f} s  (min {min(command):.3f})")
    print(f"library ratio / floor            {g / b:6.2f}x  overhead {g_over:+.3f} s")
    print(f"command ratio / floor            {c / b:6.2f}x  overhead {c_over:+.3f} s")
    print(f"command overhead target          <= {CLI_TARGET_S:.1f} s: {verdict}")
    print("(overhead: the median over rounds of that round's time minus its floor)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
