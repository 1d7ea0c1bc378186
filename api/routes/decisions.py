"""Stages and decisions, results release, and regrade requests: pages and JSON.

Operators decide (one applicant, or in bulk from the ranking after a preview), release a
cohort's results, and resolve regrade requests. Applicants read their results once released
and ask for a regrade. The rules live in :mod:`api.decisions`, :mod:`api.release` and
:mod:`api.regrades`; this module turns requests into calls and answers.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import case, select
from sqlalchemy.orm import Session

from api import decisions, regrades, release
from api.decisions import BulkSpec, DecisionError
from api.deps import (
    MAX_ID,
    CurrentApplicant,
    CurrentOperator,
    Principal,
    RowId,
    ServicesDep,
    SessionDep,
)
from api.models import Applicant, Cohort, RegradeRequest, TaskRow
from api.regrades import RegradeError
from api.release import ReleaseError
from api.routes.cohorts import get_cohort
from api.services import Services
from api.stages import DECISIONS
from api.views import page

router = APIRouter(tags=["decisions"])
CSS = "/static/decisions.css"


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DecisionIn(_In):
    decision: Literal["advanced", "rejected", "withdrawn"] | None
    reason: Annotated[str, Field(max_length=decisions.MAX_REASON)] = ""
    feedback: Annotated[str, Field(max_length=decisions.MAX_FEEDBACK)] | None = None


class BulkIn(_In):
    mode: Literal["top", "threshold"]
    k: Annotated[int, Field(ge=1, le=1_000_000)] | None = None
    threshold: Annotated[float, Field(ge=0, le=1)] | None = None
    reject_rest: bool = False
    reason: Annotated[str, Field(max_length=decisions.MAX_REASON)] = ""
    preview: bool = True
    # The fingerprint a preview returned: with it, the change is refused (409) unless the
    # plan computed now is the one previewed.
    plan: str | None = None


class ChangePublic(BaseModel):
    applicant_id: int
    name: str
    email: str
    rank: int | None
    composite: float | None
    stage: str
    before: str | None
    after: str
    reason: str


class BulkPublic(BaseModel):
    preview: bool
    plan: str
    changes: list[ChangePublic]
    applied: int


class ReleasePublic(BaseModel):
    cohort_id: int
    released_at: datetime | None
    released_by: str
    messages_queued: int = 0


class CheckPublic(BaseModel):
    id: str
    name: str
    score: float | None
    max_score: float | None
    feedback: str


class RegradePublic(BaseModel):
    id: int
    task_id: str
    status: str
    reason: str
    response: str
    created_at: datetime
    resolved_at: datetime | None
    outcome: str
    differences: list[dict[str, Any]] | None


class TaskResultPublic(BaseModel):
    task_id: str
    title: str
    submission_id: int | None
    received_at: datetime | None
    checks: list[CheckPublic]
    regrade: RegradePublic | None
    can_request: bool


class ResultsPublic(BaseModel):
    cohort: str
    released: bool
    released_at: datetime | None
    stage: str | None
    feedback: str | None
    tasks: list[TaskResultPublic]
    regrade_days: int | None
    regrade_open: bool
    regrade_closes_at: datetime | None


class RegradeIn(_In):
    task_id: Annotated[str, Field(max_length=64)]
    reason: Annotated[str, Field(max_length=regrades.MAX_REASON)]


class ResolveIn(_In):
    action: Literal["accept", "decline"]
    response: Annotated[str, Field(max_length=regrades.MAX_RESPONSE)]


class RegradeAdminPublic(RegradePublic):
    applicant_id: int
    applicant: str
    cohort_id: int
    submission_id: int
    resolved_by: str
    grading_before_id: int | None
    grading_after_id: int | None


# -- helpers ----------------------------------------------------------------------------


def _actor(who: Principal) -> str:
    assert who.user is not None
    return f"{who.user.role}:{who.user.username}"


def _applicant(db: Session, applicant_id: int) -> Applicant:
    a = db.get(Applicant, applicant_id)
    if a is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such applicant")
    return a


def _me(who: Principal) -> Applicant:
    assert who.applicant is not None
    return who.applicant


def _spec(body: BulkIn) -> BulkSpec:
    return BulkSpec(
        mode=body.mode, k=body.k, threshold=body.threshold,
        reject_rest=body.reject_rest, reason=body.reason,
    )  # fmt: skip


def _admin_request(db: Session, req: RegradeRequest) -> RegradeAdminPublic:
    a = db.get(Applicant, req.applicant_id)
    assert a is not None
    return RegradeAdminPublic(
        **regrades.public(db, req),
        applicant_id=a.id,
        applicant=f"{a.name} <{a.email}>" if a.name else a.email,
        cohort_id=a.cohort_id,
        submission_id=req.submission_id,
        resolved_by=req.resolved_by,
        grading_before_id=req.grading_before_id,
        grading_after_id=regrades.after_id(db, req),
    )


def _requests(db: Session, state: str | None) -> list[RegradeRequest]:
    """Regrade requests, open ones first, oldest first within each status."""
    q = select(RegradeRequest).order_by(
        case((RegradeRequest.status == "open", 0), else_=1), RegradeRequest.id
    )
    if state is not None:
        q = q.where(RegradeRequest.status == state)
    return list(db.scalars(q))


def _resolve(
    db: Session, services: Services, req: RegradeRequest, accept: bool, response: str, actor: str
) -> None:
    done = regrades.resolve(
        db, req, accept=accept, response=response, actor=actor,
        base_url=services.settings.base_url,
    )  # fmt: skip
    job = (done.job.id, done.job.queue) if done.job else None
    db.commit()
    if job is not None and services.queue is not None:
        services.queue.enqueue(*job)


# -- JSON: decisions --------------------------------------------------------------------


@router.get("/api/v1/cohorts/{cohort_id}/decisions", response_model=list[decisions.BoardRow])
def list_decisions(
    cohort_id: RowId, who: CurrentOperator, db: SessionDep
) -> list[decisions.BoardRow]:
    """Every applicant of the cohort: stage, rank and composite, decision, reason, feedback."""
    return decisions.board(db, get_cohort(db, cohort_id))


@router.post("/api/v1/cohorts/{cohort_id}/decisions", response_model=BulkPublic)
def bulk_decisions(
    cohort_id: RowId, body: BulkIn, who: CurrentOperator, db: SessionDep
) -> BulkPublic:
    """Advance the top `k` or everyone with composite ≥ `threshold` (and with `reject_rest`,
    reject every undecided applicant not advanced, `reason` required). `preview: true` (the
    default) changes nothing and returns the plan and its fingerprint; send it back as
    `plan` with `preview: false` to apply exactly that plan (409 if it changed since)."""
    cohort = get_cohort(db, cohort_id)
    try:
        changes = decisions.plan_bulk(db, cohort, _spec(body))
    except DecisionError as e:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(e)) from None
    plan = decisions.fingerprint(changes)
    applied = 0
    if not body.preview:
        if body.plan is not None and body.plan != plan:
            raise HTTPException(
                status.HTTP_409_CONFLICT, "the plan changed since the preview: preview again"
            )
        applied = decisions.apply_plan(db, cohort, changes, actor=_actor(who))
        db.commit()
    return BulkPublic(
        preview=body.preview,
        plan=plan,
        changes=[ChangePublic(**vars(c)) for c in changes],
        applied=applied,
    )


@router.put("/api/v1/applicants/{applicant_id}/decision", response_model=decisions.BoardRow)
def put_decision(
    applicant_id: RowId, body: DecisionIn, who: CurrentOperator, db: SessionDep
) -> decisions.BoardRow:
    """Set (or with `decision: null`, clear) one applicant's decision; a reason is required
    for rejected and withdrawn. `feedback`, when given, replaces their feedback message."""
    a = _applicant(db, applicant_id)
    try:
        decisions.set_decision(
            db, a, body.decision, body.reason, actor=_actor(who), feedback=body.feedback
        )
    except DecisionError as e:
        db.rollback()
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(e)) from None
    db.commit()
    row = next(r for r in decisions.board(db, a.cohort) if r.applicant_id == a.id)
    return row


@router.get("/api/v1/cohorts/{cohort_id}/decisions/export.csv", response_class=Response)
def export_decisions(cohort_id: RowId, who: CurrentOperator, db: SessionDep) -> Response:
    """Stages and decisions as CSV, one row per applicant (formula-safe cells)."""
    cohort = get_cohort(db, cohort_id)
    return Response(
        decisions.export_csv(db, cohort),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="decisions-cohort-{cohort.id}.csv"'},
    )


# -- JSON: release ----------------------------------------------------------------------


@router.post("/api/v1/cohorts/{cohort_id}/release", response_model=ReleasePublic)
def post_release(
    cohort_id: RowId, who: CurrentOperator, db: SessionDep, services: ServicesDep
) -> ReleasePublic:
    """Release the cohort's results to its applicants and queue one message each (409 if
    already released)."""
    cohort = get_cohort(db, cohort_id)
    try:
        n = release.release(db, cohort, actor=_actor(who), base_url=services.settings.base_url)
    except ReleaseError as e:
        raise HTTPException(status.HTTP_409_CONFLICT, str(e)) from None
    db.commit()
    return ReleasePublic(
        cohort_id=cohort.id,
        released_at=cohort.results_released_at,
        released_by=cohort.results_released_by,
        messages_queued=n,
    )


@router.delete("/api/v1/cohorts/{cohort_id}/release", response_model=ReleasePublic)
def delete_release(cohort_id: RowId, who: CurrentOperator, db: SessionDep) -> ReleasePublic:
    """Withdraw a release: applicants no longer see results. Messages already sent stay sent."""
    cohort = get_cohort(db, cohort_id)
    try:
        release.withdraw(db, cohort, actor=_actor(who))
    except ReleaseError as e:
        raise HTTPException(status.HTTP_409_CONFLICT, str(e)) from None
    db.commit()
    return ReleasePublic(cohort_id=cohort.id, released_at=None, released_by="")


# -- JSON: applicants' results and regrade requests --------------------------------------


@router.get("/api/v1/me/results", response_model=ResultsPublic)
def my_results(who: CurrentApplicant, db: SessionDep) -> ResultsPublic:
    """The applicant's results once their cohort's are released (before: `released: false`
    and nothing else): stage in words, applicant-visible checks, feedback, regrade requests."""
    return ResultsPublic.model_validate(release.results_for(db, _me(who)))


@router.get("/api/v1/me/regrade-requests", response_model=list[RegradePublic])
def my_regrade_requests(who: CurrentApplicant, db: SessionDep) -> list[RegradePublic]:
    """The applicant's own regrade requests with their status, response and outcome."""
    reqs = db.scalars(
        select(RegradeRequest)
        .where(RegradeRequest.applicant_id == _me(who).id)
        .order_by(RegradeRequest.id)
    )
    return [RegradePublic(**regrades.public(db, r)) for r in reqs]


