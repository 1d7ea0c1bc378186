"""The grading pipeline: intake → run (untrusted) → export → check (trusted) → report.

Untrusted code never decides a score. The run phase sees the submission, ``run.py`` and
hidden *inputs*, and can only leave data in a size-capped scratch area. The grader exports
that data with bounds, and the check phase — a fresh container with the hidden *answers*
that executes no submission code — turns it into checks, which are validated here.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from pydantic import TypeAdapter, ValidationError

import grader
from grader.errors import IntakeError, OutputsRejected, SandboxError
from grader.images import image_ref
from grader.intake import Submission, intake
from grader.report import (
    Artifact,
    Check,
    Flag,
    Logs,
    Provenance,
    Report,
    Resources,
    Status,
    SubmissionRef,
    TaskRef,
    Timings,
)
from grader.sandbox import (
    Ahead,
    Exported,
    Limits,
    Mount,
    RunRequest,
    RunResult,
    Sandbox,
    Scratch,
    ScratchMount,
    budget,
)
from grader.spans import span
from grader.spec import TaskKind
from grader.task import Task
from grader.util import make_readable, sha256_file

HARNESS_DIR = Path(__file__).parent / "harness"
RUN_HELPERS = "assess_run.py"
MAX_CHECKS = 200
MAX_RESULT_BYTES = 1_000_000
MAX_OUTPUT_FILES = 1000
# The explanation of a grading in which nothing went wrong.
_T = TypeVar("_T")
COMPLETED = "both phases completed normally; the score stands"
# A phase stopped at its wall-clock backstop on a machine with no CPU to spare is run again
# (the grader was overloaded; that is never charged to the applicant), after a pause that
# lets the load pass; if it is still starved, the report is an `error` to re-grade later.
OVERLOAD_RETRIES = 2
OVERLOAD_PAUSE_S = 5.0


@dataclass(frozen=True)
class CheckOutcome:
    """The check phase's result: checks, or why the task's own check failed."""

    checks: list[Check]
    error: str | None  # set when the task's check phase itself failed (not the applicant)
    result: RunResult | None


@dataclass(frozen=True)
class _Job:
    """One grading in flight: what every step needs, passed explicitly."""

    task: Task
    sandbox: Sandbox
    image: str
    work: Path


def grade(
    task: Task,
    submission: Path | str,
    *,
    sandbox: Sandbox | None,
    artifacts_dir: Path | None = None,
    exclude: frozenset[str] = frozenset(),
    queued_s: float = 0.0,
) -> Report:
    """Grade one submission of `task` and return its report.

    Every outcome of the submission (invalid, crashed, timed out, forged) and every failure
    of the sandbox is a report status with an explanation; this function does not raise
    for them. `artifacts_dir`, if given, receives a copy of the run phase's outputs.
    A research-taste task's answers file is scored on the host instead (no container, no
    image, no engine: `sandbox` may be None for it).

    Raises:
        ValueError: `sandbox` is None for a task that runs containers (a caller's bug).
    """
    if task.spec.kind == TaskKind.research_taste:
        from grader.questions.grade import grade_answers

        return grade_answers(
            task, submission, artifacts_dir=artifacts_dir, exclude=exclude, queued_s=queued_s
        )
    if sandbox is None:
        raise ValueError(f"{task.id} is an implementation task: grading it needs a sandbox")
    t0 = time.monotonic()
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    task_ref = TaskRef(
        id=task.id, version=task.spec.version, digest=task.digest, title=task.spec.title
    )
    max_score = task.spec.scoring.max_score
    with tempfile.TemporaryDirectory(prefix="assess-") as tmp:
        job = _Job(task=task, sandbox=sandbox, image=image_ref(task.spec.image), work=Path(tmp))
        try:
            with span("intake"):
                sub = intake(
                    submission,
                    task.spec.submission,
                    job.work / "submission",
                    exclude=exclude,
                    notebook=task.spec.notebook,
                )
        except IntakeError as e:
            return Report(
                task=task_ref,
                max_score=max_score,
                submission=SubmissionRef(sha256="", files=[]),
                status=Status.invalid,
                explanation=f"submission rejected at intake: {e}",
                score=0.0,
                timings=Timings(queued=queued_s, total=_since(t0)),
            )
        try:
            for folder in (job.work / "output", job.work / "result"):
                folder.mkdir()  # mounted into the check container before the run begins
            with contextlib.ExitStack() as stack:
                # The check container starts while the run phase runs (its command waits
                # for the run's exit code), and it holds the run's scratch area until the
                # export: two container starts at once, as in the floor, and no third.
                area = stack.enter_context(
                    job.sandbox.scratch(task.spec.resources.output_mb, image=job.image)
                )
                check = stack.enter_context(job.sandbox.ahead(_check_request(job), hold=[area]))
                areas = [area]  # a re-run after an overload gets a fresh area of its own
                run, outputs, output_problem = _unstarved(
                    "run",
                    lambda: _run_phase(job, sub, areas.pop() if areas else None),
                    lambda r: r[0],
                )
                outcome = _unstarved(
                    "check", lambda: _check_phase(job, run, check), lambda o: o.result
                )
            ran_in = run.image_id or (outcome.result.image_id if outcome.result else None)
            provenance = Provenance(
                image=job.image,
                image_id=ran_in or sandbox.image_id(job.image),
                grader_version=grader.__version__,
                sandbox=sandbox.name,
                started_at=started_at,
            )
        except SandboxError as e:
            return Report(
                task=task_ref,
                max_score=max_score,
                submission=sub.ref,
                status=Status.error,
                explanation=f"grading infrastructure failed (not the submission's fault): {e}",
                score=None,
                timings=Timings(queued=queued_s, total=_since(t0)),
            )
        output = job.work / "output"
        if artifacts_dir is not None:
            shutil.copytree(output, artifacts_dir, dirs_exist_ok=True)
            if sub.ref.kind == "notebook":  # the trusted copy, offered next to the executed one
                from grader import notebook as nb

                (artifacts_dir / nb.SUBMITTED).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(sub.root / sub.ref.files[0], artifacts_dir / nb.SUBMITTED)
        limit_s = task.spec.resources.run_timeout_s
        if sub.ref.kind == "notebook":  # the notebook's own budget comes first (run_plan)
            limit_s += task.spec.notebook.timeout_s
        status, explanation = _status(task, run, outcome, output_problem, limit_s)
        flags: list[Flag] = []
        if sub.ref.kind == "notebook":
            from grader import notebook as nb

            status, explanation, flags = nb.explain(
                task.spec, output, status, explanation, clean=explanation == COMPLETED
            )
        if outputs.unsafe_names:
            flags.append(_unsafe_names_flag(outputs.unsafe_names))
        score: float | None = round(sum(c.score for c in outcome.checks), 6)
        if status == Status.error:
            score = None
        elif status == Status.invalid:
            score = 0.0
        check_run = outcome.result
        return Report(
            task=task_ref,
            max_score=max_score,
            submission=sub.ref,
            status=status,
            explanation=explanation,
            score=score,
            checks=outcome.checks,
            manual=task.rubric.pending() if task.rubric else [],
            flags=flags,
            timings=Timings(
                queued=queued_s,
                run=round(run.wall_s, 3),
                check=round(check_run.wall_s, 3) if check_run else 0.0,
                total=_since(t0),
            ),
            resources=Resources(peak_memory=run.peak_memory, cpu_seconds=run.cpu_seconds),
            logs=Logs(
                run=run.log,
                run_truncated=run.log_truncated,
                check=check_run.log if check_run else "",
                check_truncated=check_run.log_truncated if check_run else False,
            ),
            artifacts=[
                Artifact(path=p, bytes=(output / p).stat().st_size, sha256=sha256_file(output / p))
                for p in outputs
            ],
            provenance=provenance,
        )


def _since(t0: float) -> float:
    return round(time.monotonic() - t0, 3)


def _unstarved(
    phase: str, attempt: Callable[[], _T], result_of: Callable[[_T], RunResult | None]
) -> _T:
    """Run a phase; re-run it while it was starved by an overloaded machine.

    Raises:
        SandboxError: still starved after OVERLOAD_RETRIES re-runs (an error, never a timeout).
    """
    outcome = attempt()
    for _ in range(OVERLOAD_RETRIES):
        result = result_of(outcome)
        if result is None or not result.overloaded:
            return outcome
        time.sleep(OVERLOAD_PAUSE_S)
        outcome = attempt()
    result = result_of(outcome)
    if result is not None and result.overloaded:
        raise SandboxError(
            f"the grading machine was overloaded: the {phase} phase got "
            f"{result.cpu_seconds or 0:.0f} CPU-seconds in {result.wall_s:.0f} s of wall time, "
            f"{OVERLOAD_RETRIES + 1} times; re-grade it later"
        )
    return outcome


def _limits(task: Task, seconds: float) -> Limits:
    """The task's limits for a phase whose time limit is `seconds` of its CPU share."""
    r = task.spec.resources
    cpu_s, wall_s = budget(seconds, r.cpus)
    return Limits(
        cpus=r.cpus,
        memory_mb=r.memory_mb,
        pids=r.pids,
        wall_s=wall_s,
        cpu_s=cpu_s,
        tmp_mb=r.tmp_mb,
        log_bytes=r.log_kb * 1024,
        gpu=r.gpu,
    )


def _env(phase: str, **extra: str) -> dict[str, str]:
    return {
        "ASSESS_PHASE": phase,
        "ASSESS_OUTPUT": "/output",
        "ASSESS_KIT": "/kit",
        "ASSESS_SUBMISSION": "/submission",
        "ASSESS_GRADING": "/grading",
        "HOME": "/tmp",
        "PYTHONDONTWRITEBYTECODE": "1",
        **extra,
    }


def _run_phase(job: _Job, sub: Submission, area: Scratch | None) -> tuple[RunResult, Exported, str]:
    """Untrusted: the submission runs; only bounded data comes back. It writes to `area`,
    or to a scratch area of its own when none is given."""
    if area is None:
        with job.sandbox.scratch(job.task.spec.resources.output_mb, image=job.image) as own:
            return _run_phase(job, sub, own)
    task = job.task
    res = task.spec.resources
    run_grading = job.work / "run-grading"
    shutil.rmtree(run_grading, ignore_errors=True)  # a re-run after an overload starts afresh
    run_grading.mkdir()
    # What the run phase may see of grading/: run.py and inputs/, never answers; and the
    # run-phase helpers (assess_run.py) next to run.py, so that `import assess_run` works.
    shutil.copy2(task.run_script, run_grading / "run.py")
    shutil.copy2(HARNESS_DIR / RUN_HELPERS, run_grading / RUN_HELPERS)
    if task.inputs.is_dir():
        shutil.copytree(task.inputs, run_grading / "inputs", symlinks=False)
    output = job.work / "output"
    _empty(output)  # a re-run after an overload starts afresh; the folder itself is mounted
    command, wall_s = task.spec.run.command, float(res.run_timeout_s)
    mounts: list[Mount] = []
    env: dict[str, str] = {}
    if sub.ref.kind == "notebook":  # the notebook driver runs it, then run_notebook.py
        from grader import notebook as nb  # only notebook submissions pay for its import

        follow_up = task.grading / nb.FOLLOW_UP
        if follow_up.is_file():
            shutil.copy2(follow_up, run_grading / nb.FOLLOW_UP)
        plan = nb.run_plan(task.spec, sub.ref.files[0], follow_up=follow_up.is_file())
        command, wall_s, mounts, env = plan.command, plan.wall_s, list(plan.mounts), plan.env
    make_readable(run_grading)
    run = job.sandbox.run(
        RunRequest(
            image=job.image,
            command=command,
            limits=_limits(task, wall_s),
            mounts=[
                Mount(sub.root, "/submission"),
                Mount(run_grading, "/grading"),
                Mount(task.starter, "/kit"),
                *mounts,
            ],
            scratch=[ScratchMount(area, "/output")],
            env=_env(phase="run", **env),
            workdir="/submission",
            label="run",
        )
    )
    try:
        outputs = area.export(
            output, max_bytes=res.output_mb * 1024 * 1024, max_files=MAX_OUTPUT_FILES
        )
        problem = ""
    except OutputsRejected as e:  # the submission's doing; other failures are the grader's
        _empty(output)
        outputs, problem = Exported(), str(e)
    make_readable(output)
    return run, outputs, problem


def _unsafe_names_flag(n: int) -> Flag:
    """The report's word on output files the export skipped for their names."""
    files, were = ("file", "was") if n == 1 else ("files", "were")
    return Flag(
        kind="outputs",
        detail=f"{n} output {files} with unsafe names (control or invisible characters such "
        f"as a newline, ESC or a bidi override, or an over-long name) {were} ignored: not "
        "exported, not seen by the check phase",
    )


def _check_request(job: _Job) -> RunRequest:
    """The check phase's container: everything but the run's result, which comes through
    :meth:`Ahead.run`'s environment (so the container can be started before the run ends)."""
    task = job.task
    result_dir = job.work / "result"
    result_dir.chmod(0o777)  # written by the container's unprivileged user
    return RunRequest(
        image=job.image,
        command=("python", "/assess/assess_check.py"),
        limits=_limits(task, task.spec.resources.check_timeout_s),
        mounts=[
            Mount(job.work / "output", "/output"),
            Mount(task.grading, "/grading"),
            Mount(task.starter, "/kit"),
            Mount(HARNESS_DIR, "/assess"),
            Mount(result_dir, "/result", read_only=False),
        ],
        env=_env(phase="check", ASSESS_RESULT="/result"),
        workdir="/grading",
        label="check",
    )


def _check_phase(job: _Job, run: RunResult, check: Ahead) -> CheckOutcome:
    """Trusted: a fresh container reads the outputs as data, with the hidden answers."""
    result_dir = job.work / "result"
    _empty(result_dir)  # a re-run after an overload starts afresh
    result = check.run(
        {
            "ASSESS_RUN_EXIT_CODE": "" if run.exit_code is None else str(run.exit_code),
            "ASSESS_RUN_TIMED_OUT": "1" if run.timed_out else "0",
        }
    )
    with span("check.parse"):
        return _check_outcome(job.task, result, result_dir)


def _empty(folder: Path) -> None:
    """Remove what `folder` holds, keeping the folder (a container may have it mounted)."""
    folder.mkdir(exist_ok=True)
    for p in folder.iterdir():
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p)
        else:
            p.unlink()


