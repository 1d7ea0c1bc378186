"""Time limits under load: each implementation task's reference, on an idle and a busy machine.

For every library task with a run phase, grades `solution/` once on the idle machine and once
while busy-looping containers keep every core's run queue `--load` deep (default 2: "2x
load"), and prints per phase the wall time, the CPU-seconds used and the share of the phase's
CPU budget (`timeout x cpus`) and wall-clock backstop (grader.sandbox.budget) that they took.
The reference must finish `graded` with full marks under load: a correct submission is slowed
by a busy grader, never failed by it. Numbers go to docs/performance.md.

    .venv/bin/python bench/loaded_limits.py [--load 2] [--task induction-circuit ...]
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
from pathlib import Path

import docker

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from grader.images import image_ref  # noqa: E402
from grader.pipeline import grade  # noqa: E402
from grader.prepare import prepare  # noqa: E402
from grader.report import Report, Status  # noqa: E402
from grader.sandbox import budget, docker_sandbox  # noqa: E402
from grader.spec import TaskKind  # noqa: E402
from grader.task import Task, load_task  # noqa: E402

HOG_LABEL = "assess.bench-hog"


class Load:
    """`per_core` busy-looping containers per core, each limited to one core, until stopped."""

    def __init__(self, client: docker.DockerClient, image: str, per_core: int) -> None:
        n = per_core * (os.cpu_count() or 1)
        self.containers = [
            client.containers.run(
                image,
                ["python", "-c", "while True: pass"],
                detach=True,
                network_mode="none",
                user="1000:1000",
                nano_cpus=int(1e9),
                labels={HOG_LABEL: "1"},
            )
            for _ in range(n)
        ]

    def stop(self) -> None:
        threads = [
            threading.Thread(target=c.remove, kwargs={"force": True}) for c in self.containers
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()


def row(task: Task, label: str, report: Report) -> str:
    res = task.spec.resources
    run_cpu, run_wall = budget(res.run_timeout_s, res.cpus)
    check_cpu, check_wall = budget(res.check_timeout_s, res.cpus)
    cpu = report.resources.cpu_seconds or 0.0
    return (
        f"| {task.id} | {label} | {report.status.value} {report.score:g} | "
        f"{report.timings.run:.1f} s ({report.timings.run / run_wall:.0%} of {run_wall:g}) | "
        f"{cpu:.1f} CPU-s ({cpu / run_cpu:.0%} of {run_cpu:g}) | "
        f"{report.timings.check:.1f} s ({report.timings.check / check_wall:.0%} of "
        f"{check_wall:g}; CPU budget {check_cpu:g}) |"
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--load", type=int, default=2, help="busy containers per core")
    ap.add_argument("--task", action="append", help="task ids (default: every library task)")
    args = ap.parse_args()
    client = docker.from_env()
    sandbox = docker_sandbox()
    tasks = [
        load_task(p.parent)
        for p in sorted((REPO / "tasks").glob("*/task.toml"))
        if not p.parent.name.startswith("_") and (not args.task or p.parent.name in args.task)
    ]
    tasks = [t for t in tasks if t.spec.kind == TaskKind.implementation]
    print(f"cores: {os.cpu_count()}  load: {args.load} busy containers per core")
    print("| task | machine | result | run phase wall | run phase CPU | check phase wall |")
    print("|---|---|---|---|---|---|")
    failed = False
    for task in tasks:
        prepare(task, sandbox)
        for label in ("idle", f"{args.load}x load"):
            load = Load(client, image_ref(task.spec.image), args.load) if "load" in label else None
            try:
                report = grade(task, task.solution, sandbox=sandbox)
            finally:
                if load:
                    load.stop()
            print(row(task, label, report), flush=True)
            ok = report.status == Status.graded and report.score == report.max_score
            failed |= not ok
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