@router.post("/api/v1/me/regrade-requests", response_model=RegradePublic, status_code=201)
def create_regrade_request(body: RegradeIn, who: CurrentApplicant, db: SessionDep) -> RegradePublic:
    """Ask for a regrade of one task: once per task, with a reason, within the cohort's
    regrade window after release."""
    try:
        req = regrades.create(db, _me(who), body.task_id, body.reason)
    except RegradeError as e:
        db.rollback()
        raise HTTPException(e.status_code, str(e)) from None
    db.commit()
    return RegradePublic(**regrades.public(db, req))


@router.get("/api/v1/regrade-requests", response_model=list[RegradeAdminPublic])
def list_regrade_requests(
    who: CurrentOperator,
    db: SessionDep,
    state: Annotated[Literal["open", "accepted", "declined"] | None, Query(alias="status")] = None,
) -> list[RegradeAdminPublic]:
    """Every regrade request (open first), or those of one status."""
    return [_admin_request(db, r) for r in _requests(db, state)]


@router.patch("/api/v1/regrade-requests/{request_id}", response_model=RegradeAdminPublic)
def patch_regrade_request(
    request_id: RowId, body: ResolveIn, who: CurrentOperator, db: SessionDep, services: ServicesDep
) -> RegradeAdminPublic:
    """Accept (the automatic grading runs again where the task changed since) or decline an
    open request; a response is required and the applicant is sent a message."""
    req = db.get(RegradeRequest, request_id)
    if req is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such regrade request")
    try:
        _resolve(db, services, req, body.action == "accept", body.response, _actor(who))
    except RegradeError as e:
        db.rollback()
        raise HTTPException(e.status_code, str(e)) from None
    return _admin_request(db, req)