def _check_outcome(task: Task, result: RunResult, result_dir: Path) -> CheckOutcome:
    checks_file, error_file = result_dir / "checks.json", result_dir / "error.json"
    if result.timed_out:
        limit = task.spec.resources.check_timeout_s
        return CheckOutcome([], f"the task's check phase timed out after {limit}s", result)
    if error_file.is_file():
        return CheckOutcome([], "the task's check.py raised: " + _last_line(error_file), result)
    if result.exit_code != 0 or not checks_file.is_file():
        why = "out of memory" if result.oom_killed else f"exit code {result.exit_code}"
        return CheckOutcome([], f"the task's check phase wrote no result ({why})", result)
    return _parse_checks(task, checks_file, result)


def _last_line(error_file: Path) -> str:
    try:
        text = str(json.loads(error_file.read_text(encoding="utf-8"))["error"])
    except (ValueError, KeyError, OSError):
        return "(unreadable error record)"
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1][:500] if lines else "(empty traceback)"


_CHECKS = TypeAdapter(list[Check])


def _parse_checks(task: Task, checks_file: Path, result: RunResult) -> CheckOutcome:
    """Validate the trusted phase's output: schema, ranges, totals (a task bug is an error)."""
    if checks_file.stat().st_size > MAX_RESULT_BYTES:
        return CheckOutcome([], f"the task's checks.json exceeds {MAX_RESULT_BYTES} bytes", result)
    try:
        raw = json.loads(checks_file.read_text(encoding="utf-8"))
        checks = _CHECKS.validate_python(raw.get("checks") if isinstance(raw, dict) else None)
    except (ValueError, ValidationError) as e:
        first = str(e).splitlines()[0:3]
        return CheckOutcome(
            [], "the task's check.py emitted invalid checks: " + " ".join(first), result
        )
    if not checks or len(checks) > MAX_CHECKS:
        return CheckOutcome([], f"the task's check.py emitted {len(checks)} checks", result)
    ids = [c.id for c in checks]
    if len(set(ids)) != len(ids):
        return CheckOutcome([], "the task's check.py emitted duplicate check ids", result)
    total = sum(c.max_score for c in checks)
    declared = task.spec.scoring.max_score
    if abs(total - declared) > 1e-6 * max(1.0, declared):
        return CheckOutcome(
            [],
            f"the task's checks add up to {total:g} points, but task.toml declares "
            f"scoring.max_score = {declared:g}",
            result,
        )
    return CheckOutcome(checks, None, result)


