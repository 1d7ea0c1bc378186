"""Re-running a task's experiments: the forecast key must stay what the models really do.

A research-taste task keeps one script per experiment in ``grading/experiments/`` (files
starting with ``_`` are helpers, not experiments). Each runs as
``python grading/experiments/<name>.py --out DIR`` and writes ``DIR/<name>.json`` in the
outcome-record format of :mod:`grader.questions.key`; the task commits that file under
``grading/answers/outcomes/``. `assess task validate` re-runs every script in the task's
image (no network, task folder read-only, one core, like the grading containers) under the
pinned CPU numerics of :mod:`grader.numerics` (the setting the outcomes were recorded under) and
compares: booleans and strings must match, numbers must stay within the recorded tolerance.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from grader.errors import TaskSpecError
from grader.images import image_ref
from grader.numerics import setting_env
from grader.questions.key import (
    MAX_OUTCOME_BYTES,
    OUTCOMES_DIR,
    OutcomeRecord,
    parse_outcome_record,
)
from grader.sandbox import Limits, Mount, RunRequest, Sandbox, budget
from grader.task import Task

__all__ = [
    "EXPERIMENTS_DIR",
    "OutcomeRun",
    "compare_records",
    "experiment_scripts",
    "rerun_outcomes",
]

EXPERIMENTS_DIR = "grading/experiments"
# The brief for task authors: each experiment under a minute on one core. The container's
# limit leaves room for a slower machine; validation reports the measured time.
SCRIPT_TIMEOUT_S = 180
SCRIPT_MEMORY_MB = 2048


@dataclass(frozen=True)
class OutcomeRun:
    """One experiment re-run and how its outcomes compare with the recorded ones."""

    script: str
    ok: bool
    status: str  # reproduced | changed | failed
    note: str
    seconds: float
    fresh: OutcomeRecord | None = None


def experiment_scripts(task: Task) -> list[str]:
    """Names of the task's experiment scripts (without .py), sorted."""
    folder = task.root / EXPERIMENTS_DIR
    if not folder.is_dir():
        return []
    return sorted(p.stem for p in folder.glob("*.py") if not p.name.startswith("_"))


def _fmt(v: object) -> str:
    return f"{v:.4g}" if isinstance(v, float) else repr(v)


def compare_records(recorded: OutcomeRecord, fresh: OutcomeRecord) -> list[str]:
    """What changed between the recorded and a fresh run, one phrase per outcome (empty: same)."""
    changes: list[str] = []
    for name, old in recorded.outcomes.items():
        if name not in fresh.outcomes:
            changes.append(f"{name}: missing from the re-run")
            continue
        new = fresh.outcomes[name]
        if isinstance(old, bool | str):
            if type(new) is not type(old) or new != old:
                changes.append(f"{name}: {_fmt(new)} (recorded {_fmt(old)})")
            continue
        tol = recorded.tolerance.get(name, 0.0)
        if isinstance(new, bool) or not isinstance(new, int | float):
            changes.append(f"{name}: {_fmt(new)} (recorded {_fmt(old)})")
        elif abs(float(new) - float(old)) > tol + 1e-12:
            changes.append(f"{name}: {_fmt(float(new))} (recorded {_fmt(old)} ± {tol:g})")
    return changes


def _summary(recorded: OutcomeRecord, fresh: OutcomeRecord) -> str:
    parts = []
    for name in recorded.outcomes:
        new = fresh.outcomes.get(name)
        parts.append(f"{name}={_fmt(new)}" if new is not None else f"{name}=?")
        if len(parts) == 4:
            break
    more = len(recorded.outcomes) - len(parts)
    return ", ".join(parts) + (f" (+{more} more)" if more > 0 else "")