# -- pages: decisions -------------------------------------------------------------------


async def _form(request: Request) -> dict[str, str]:
    data = await request.form()
    return {k: v for k, v in data.items() if isinstance(v, str) and k != "csrf_token"}


def _decisions_page(
    request: Request,
    who: Principal,
    db: Session,
    cohort: Cohort,
    *,
    form: dict[str, str] | None = None,
    error: str = "",
    message: str = "",
    plan: list[decisions.Change] | None = None,
) -> HTMLResponse:
    rows = decisions.board(db, cohort)
    resp = page(
        request,
        "decisions.html.j2",
        who,
        cohort=cohort,
        rows=rows,
        form=form or {},
        error=error,
        message=message,
        plan=plan,
        fingerprint=decisions.fingerprint(plan) if plan is not None else "",
        decisions=DECISIONS,
        css=CSS,
    )
    if error:
        resp.status_code = 422
    return resp


@router.get(
    "/admin/cohorts/{cohort_id}/decisions", response_class=HTMLResponse, include_in_schema=False
)
def decisions_page(
    cohort_id: RowId,
    request: Request,
    who: CurrentOperator,
    db: SessionDep,
    done: Annotated[int, Query(ge=-1, le=1_000_000)] = -1,
) -> HTMLResponse:
    # The page words its own message from a number: nothing from the query string is echoed.
    message = f"{done} decision(s) changed." if done >= 0 else ""
    return _decisions_page(request, who, db, get_cohort(db, cohort_id), message=message)