def _status(
    task: Task, run: RunResult, outcome: CheckOutcome, output_problem: str, limit_s: int
) -> tuple[Status, str]:
    """Decide the status and say honestly why (`limit_s`: the run phase's wall-clock limit)."""
    res = task.spec.resources
    if outcome.error:
        return Status.error, f"{outcome.error} — a task problem, not the submission's fault"
    if output_problem:
        return Status.invalid, f"the run phase's outputs were rejected: {output_problem}"
    if run.timed_out and run.limit == "cpu":
        cpu_s, _ = budget(limit_s, res.cpus)
        return Status.timeout, (
            f"the run phase used up its {limit_s}s time limit ({cpu_s:g} CPU-seconds) and was "
            "stopped; scored on what it had written by then"
        )
    if run.timed_out:
        _, wall_s = budget(limit_s, res.cpus)
        return Status.timeout, (
            f"the run phase was still running after {wall_s:g}s of wall-clock time "
            f"(its {limit_s}s time limit counts computing; it used {run.cpu_seconds or 0:.0f} "
            "CPU-seconds, so it was mostly waiting) and was stopped; "
            "scored on what it had written by then"
        )
    if run.oom_killed:
        return Status.graded, (
            f"the run phase was killed for exceeding its {res.memory_mb} MB memory limit; "
            "scored on what it had written by then"
        )
    if run.exit_code != 0:
        return Status.graded, (
            f"the run phase exited with code {run.exit_code} (see the run log); "
            "scored on what it had written"
        )
    return Status.graded, COMPLETED