def _run_one(
    task: Task, sandbox: Sandbox, script: str, recorded: OutcomeRecord | None, setting: str
) -> OutcomeRun:
    t0 = time.monotonic()
    # A CPU-time budget: a busy validating machine slows an experiment, it does not fail it.
    cpu_s, wall_s = budget(SCRIPT_TIMEOUT_S, 1.0)
    with tempfile.TemporaryDirectory(prefix="assess-exp-") as tmp:
        out = Path(tmp)
        out.chmod(0o777)  # written by the container's user
        result = sandbox.run(
            RunRequest(
                image=image_ref(task.spec.image),
                command=("python", f"{EXPERIMENTS_DIR}/{script}.py", "--out", "/out"),
                limits=Limits(
                    cpus=1.0,
                    memory_mb=SCRIPT_MEMORY_MB,
                    pids=128,
                    cpu_s=cpu_s,
                    wall_s=wall_s,
                    tmp_mb=256,
                    log_bytes=64 * 1024,
                ),
                mounts=[Mount(task.root, "/task"), Mount(out, "/out", read_only=False)],
                env={
                    **setting_env(setting),
                    "PYTHONDONTWRITEBYTECODE": "1",
                    "MPLBACKEND": "Agg",
                    "HOME": "/tmp",
                },
                workdir="/task",
                user=f"{os.getuid()}:{os.getgid()}",
                label=f"experiment-{script}"[:40],
            )
        )
        seconds = round(time.monotonic() - t0, 1)
        if not result.ok:
            why = "timed out" if result.timed_out else f"exited with code {result.exit_code}"
            lines = [ln for ln in result.log.strip().splitlines() if ln.strip()]
            last = lines[-1][:200] if lines else "(no output)"
            return OutcomeRun(script, False, "failed", f"{why}: {last}", seconds)
        produced = out / f"{script}.json"
        if not produced.is_file() or produced.stat().st_size > MAX_OUTCOME_BYTES:
            return OutcomeRun(
                script, False, "failed", f"wrote no {script}.json (or too big)", seconds
            )
        try:
            fresh = parse_outcome_record(
                produced.read_text(encoding="utf-8"), f"re-run of {script}"
            )
        except TaskSpecError as e:
            return OutcomeRun(script, False, "failed", str(e), seconds)
    if recorded is None:
        return OutcomeRun(
            script,
            False,
            "failed",
            f"no recorded outcomes: commit its output as {OUTCOMES_DIR}/{script}.json",
            seconds,
            fresh,
        )
    changes = compare_records(recorded, fresh)
    if changes:
        return OutcomeRun(script, False, "changed", "; ".join(changes), seconds, fresh)
    return OutcomeRun(script, True, "reproduced", _summary(recorded, fresh), seconds, fresh)


def rerun_outcomes(
    task: Task,
    sandbox: Sandbox,
    *,
    jobs: int = 1,
    on_run: Callable[[OutcomeRun], None] | None = None,
    setting: str = "pinned",
) -> list[OutcomeRun]:
    """Re-run every experiment script and compare with the recorded outcomes.

    Recorded outcomes without a script fail too: a key must cite what really ran.
    `setting` names the CPU numerics (:data:`grader.numerics.SETTINGS`) to re-run under.

    Raises:
        TaskSpecError: a recorded outcome file is malformed.
        SandboxError: the sandbox failed.
        ValueError: an unknown setting.
    """
    from grader.questions.key import load_outcomes

    setting_env(setting)  # an unknown name fails here, before any container starts

    records = load_outcomes(task.root)
    scripts = experiment_scripts(task)

    def one(script: str) -> OutcomeRun:
        run = _run_one(task, sandbox, script, records.get(script), setting)
        if on_run:
            on_run(run)
        return run

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        runs = list(pool.map(one, scripts))
    for orphan in sorted(set(records) - set(scripts)):
        run = OutcomeRun(
            orphan,
            False,
            "failed",
            f"{OUTCOMES_DIR}/{orphan}.json has no script {EXPERIMENTS_DIR}/{orphan}.py",
            0.0,
        )
        if on_run:
            on_run(run)
        runs.append(run)
    return runs