def _form_spec(form: dict[str, str]) -> BulkSpec:
    mode = form.get("mode", "")
    k = threshold = None
    if mode == "top":
        raw = form.get("k", "").strip()
        if not raw.isdigit() or len(raw) > 7 or int(raw) < 1:
            raise DecisionError(f"Top K: {raw[:20]!r} is not a whole number from 1 up")
        k = int(raw)
    elif mode == "threshold":
        raw = form.get("threshold", "").strip()
        try:
            threshold = float(raw)
        except ValueError:
            raise DecisionError(
                f"Threshold: {raw[:20]!r} is not a number from 0 to 1 (for example 0.65)"
            ) from None
    else:
        raise DecisionError("Choose: advance the top K, or everyone at or above a threshold")
    return BulkSpec(
        mode=mode, k=k, threshold=threshold,
        reject_rest=form.get("reject_rest") == "1", reason=form.get("reason", ""),
    )  # fmt: skip


@router.post(
    "/admin/cohorts/{cohort_id}/decisions/bulk",
    response_class=HTMLResponse,
    include_in_schema=False,
    response_model=None,
)
async def decisions_bulk(
    cohort_id: RowId, request: Request, who: CurrentOperator, db: SessionDep
) -> Response:
    """Preview a bulk decision (nothing stored), or apply the plan previewed."""
    cohort = get_cohort(db, cohort_id)
    form = await _form(request)
    try:
        changes = decisions.plan_bulk(db, cohort, _form_spec(form))
    except DecisionError as e:
        return _decisions_page(request, who, db, cohort, form=form, error=str(e))
    if form.get("action") != "confirm":
        return _decisions_page(request, who, db, cohort, form=form, plan=changes)
    if form.get("plan") != decisions.fingerprint(changes):
        return _decisions_page(
            request, who, db, cohort, form=form, plan=changes,
            error="The ranking or a decision changed since the preview: check this new preview.",
        )  # fmt: skip
    n = decisions.apply_plan(db, cohort, changes, actor=_actor(who))
    db.commit()
    return RedirectResponse(f"/admin/cohorts/{cohort.id}/decisions?done={n}", status_code=303)


