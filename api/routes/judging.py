"""The rubric judge in the service: pre-scores, agreement with reviewers, stand-in decisions.

JSON:

* ``GET /api/v1/submissions/{id}/judgments``: the judge's latest pre-score per criterion,
  when :func:`api.judging.judge_view` lets the viewer see them (``shown`` false and no
  judgments otherwise, with ``why``): the same rule as the review page.
* ``GET /api/v1/tasks/{task_id}/judge-agreement`` (operators): per criterion, kappa and mean
  offset of the judge against blind human consensus, with 95% intervals.
* ``GET /api/v1/tasks/{task_id}/judge-stand-ins`` (operators), ``PUT`` (grant one:
  ``{"criterion", "min_reviews", "threshold"}``; 422 with a one-line ``detail`` when the
  agreement does not allow it) and ``DELETE .../judge-stand-ins/{criterion}`` (withdraw).

HTML: the task page's stand-in form posts to ``/review/tasks/{task_id}/judge-stand-ins``
and each granted stand-in's button to ``.../{criterion}/withdraw``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from api import judging
from api.deps import CurrentOperator, CurrentReviewer, RowId, SessionDep
from api.models import Cohort, JudgeStandIn, TaskRow
from api.routes.submissions import _get
from api.routes.tasks import _task, _task_page
from api.views import independence

router = APIRouter(tags=["judging"])


@router.get("/api/v1/submissions/{submission_id}/judgments")
def submission_judgments(
    submission_id: RowId, who: CurrentReviewer, db: SessionDep
) -> dict[str, Any]:
    """The judge's pre-scores of one submission, if this viewer may see them now.

    Blind cohorts: a reviewer sees them only after saving their own review of it; assist:
    always, as a suggestion; off: nobody. Operators see them unless the judge is off.
    Never final: ``label`` says so on every judgment."""
    sub = _get(db, submission_id)
    cohort = db.get(Cohort, sub.cohort_id)
    task = db.get(TaskRow, sub.task_id)
    assert cohort is not None and task is not None
    view = judging.judge_view(who.user, cohort, sub.id, independence(db, who))
    shown = judging.latest_judgments(db, sub, task) if view.shown else []
    return {
        "submission": sub.id,
        "task": sub.task_id,
        "mode": view.mode,
        "shown": view.shown,
        "why": view.why,
        "suggestion": view.suggestion,
        "judgments": [j.as_dict() for j in shown],
    }


@router.get("/api/v1/tasks/{task_id}/judge-agreement")
def judge_agreement(task_id: str, who: CurrentOperator, db: SessionDep) -> dict[str, Any]:
    """Per criterion: the judge against blind human consensus (kappa, mean offset, 95% CIs)."""
    task = _task(db, task_id)
    return {
        "task": task.id,
        "method": judging.CI_RULE,
        "criteria": [a.as_dict() for a in judging.task_agreement(db, task)],
    }


class StandInIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    criterion: Annotated[str, Field(min_length=1, max_length=100)]
    min_reviews: int
    threshold: float


def _stand_in_out(row: JudgeStandIn) -> dict[str, Any]:
    return {
        "task": row.task_id,
        "criterion": row.criterion,
        "enabled": row.enabled,
        "min_reviews": row.min_reviews,
        "threshold": row.threshold,
        "measured": row.measured,
        "decided_by": row.decided_by,
        "decided_at": row.decided_at.isoformat(),
    }


@router.get("/api/v1/tasks/{task_id}/judge-stand-ins")
def list_stand_ins(task_id: str, who: CurrentOperator, db: SessionDep) -> list[dict[str, Any]]:
    """Every stand-in decision of the task (withdrawn ones with ``enabled`` false)."""
    _task(db, task_id)
    rows = db.scalars(
        select(JudgeStandIn).where(JudgeStandIn.task_id == task_id).order_by(JudgeStandIn.criterion)
    )
    return [_stand_in_out(r) for r in rows]


@router.put("/api/v1/tasks/{task_id}/judge-stand-ins")
def grant_stand_in(
    task_id: str, body: StandInIn, who: CurrentOperator, db: SessionDep
) -> dict[str, Any]:
    """Let the judge stand in for humans on a criterion: refused (422) unless at least
    ``min_reviews`` blind-reviewed submissions are paired and the kappa's lower 95% bound is
    above ``threshold``. Audited."""
    task = _task(db, task_id)
    assert who.user is not None
    try:
        row = judging.set_stand_in(
            db,
            task,
            body.criterion,
            min_reviews=body.min_reviews,
            threshold=body.threshold,
            actor=who.user.username,
        )
    except judging.StandInRefused as e:
        db.rollback()
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(e)) from None
    db.commit()
    return _stand_in_out(row)


@router.delete("/api/v1/tasks/{task_id}/judge-stand-ins/{criterion}")
def withdraw_stand_in(
    task_id: str, criterion: str, who: CurrentOperator, db: SessionDep
) -> dict[str, Any]:
    """Humans score the criterion again (404 when the judge was not standing in). Audited."""
    task = _task(db, task_id)
    assert who.user is not None
    if not judging.clear_stand_in(db, task, criterion, actor=who.user.username):
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, f"the judge does not stand in on {criterion!r}"
        )
    db.commit()
    row = db.get(JudgeStandIn, (task.id, criterion))
    assert row is not None
    return _stand_in_out(row)


def _field(form: Any, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


@router.post(
    "/review/tasks/{task_id}/judge-stand-ins", response_class=HTMLResponse, include_in_schema=False
)
async def grant_form(
    task_id: str, request: Request, who: CurrentOperator, db: SessionDep
) -> HTMLResponse:
    """The task page's stand-in form: granted (the page says so) or refused (422, the
    operator's input kept, the reason in the page)."""
    task = _task(db, task_id)
    assert who.user is not None
    form = await request.form()
    typed = {k: _field(form, k) for k in ("criterion", "min_reviews", "threshold")}
    error = ""
    try:
        min_reviews = int(typed["min_reviews"])
    except ValueError:
        error = f"N (blind reviews required): {typed['min_reviews'][:20]!r} is not a whole number"
    try:
        threshold = float(typed["threshold"])
    except ValueError:
        error = error or f"threshold: {typed['threshold'][:20]!r} is not a number"
    if not error:
        try:
            judging.set_stand_in(
                db,
                task,
                typed["criterion"],
                min_reviews=min_reviews,
                threshold=threshold,
                actor=who.user.username,
            )
        except judging.StandInRefused as e:
            db.rollback()
            error = str(e)
    if error:
        response = _task_page(request, who, db, task, stand_in_error=error, stand_in_form=typed)
        response.status_code = status.HTTP_422_UNPROCESSABLE_CONTENT
        return response
    db.commit()
    name = _criterion_name(task, typed["criterion"])
    return _task_page(request, who, db, task, f"The judge now stands in for humans on {name}.")


@router.post(
    "/review/tasks/{task_id}/judge-stand-ins/{criterion}/withdraw",
    response_class=HTMLResponse,
    include_in_schema=False,
)
def withdraw_form(
    task_id: str, criterion: str, request: Request, who: CurrentOperator, db: SessionDep
) -> HTMLResponse:
    task = _task(db, task_id)
    assert who.user is not None
    name = _criterion_name(task, criterion)
    if judging.clear_stand_in(db, task, criterion, actor=who.user.username):
        db.commit()
        message = f"Withdrawn: humans score {name} again."
    else:
        message = f"The judge was not standing in on {name}."
    return _task_page(request, who, db, task, message)


def _criterion_name(task: TaskRow, criterion: str) -> str:
    for c in task.rubric.get("criteria", []):
        if c["id"] == criterion:
            return str(c["name"])
    return criterion
