"""Tasks for reviewers (agreement, score distribution) and operators (sync, re-grade,
integrity pass)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from api import calibration, catalog, judging
from api.deps import CurrentOperator, CurrentReviewer, Principal, ServicesDep, SessionDep
from api.grading import enqueue_regrade
from api.integrity import run_pass
from api.models import Submission, TaskRow
from api.plots import distribution_svg
from api.reviewing import agreement
from api.schemas import (
    AgreementPublic,
    IntegrityPairPublic,
    IntegrityPublic,
    RegradePublic,
    TaskPublic,
)
from api.services import Services
from api.uploads import refresh_upload_limits
from api.views import independence, page

router = APIRouter(tags=["tasks"])


def _task(db: Session, task_id: str) -> TaskRow:
    task = db.get(TaskRow, task_id)
    if task is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such task")
    return task


def _public(t: TaskRow) -> TaskPublic:
    return TaskPublic(
        id=t.id,
        title=t.title,
        kind=t.kind,
        version=t.version,
        max_score=t.max_score,
        has_rubric=bool(t.rubric),
    )


@router.get("/api/v1/tasks", response_model=list[TaskPublic])
def list_tasks(who: CurrentReviewer, db: SessionDep) -> list[TaskPublic]:
    """Every task the service grades."""
    return [_public(t) for t in db.scalars(select(TaskRow).order_by(TaskRow.id))]


@router.get("/api/v1/tasks/{task_id}/agreement", response_model=AgreementPublic)
def task_agreement(task_id: str, who: CurrentReviewer, db: SessionDep) -> AgreementPublic:
    """Reviewer agreement: quadratic-weighted kappa on tiers, and what needs adjudication.

    A reviewer's figures cover only the submissions they have reviewed (Independence);
    operators' cover every submission.
    """
    _task(db, task_id)
    return AgreementPublic(**agreement(db, task_id, independence(db, who)))


@router.get("/api/v1/tasks/{task_id}/distribution.svg", response_class=Response)
def task_distribution(task_id: str, who: CurrentReviewer, db: SessionDep) -> Response:
    """A histogram of the task's scores (0 to 100 %), as SVG.

    Each score as the viewer may see it (Independence): a reviewer's histogram blends in
    rubric scores only where they have saved their own review.
    """
    task = _task(db, task_id)
    score = independence(db, who).task_score_sql()
    values = [
        float(v)
        for v in db.scalars(select(score).where(Submission.task_id == task_id))
        if v is not None
    ]
    return Response(
        distribution_svg(f"{task.id}: task scores", values),
        media_type="image/svg+xml",
        headers={"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'"},
    )


@router.post("/api/v1/tasks/sync", response_model=list[TaskPublic])
def sync(who: CurrentOperator, db: SessionDep, services: ServicesDep) -> list[TaskPublic]:
    """Reload task folders (after a fix): versions, digests and rubrics are refreshed."""
    catalog.sync_tasks(db, services.settings.tasks_dirs)
    refresh_upload_limits(services, db)
    db.commit()
    return [_public(t) for t in db.scalars(select(TaskRow).order_by(TaskRow.id))]


@router.post("/api/v1/tasks/{task_id}/regrade", response_model=RegradePublic)
def regrade(
    task_id: str, who: CurrentOperator, db: SessionDep, services: ServicesDep
) -> RegradePublic:
    """Re-grade every submission not yet graded at the task's current digest.

    The task folder is reloaded first. Old reports are kept; each new one links to the
    previous and lists the differences.
    """
    task = _task(db, task_id)
    catalog.upsert_task(db, catalog.load(task.root))
    refresh_upload_limits(services, db)
    jobs = enqueue_regrade(db, task)
    db.commit()
    if services.queue is not None:
        for job in jobs:
            services.queue.enqueue(job.id, job.queue)
    return RegradePublic(task=task.id, digest=task.digest, queued=len(jobs))


def _integrity(db: Session, services: Services, task: TaskRow, who: Principal) -> IntegrityPublic:
    assert who.user is not None
    result = run_pass(services, db, task, actor=who.user.username)
    db.commit()
    return IntegrityPublic(
        task=task.id,
        compared=len(result.compared),
        references=result.references,
        code_method=result.code_method,
        prose_method=result.prose_method,
        flagged_pairs=[
            IntegrityPairPublic.model_validate(p.model_dump(exclude={"spans"}))
            for p in result.pairs
        ],
        skipped=result.skipped,
    )


@router.post("/api/v1/tasks/{task_id}/integrity", response_model=IntegrityPublic)
def integrity(
    task_id: str, who: CurrentOperator, db: SessionDep, services: ServicesDep
) -> IntegrityPublic:
    """Compare each applicant's latest graded submission with the others and with the
    author's reference texts; flag both reports of every pair above the task's thresholds.

    Flags ask reviewers to look (the report page shows the matching regions side by side);
    they never change a score. Re-running replaces the previous pass's flags.
    """
    return _integrity(db, services, _task(db, task_id), who)


@router.get("/review/tasks/{task_id}", response_class=HTMLResponse, include_in_schema=False)
def task_page(task_id: str, request: Request, who: CurrentReviewer, db: SessionDep) -> HTMLResponse:
    return _task_page(request, who, db, _task(db, task_id))


def _task_page(
    request: Request,
    who: Principal,
    db: Session,
    task: TaskRow,
    message: str = "",
    *,
    stand_in_error: str = "",
    stand_in_form: dict[str, str] | None = None,
) -> HTMLResponse:
    """The task page; with `stand_in_error`, the stand-in form refused (input kept)."""
    assert who.user is not None
    lines = calibration.task_calibration(db, task)
    operator = who.user.role == "operator"
    if not operator:  # a reviewer sees their own line only
        lines = [(u, c) for u, c in lines if u.id == who.user.id]
    # The judge's agreement is computed from every reviewer's scores: operators only, and
    # only for a task the judge has worked on.
    used = operator and bool(task.rubric.get("criteria")) and judging.judge_used(db, task.id)
    judge = judging.task_agreement(db, task) if used else []
    return page(
        request,
        "task.html.j2",
        who,
        task=task,
        agreement=agreement(db, task.id, independence(db, who)),
        calibration=lines,
        calibration_rule=calibration.RULE,
        message=message,
        judge=judge,
        judge_rule=judging.CI_RULE,
        stand_in_error=stand_in_error,
        stand_in_form=stand_in_form or {"criterion": "", "min_reviews": "30", "threshold": "0.6"},
    )


@router.post(
    "/review/tasks/{task_id}/integrity", response_class=HTMLResponse, include_in_schema=False
)
def integrity_form(
    task_id: str, request: Request, who: CurrentOperator, db: SessionDep, services: ServicesDep
) -> HTMLResponse:
    """Run the pass and show the task page with its result (worded here, never taken from
    the address, so no link can make the page say something else)."""
    task = _task(db, task_id)
    done = _integrity(db, services, task, who)
    message = (
        f"Integrity pass: {done.compared} submissions compared "
        f"({done.code_method} / {done.prose_method}), {len(done.flagged_pairs)} pair(s) flagged."
    )
    return _task_page(request, who, db, task, message)