def _one_page(
    request: Request,
    who: Principal,
    db: Session,
    a: Applicant,
    *,
    form: dict[str, str] | None = None,
    error: str = "",
) -> HTMLResponse:
    row = next(r for r in decisions.board(db, a.cohort) if r.applicant_id == a.id)
    resp = page(
        request,
        "decisions_applicant.html.j2",
        who,
        cohort=a.cohort,
        row=row,
        form=form,
        error=error,
        decisions=DECISIONS,
        css=CSS,
    )
    if error:
        resp.status_code = 422
    return resp


@router.get(
    "/admin/applicants/{applicant_id}/decision",
    response_class=HTMLResponse,
    include_in_schema=False,
)
def decision_page(
    applicant_id: RowId, request: Request, who: CurrentOperator, db: SessionDep
) -> HTMLResponse:
    return _one_page(request, who, db, _applicant(db, applicant_id))


@router.post(
    "/admin/applicants/{applicant_id}/decision",
    response_class=HTMLResponse,
    include_in_schema=False,
    response_model=None,
)
async def decision_save(
    applicant_id: RowId, request: Request, who: CurrentOperator, db: SessionDep
) -> Response:
    a = _applicant(db, applicant_id)
    form = await _form(request)
    decision = form.get("decision") or None
    try:
        decisions.set_decision(
            db, a, decision, form.get("reason", ""), actor=_actor(who),
            feedback=form.get("feedback", ""),
        )  # fmt: skip
    except DecisionError as e:
        db.rollback()
        return _one_page(request, who, db, a, form=form, error=str(e))
    db.commit()
    return RedirectResponse(f"/admin/cohorts/{a.cohort_id}/decisions?done=1", status_code=303)


# -- pages: release ---------------------------------------------------------------------


def _release_page(
    request: Request, who: Principal, db: Session, cohort: Cohort, *, error: str = "",
    message: str = "",
) -> HTMLResponse:  # fmt: skip
    example_applicant = db.scalar(
        select(Applicant).where(Applicant.cohort_id == cohort.id).order_by(Applicant.id).limit(1)
    )
    example = (
        release.results_for(db, example_applicant, preview_as=True) if example_applicant else None
    )
    resp = page(
        request,
        "release.html.j2",
        who,
        cohort=cohort,
        summary=release.preview(db, cohort),
        example=example,
        example_who=example_applicant,
        error=error,
        message=message,
        css=CSS,
    )
    if error:
        resp.status_code = 409
    return resp


@router.get(
    "/admin/cohorts/{cohort_id}/release", response_class=HTMLResponse, include_in_schema=False
)
def release_page(
    cohort_id: RowId, request: Request, who: CurrentOperator, db: SessionDep,
    queued: Annotated[int, Query(ge=-1, le=1_000_000)] = -1,
    withdrawn: Annotated[int, Query(ge=0, le=1)] = 0,
) -> HTMLResponse:  # fmt: skip
    message = ""
    if queued >= 0:
        message = f"Results released; {queued} message(s) queued."
    elif withdrawn:
        message = (
            "Release withdrawn: applicants no longer see results. Messages already sent stay sent."
        )
    return _release_page(request, who, db, get_cohort(db, cohort_id), message=message)


