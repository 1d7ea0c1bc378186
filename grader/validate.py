"""`assess task validate`: a task is publishable only if its reference and known-bad cases
grade as declared — solution/ full marks, starter/ less, each bad case under its ceiling —
the solution beats the best bad case by the task's minimum spread, and lint finds no error."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel

from grader.cases import case_folder
from grader.pipeline import grade
from grader.prepare import prepare
from grader.report import Report, Status
from grader.sandbox import Sandbox
from grader.spec import EXPECT_FILE, Expectation
from grader.task import Task
from grader.task_lint import Finding, lint

_TOL = 1e-6


class CaseResult(BaseModel):
    """One graded case and whether it met its expectation."""

    case: str
    role: str  # solution | starter | bad | outcome (an experiment re-run, research-taste)
    status: str
    score: float | None
    max_score: float
    expected: str
    ok: bool
    note: str
    seconds: float


class ValidationResult(BaseModel):
    task: str
    version: str
    digest: str
    ok: bool
    prepared: bool
    cases: list[CaseResult]
    spread: float | None  # (solution - best bad case) / max_score: how well the task separates
    min_spread: float  # the task's rule (task.toml [scoring] min_spread)
    spread_ok: bool
    lint: list[Finding]


@dataclass(frozen=True)
class _Case:
    name: str
    role: str
    path: Path
    ceiling: float | None  # None: must reach full marks
    statuses: tuple[str, ...]
    expectation: Expectation | None = None  # bad cases: a variant of solution/ is built


def _cases(task: Task) -> list[_Case]:
    full = task.spec.scoring.max_score
    cases = [
        _Case("solution", "solution", task.solution, None, ("graded",)),
        _Case("starter", "starter", task.starter, full, ()),
    ]
    for name, (path, exp) in task.bad_cases().items():
        cases.append(_Case(f"bad/{name}", "bad", path, exp.max_score, exp.status, exp))
    return cases


def _judge(case: _Case, report: Report) -> tuple[bool, str, str]:
    score = report.score
    full = report.max_score
    if report.status == Status.error:
        return False, "", f"grading error: {report.explanation}"
    if case.statuses and report.status.value not in case.statuses:
        return False, "", f"status {report.status.value}, expected {'/'.join(case.statuses)}"
    s = score or 0.0
    if case.ceiling is None:
        ok = report.status == Status.graded and s >= full - _TOL
        return ok, f"= {full:g}", "" if ok else f"reference earned {s:g} of {full:g}"
    if case.role == "starter":
        ok = s < full - _TOL
        return ok, f"< {full:g}", "" if ok else "the starter already earns full marks"
    ok = s <= case.ceiling + _TOL
    return ok, f"<= {case.ceiling:g}", "" if ok else f"earned {s:g}, above its ceiling"


def validate(
    task: Task,
    sandbox: Sandbox,
    *,
    jobs: int = 2,
    on_case: Callable[[CaseResult], None] | None = None,
) -> ValidationResult:
    """Prepare the task, grade every reference case in parallel and judge each.

    Raises:
        TaskSpecError: the task is malformed or its prepare step fails.
    """
    findings = lint(task)
    prepared = prepare(task, sandbox)
    cases = _cases(task)

    def run(case: _Case) -> CaseResult:
        if case.expectation is None:
            report = grade(task, case.path, sandbox=sandbox, exclude=frozenset({EXPECT_FILE}))
        else:
            with case_folder(task, case.path, case.expectation) as folder:
                report = grade(task, folder, sandbox=sandbox, exclude=frozenset({EXPECT_FILE}))
        ok, expected, note = _judge(case, report)
        if not note and report.status != Status.graded:
            note = report.explanation
        result = CaseResult(
            case=case.name,
            role=case.role,
            status=report.status.value,
            score=report.score,
            max_score=report.max_score,
            expected=expected,
            ok=ok,
            note=note,
            seconds=report.timings.total,
        )
        if on_case:
            on_case(result)
        return result

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        results = list(pool.map(run, cases))
    results += _outcome_rows(task, sandbox, jobs, on_case)
    spread = _spread(results, task.spec.scoring.max_score)
    min_spread = task.spec.scoring.min_spread
    # No bad case at all gives no spread: lint reports that; a rule of 0 needs none.
    spread_ok = min_spread == 0 or (spread is not None and spread >= min_spread - _TOL)
    return ValidationResult(
        task=task.id,
        version=task.spec.version,
        digest=task.digest,
        ok=all(r.ok for r in results)
        and spread_ok
        and not any(f.level == "error" for f in findings),
        prepared=prepared,
        cases=results,
        spread=spread,
        min_spread=min_spread,
        spread_ok=spread_ok,
        lint=findings,
    )


def _outcome_rows(
    task: Task, sandbox: Sandbox, jobs: int, on_case: Callable[[CaseResult], None] | None
) -> list[CaseResult]:
    """Research-taste tasks: re-run each experiment behind the key (one row per script)."""
    if task.questions is None:
        return []
    from grader.questions.outcomes import OutcomeRun, rerun_outcomes

    def row(r: OutcomeRun) -> CaseResult:
        return CaseResult(
            case=f"outcome/{r.script}",
            role="outcome",
            status=r.status,
            score=None,
            max_score=task.spec.scoring.max_score,
            expected="as recorded",
            ok=r.ok,
            note=r.note,
            seconds=r.seconds,
        )

    def tick(r: OutcomeRun) -> None:
        if on_case:
            on_case(row(r))

    return [row(r) for r in rerun_outcomes(task, sandbox, jobs=jobs, on_run=tick)]


def _spread(results: list[CaseResult], max_score: float) -> float | None:
    solution = next((r.score for r in results if r.role == "solution"), None)
    bad = [r.score or 0.0 for r in results if r.role == "bad"]
    if solution is None or not bad:
        return None
    return round((solution - max(bad)) / max_score, 4)