@router.post(
    "/admin/cohorts/{cohort_id}/release",
    response_class=HTMLResponse,
    include_in_schema=False,
    response_model=None,
)
async def release_post(
    cohort_id: RowId, request: Request, who: CurrentOperator, db: SessionDep, services: ServicesDep
) -> Response:
    cohort = get_cohort(db, cohort_id)
    form = await _form(request)
    try:
        if form.get("action") == "withdraw":
            release.withdraw(db, cohort, actor=_actor(who))
            target = "withdrawn=1"
        else:
            n = release.release(db, cohort, actor=_actor(who), base_url=services.settings.base_url)
            target = f"queued={n}"
    except ReleaseError as e:
        db.rollback()
        return _release_page(request, who, db, cohort, error=str(e))
    db.commit()
    return RedirectResponse(f"/admin/cohorts/{cohort.id}/release?{target}", status_code=303)


# -- pages: regrade requests --------------------------------------------------------------


def _regrades_page(
    request: Request, who: Principal, db: Session, *, error: str = "", message: str = "",
    form: dict[str, str] | None = None,
) -> HTMLResponse:  # fmt: skip
    items = [_admin_request(db, r) for r in _requests(db, None)]
    titles = dict(db.execute(select(TaskRow.id, TaskRow.title)).all())
    resp = page(
        request,
        "regrade_requests.html.j2",
        who,
        items=items,
        titles=titles,
        error=error,
        message=message,
        form=form or {},
        css=CSS,
    )
    if error:
        resp.status_code = 422
    return resp


@router.get("/admin/regrade-requests", response_class=HTMLResponse, include_in_schema=False)
def regrades_page(
    request: Request,
    who: CurrentOperator,
    db: SessionDep,
    resolved: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
) -> HTMLResponse:
    message = f"Request #{resolved} resolved; the applicant was sent a message." if resolved else ""
    return _regrades_page(request, who, db, message=message)


@router.post(
    "/admin/regrade-requests/{request_id}",
    response_class=HTMLResponse,
    include_in_schema=False,
    response_model=None,
)
async def regrade_resolve(
    request_id: RowId, request: Request, who: CurrentOperator, db: SessionDep, services: ServicesDep
) -> Response:
    form = await _form(request)
    req = db.get(RegradeRequest, request_id)
    try:
        if req is None:
            raise RegradeError(f"Request #{request_id}: no such regrade request")
        action = form.get("action")
        if action not in ("accept", "decline"):
            raise RegradeError("Choose Accept or Decline")
        _resolve(db, services, req, action == "accept", form.get("response", ""), _actor(who))
    except RegradeError as e:
        db.rollback()
        return _regrades_page(
            request, who, db, error=str(e), form={**form, "request_id": str(request_id)}
        )
    return RedirectResponse(f"/admin/regrade-requests?resolved={request_id}", status_code=303)


# -- pages: the applicant's results ------------------------------------------------------


def _results_page(
    request: Request, who: Principal, db: Session, *, error: str = "",
    form: dict[str, str] | None = None, message: str = "", code: int = 200,
) -> HTMLResponse:  # fmt: skip
    resp = page(
        request,
        "results.html.j2",
        who,
        r=release.results_for(db, _me(who)),
        error=error,
        message=message,
        form=form or {},
        max_reason=regrades.MAX_REASON,
        css=CSS,
    )
    resp.status_code = code
    return resp


@router.get("/portal/results", response_class=HTMLResponse, include_in_schema=False)
def results_page(
    request: Request,
    who: CurrentApplicant,
    db: SessionDep,
    sent: Annotated[int, Query(ge=0, le=1)] = 0,
) -> HTMLResponse:
    message = "Your regrade request was sent." if sent else ""
    return _results_page(request, who, db, message=message)


@router.post(
    "/portal/results/regrade",
    response_class=HTMLResponse,
    include_in_schema=False,
    response_model=None,
)
async def results_regrade(request: Request, who: CurrentApplicant, db: SessionDep) -> Response:
    form = await _form(request)
    try:
        regrades.create(db, _me(who), form.get("task_id", ""), form.get("reason", ""))
    except RegradeError as e:
        db.rollback()
        code = 422 if e.status_code == 422 else e.status_code
        return _results_page(request, who, db, error=str(e), form=form, code=code)
    db.commit()
    return RedirectResponse("/portal/results?sent=1", status_code=303)
