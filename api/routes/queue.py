"""Reviewers' queues: assignment and conflicts (operators), "my queue", progress.

The rules (balance, capacity, conflicts, counted submissions only, audit) live in
:mod:`api.assignment`; progress and its pace in :mod:`api.progress`. Pages render their
result or their one-line error in place, with the form's input kept.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from api import assignment
from api.assignment import AssignmentError, Plan
from api.deps import (
    MAX_ID,
    CurrentOperator,
    CurrentReviewer,
    OptionalRowId,
    Principal,
    RowId,
    ServicesDep,
    SessionDep,
)
from api.models import (
    Applicant,
    Assignment,
    Cohort,
    CohortTask,
    Review,
    ReviewConflict,
    Submission,
    User,
)
from api.progress import Line, Progress, duration, progress, rate
from api.reviewing import audit
from api.views import applicant_label, independence, page

router = APIRouter(tags=["reviewers"])

Id = Annotated[int, Field(ge=1, le=MAX_ID)]
MAX_PER_SUBMISSION = 20


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AutoAssignIn(_In):
    cohort_id: Id
    task_id: str | None = None
    per_submission: Annotated[int, Field(ge=1, le=MAX_PER_SUBMISSION)] = 2
    reviewer_ids: list[Id] | None = None
    dry_run: bool = False  # a preview: what it would create, nothing stored


class UnfilledPublic(BaseModel):
    submission_id: int
    missing: int
    reason: str


class AutoAssignPublic(BaseModel):
    created: int
    unfilled: list[UnfilledPublic]
    dry_run: bool
    per_reviewer: dict[str, int]  # reviewer username -> assignments created


class ReassignIn(_In):
    from_reviewer_id: Id
    submission_id: Id | None = None  # None: every unreviewed assignment of from_reviewer
    to_reviewer_id: Id | None = None  # required with submission_id
    reviewer_ids: list[Id] | None = None  # who may take them (moving all); default everyone


class ReassignPublic(BaseModel):
    moved: int
    unfilled: list[UnfilledPublic]


class AssignmentPublic(BaseModel):
    id: int
    submission_id: int
    reviewer_id: int
    reviewer: str
    task_id: str
    cohort_id: int
    assigned_by: str
    assigned_at: datetime
    reviewed: bool


class ConflictIn(_In):
    reviewer_id: Id | None = None  # operators name the reviewer; reviewers declare their own
    applicant_id: Id | None = None
    submission_id: Id | None = None  # the applicant of this submission
    reason: Annotated[str, Field(max_length=500)] = ""


class ConflictPublic(BaseModel):
    id: int
    reviewer_id: int
    reviewer: str
    applicant_id: int | None  # operators only
    applicant: str  # a pseudonym where the viewer may not see identities
    reason: str
    declared_by: str
    created_at: datetime
    dropped_assignments: int = 0


class CapacityIn(_In):
    capacity: Annotated[int, Field(ge=0, le=100_000)] | None


class QueueItem(BaseModel):
    submission_id: int
    task_id: str
    applicant: str
    status: str
    reviewed: bool
    url: str


class QueuePublic(BaseModel):
    assigned: int
    reviewed: int
    remaining: int
    next_id: int | None
    items: list[QueueItem]


class LinePublic(BaseModel):
    name: str
    assigned: int
    reviewed: int
    needs_adjudication: int
    remaining: int
    reviews_last_24h: int
    pace_per_hour: float | None
    eta_hours: float | None
    eta: str


class ProgressPublic(BaseModel):
    reviewers: list[LinePublic]
    tasks: list[LinePublic]
    total: LinePublic


# -- helpers ----------------------------------------------------------------------------


def _actor(who: Principal) -> str:
    assert who.user is not None
    return f"{who.user.role}:{who.user.username}"


def _unprocessable(message: str) -> HTTPException:
    return HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, message)


def _cohort(db: Session, cohort_id: int) -> Cohort:
    cohort = db.get(Cohort, cohort_id)
    if cohort is None:
        raise AssignmentError(f"no cohort with id {cohort_id}")
    return cohort


def _check_task(db: Session, cohort: Cohort, task_id: str | None) -> None:
    if task_id is None:
        return
    linked = db.get(CohortTask, (cohort.id, task_id))
    if linked is None:
        raise AssignmentError(f"task {task_id!r} is not a task of cohort {cohort.name!r}")


def _user(db: Session, user_id: int, what: str = "reviewer") -> User:
    user = db.get(User, user_id)
    if user is None:
        raise AssignmentError(f"no {what} with id {user_id}")
    return user


def _plan(db: Session, body: AutoAssignIn) -> Plan:
    cohort = _cohort(db, body.cohort_id)
    _check_task(db, cohort, body.task_id)
    return assignment.plan_auto(
        db,
        cohort_id=cohort.id,
        task_id=body.task_id,
        per_submission=body.per_submission,
        reviewer_ids=body.reviewer_ids,
    )


def _names(db: Session, counts: dict[int, int]) -> dict[str, int]:
    users = {u.id: u.username for u in db.scalars(select(User).where(User.id.in_(list(counts))))}
    return {users[rid]: n for rid, n in sorted(counts.items(), key=lambda kv: users[kv[0]])}


def _unfilled(plan: Plan) -> list[UnfilledPublic]:
    return [
        UnfilledPublic(submission_id=u.submission_id, missing=u.missing, reason=u.reason)
        for u in plan.unfilled
    ]


def _reassign(db: Session, body: ReassignIn, who: Principal) -> ReassignPublic:
    source = _user(db, body.from_reviewer_id)
    if body.submission_id is None:
        if body.to_reviewer_id is not None:
            body = body.model_copy(update={"reviewer_ids": [body.to_reviewer_id]})
        plan = assignment.reassign_all(db, source, body.reviewer_ids, actor=_actor(who))
        return ReassignPublic(moved=len(plan.created), unfilled=_unfilled(plan))
    if body.to_reviewer_id is None:
        raise AssignmentError("name the reviewer who takes the submission (to_reviewer_id)")
    found = db.scalar(
        select(Assignment).where(
            Assignment.submission_id == body.submission_id,
            Assignment.reviewer_id == source.id,
        )
    )
    if found is None:
        raise AssignmentError(f"{source.username} is not assigned submission #{body.submission_id}")
    assignment.reassign_one(db, found, _user(db, body.to_reviewer_id), actor=_actor(who))
    return ReassignPublic(moved=1, unfilled=[])


def _conflict_public(
    db: Session, secret: bytes, c: ReviewConflict, who: Principal, dropped: int = 0
) -> ConflictPublic:
    applicant = db.get(Applicant, c.applicant_id)
    reviewer = db.get(User, c.reviewer_id)
    assert applicant is not None and reviewer is not None
    operator = who.user is not None and who.user.role == "operator"
    return ConflictPublic(
        id=c.id,
        reviewer_id=c.reviewer_id,
        reviewer=reviewer.username,
        applicant_id=c.applicant_id if operator else None,
        applicant=applicant_label(secret, applicant, applicant.cohort, who),
        reason=c.reason,
        declared_by=c.declared_by,
        created_at=c.created_at,
        dropped_assignments=dropped,
    )


def _declare(db: Session, body: ConflictIn, who: Principal) -> tuple[ReviewConflict, int]:
    assert who.user is not None
    operator = who.user.role == "operator"
    if not operator and body.reviewer_id not in (None, who.user.id):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "reviewers declare their own conflicts only")
    reviewer = who.user if body.reviewer_id is None else _user(db, body.reviewer_id)
    if (body.applicant_id is None) == (body.submission_id is None):
        raise AssignmentError("name either the applicant (applicant_id) or a submission")
    if body.submission_id is not None:
        sub = db.get(Submission, body.submission_id)
        if sub is None:
            raise AssignmentError(f"no submission #{body.submission_id}")
        applicant_id = sub.applicant_id
    else:
        if not operator:  # reviewers may not know who is who: they point at a submission
            raise HTTPException(status.HTTP_403_FORBIDDEN, "reviewers name a submission")
        assert body.applicant_id is not None
        if db.get(Applicant, body.applicant_id) is None:
            raise AssignmentError(f"no applicant with id {body.applicant_id}")
        applicant_id = body.applicant_id
    return assignment.declare_conflict(
        db, reviewer, applicant_id, body.reason.strip(), actor=_actor(who)
    )


def _line(line: Line, now: datetime) -> LinePublic:
    pace = line.pace(now)
    eta = line.eta_hours(now)
    return LinePublic(
        name=line.key,
        assigned=line.assigned,
        reviewed=line.reviewed,
        needs_adjudication=line.adjudicate,
        remaining=line.remaining,
        reviews_last_24h=line.recent,
        pace_per_hour=None if pace is None else round(pace, 2),
        eta_hours=None if eta is None else round(eta, 2),
        eta=duration(eta),
    )


def _queue(db: Session, secret: bytes, who: Principal) -> QueuePublic:
    assert who.user is not None
    cohorts: dict[int, Cohort] = {}
    items = []
    for sub, reviewed in assignment.queue_items(db, who.user.id):
        if sub.cohort_id not in cohorts:
            found = db.get(Cohort, sub.cohort_id)
            assert found is not None
            cohorts[sub.cohort_id] = found
        cohort = cohorts[sub.cohort_id]
        items.append(
            QueueItem(
                submission_id=sub.id,
                task_id=sub.task_id,
                applicant=applicant_label(secret, sub.applicant, cohort, who),
                status=sub.status,
                reviewed=reviewed,
                url=f"/review/submissions/{sub.id}?queue=mine",
            )
        )
    done = sum(1 for i in items if i.reviewed)
    return QueuePublic(
        assigned=len(items),
        reviewed=done,
        remaining=len(items) - done,
        next_id=assignment.next_assigned(db, who.user.id, None),
        items=items,
    )


# -- JSON -------------------------------------------------------------------------------


@router.post("/api/v1/assignments/auto", response_model=AutoAssignPublic)
def auto_assign(body: AutoAssignIn, who: CurrentOperator, db: SessionDep) -> AutoAssignPublic:
    """Give each counted submission of the cohort (and task) `per_submission` distinct
    reviewers: least-loaded first, within capacity, never across a declared conflict.
    Existing assignments are kept (running it twice adds nothing); `dry_run` only previews."""
    try:
        plan = _plan(db, body)
    except AssignmentError as e:
        raise _unprocessable(str(e)) from None
    if not body.dry_run:
        assignment.apply(db, plan, actor=_actor(who))
        db.commit()
    return AutoAssignPublic(
        created=len(plan.created),
        unfilled=_unfilled(plan),
        dry_run=body.dry_run,
        per_reviewer=_names(db, plan.per_reviewer()),
    )


@router.post("/api/v1/assignments/reassign", response_model=ReassignPublic)
def reassign(body: ReassignIn, who: CurrentOperator, db: SessionDep) -> ReassignPublic:
    """Move one submission from one reviewer to another, or (no submission_id) all of a
    reviewer's unreviewed ones to the others, balanced; the same rules hold."""
    try:
        result = _reassign(db, body, who)
    except AssignmentError as e:
        db.rollback()
        raise _unprocessable(str(e)) from None
    db.commit()
    return result


@router.delete("/api/v1/assignments/{assignment_id}", status_code=204)
def unassign(assignment_id: RowId, who: CurrentOperator, db: SessionDep) -> None:
    """Remove one assignment (audited); a review already saved stays."""
    found = db.get(Assignment, assignment_id)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such assignment")
    assignment.unassign(db, found, actor=_actor(who))
    db.commit()


@router.get("/api/v1/assignments", response_model=list[AssignmentPublic])
def list_assignments(
    who: CurrentReviewer,
    db: SessionDep,
    reviewer: OptionalRowId = None,
    cohort: OptionalRowId = None,
    task: Annotated[str | None, Query(max_length=64)] = None,
) -> list[AssignmentPublic]:
    """Assignments of counted submissions. Reviewers see their own only (403 for others')."""
    assert who.user is not None
    if who.user.role != "operator":
        if reviewer not in (None, who.user.id):
            raise HTTPException(
                status.HTTP_403_FORBIDDEN, "reviewers see their own assignments only"
            )
        reviewer = who.user.id
    reviewed = (
        select(Review.id)
        .where(
            Review.submission_id == Assignment.submission_id,
            Review.reviewer_id == Assignment.reviewer_id,
        )
        .exists()
    )
    q = (
        select(Assignment, User.username, Submission.task_id, Submission.cohort_id, reviewed)
        .join(Submission, Submission.id == Assignment.submission_id)
        .join(User, User.id == Assignment.reviewer_id)
        .where(Submission.counted.is_(True))
        .order_by(Submission.task_id, Submission.id, User.username)
    )
    if reviewer is not None:
        q = q.where(Assignment.reviewer_id == reviewer)
    if cohort is not None:
        q = q.where(Submission.cohort_id == cohort)
    if task is not None:
        q = q.where(Submission.task_id == task)
    return [
        AssignmentPublic(
            id=a.id,
            submission_id=a.submission_id,
            reviewer_id=a.reviewer_id,
            reviewer=name,
            task_id=task_id,
            cohort_id=cohort_id,
            assigned_by=a.assigned_by,
            assigned_at=a.assigned_at,
            reviewed=bool(done),
        )
        for a, name, task_id, cohort_id, done in db.execute(q)
    ]


@router.put("/api/v1/reviewers/{user_id}/capacity", status_code=204)
def set_capacity(user_id: RowId, body: CapacityIn, who: CurrentOperator, db: SessionDep) -> None:
    """How many counted submissions of one cohort the reviewer takes (null: no cap)."""
    user = db.get(User, user_id)
    if user is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such reviewer")
    _set_capacity(db, user, body.capacity, who)
    db.commit()


def _set_capacity(db: Session, user: User, capacity: int | None, who: Principal) -> None:
    if user.review_capacity == capacity:
        return
    audit(
        db,
        actor=_actor(who),
        action="capacity",
        submission_id=None,
        before={"reviewer_id": user.id, "capacity": user.review_capacity},
        after={"reviewer_id": user.id, "capacity": capacity},
    )
    user.review_capacity = capacity


@router.get("/api/v1/conflicts", response_model=list[ConflictPublic])
def list_conflicts(
    who: CurrentOperator, db: SessionDep, services: ServicesDep
) -> list[ConflictPublic]:
    """Every declared conflict of interest."""
    rows = db.scalars(select(ReviewConflict).order_by(ReviewConflict.id))
    return [_conflict_public(db, services.secret, c, who) for c in rows]


@router.post("/api/v1/conflicts", response_model=ConflictPublic, status_code=201)
def declare_conflict(
    body: ConflictIn, who: CurrentReviewer, db: SessionDep, services: ServicesDep
) -> ConflictPublic:
    """Declare a conflict of interest: the reviewer is never assigned that applicant, and
    loses their assignments of the applicant's submissions. Operators name any reviewer and
    an applicant or a submission; a reviewer declares their own, naming a submission."""
    try:
        conflict, dropped = _declare(db, body, who)
    except AssignmentError as e:
        db.rollback()
        raise _unprocessable(str(e)) from None
    db.commit()
    return _conflict_public(db, services.secret, conflict, who, dropped)


@router.delete("/api/v1/conflicts/{conflict_id}", status_code=204)
def remove_conflict(conflict_id: RowId, who: CurrentOperator, db: SessionDep) -> None:
    """Withdraw a declared conflict (assignments dropped with it are not restored)."""
    found = db.get(ReviewConflict, conflict_id)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such conflict")
    assignment.remove_conflict(db, found, actor=_actor(who))
    db.commit()


@router.get("/api/v1/me/queue", response_model=QueuePublic)
def my_queue(who: CurrentReviewer, db: SessionDep, services: ServicesDep) -> QueuePublic:
    """The signed-in reviewer's assigned counted submissions, in (task, id) order."""
    return _queue(db, services.secret, who)


@router.get("/api/v1/progress", response_model=ProgressPublic)
def progress_api(
    who: CurrentReviewer, db: SessionDep, cohort: OptionalRowId = None
) -> ProgressPublic:
    """Assigned / reviewed / needs adjudication / remaining per reviewer and per task, with
    the pace over the last 24 hours and the time to finish at it. Reviewers get their own
    row and the per-task totals; adjudication counts follow Independence."""
    p = progress(db, independence(db, who), cohort_id=cohort)
    return ProgressPublic(
        reviewers=[_line(line, p.now) for line in p.reviewers],
        tasks=[_line(line, p.now) for line in p.tasks],
        total=_line(p.total, p.now),
    )


# -- pages ------------------------------------------------------------------------------


_QUEUE_CSS = "/static/queue.css"


@router.get("/review/queue", response_class=HTMLResponse, include_in_schema=False)
def queue_page(
    request: Request,
    who: CurrentReviewer,
    db: SessionDep,
    services: ServicesDep,
    done: bool = False,
    conflict: OptionalRowId = None,
    dropped: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
) -> HTMLResponse:
    # The page words its own messages: nothing from the query string is shown as a sentence.
    message = ""
    if conflict is not None:
        message = (
            f"Conflict declared for submission #{conflict}; "
            f"{dropped} assignment(s) left your queue."
        )
    return _queue_page(request, who, db, services.secret, done=done, message=message)


def _queue_page(
    request: Request,
    who: Principal,
    db: Session,
    secret: bytes,
    *,
    done: bool = False,
    message: str = "",
    error: str = "",
    form: dict[str, str] | None = None,
) -> HTMLResponse:
    q = _queue(db, secret, who)
    finished = done and q.remaining == 0
    resp = page(
        request,
        "queue.html.j2",
        who,
        q=q,
        finished=finished,
        message=message,
        error=error,
        form=form or {},
        css=_QUEUE_CSS,
    )
    if error:
        resp.status_code = 422
    return resp


@router.get("/review/queue/next", include_in_schema=False)
def queue_next(
    who: CurrentReviewer, db: SessionDep, after: OptionalRowId = None
) -> RedirectResponse:
    """To the next assigned, counted submission I have not reviewed (after `after`,
    wrapping), or back to the queue saying it is finished."""
    assert who.user is not None
    sid = assignment.next_assigned(db, who.user.id, after)
    if sid is None:
        return RedirectResponse("/review/queue?done=1", status_code=303)
    return RedirectResponse(f"/review/submissions/{sid}?queue=mine", status_code=303)


@router.post("/review/queue/conflict", response_class=HTMLResponse, include_in_schema=False)
async def queue_conflict(
    request: Request, who: CurrentReviewer, db: SessionDep, services: ServicesDep
) -> Response:
    """A reviewer declares a conflict of interest with the applicant of a queued submission."""
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    raw, reason = form.get("submission_id", ""), form.get("reason", "").strip()
    try:
        if not raw.isdigit() or not 1 <= int(raw) <= MAX_ID:
            raise AssignmentError("choose the submission you have a conflict with")
        if len(reason) > 500:
            raise AssignmentError("the reason is longer than 500 characters")
        _, dropped = _declare(db, ConflictIn(submission_id=int(raw), reason=reason), who)
    except AssignmentError as e:
        db.rollback()
        return _queue_page(request, who, db, services.secret, error=str(e), form=form)
    db.commit()
    return RedirectResponse(f"/review/queue?conflict={raw}&dropped={dropped}", status_code=303)


@router.get("/review/progress", response_class=HTMLResponse, include_in_schema=False)
def progress_page(
    request: Request, who: CurrentReviewer, db: SessionDep, cohort: OptionalRowId = None
) -> HTMLResponse:
    p: Progress = progress(db, independence(db, who), cohort_id=cohort)
    return page(
        request,
        "progress.html.j2",
        who,
        p=p,
        total=_line(p.total, p.now),
        reviewers=[_line(line, p.now) for line in p.reviewers],
        tasks=[_line(line, p.now) for line in p.tasks],
        cohorts=db.scalars(select(Cohort).order_by(Cohort.id)).all(),
        cohort=cohort,
        rate=rate,
        css=_QUEUE_CSS,
    )


# -- the operators' assignment page ----------------------------------------------------


def _assignments_page(
    request: Request,
    who: Principal,
    db: Session,
    secret: bytes,
    cohort_id: int | None,
    *,
    form: dict[str, Any] | None = None,
    error: str = "",
    message: str = "",
    result: dict[str, Any] | None = None,
) -> HTMLResponse:
    cohorts = db.scalars(select(Cohort).order_by(Cohort.id)).all()
    cohort = next((c for c in cohorts if c.id == cohort_id), cohorts[0] if cohorts else None)
    users = db.scalars(select(User).where(User.active).order_by(User.username)).all()
    loads = assignment.loads(db, cohort.id) if cohort else {}
    tasks: list[str] = []
    applicants: list[tuple[int, str]] = []
    if cohort is not None:
        tasks = list(
            db.scalars(
                select(CohortTask.task_id)
                .where(CohortTask.cohort_id == cohort.id)
                .order_by(CohortTask.task_id)
            )
        )
        applicants = [
            (a.id, applicant_label(secret, a, cohort, who))
            for a in db.scalars(
                select(Applicant).where(Applicant.cohort_id == cohort.id).order_by(Applicant.id)
            )
        ]
    conflicts = [
        _conflict_public(db, secret, c, who)
        for c in db.scalars(select(ReviewConflict).order_by(ReviewConflict.id))
    ]
    resp = page(
        request,
        "assignments.html.j2",
        who,
        cohorts=cohorts,
        cohort=cohort,
        tasks=tasks,
        users=users,
        loads=loads,
        applicants=applicants,
        conflicts=conflicts,
        form=form or {},
        error=error,
        message=message,
        result=result,
        max_k=MAX_PER_SUBMISSION,
        css=_QUEUE_CSS,
    )
    if error:
        resp.status_code = 422
    return resp


async def _form(request: Request) -> tuple[dict[str, str], list[str]]:
    """The posted form's single values, and the reviewers ticked (a repeated field)."""
    data = await request.form()
    single = {k: v for k, v in data.items() if isinstance(v, str) and k != "csrf_token"}
    ticked = [v for v in data.getlist("reviewer_ids") if isinstance(v, str)]
    return single, ticked


def _cohort_of(form: dict[str, str]) -> int | None:
    """The cohort the page was showing (to show it again), or None when absent or not an id."""
    raw = form.get("cohort_id", "").strip()
    ok = raw.isdigit() and len(raw) <= len(str(MAX_ID)) and 1 <= int(raw) <= MAX_ID
    return int(raw) if ok else None


def _int(form: dict[str, str], key: str, label: str, *, required: bool = True) -> int | None:
    raw = form.get(key, "").strip()
    if not raw:
        if required:
            raise AssignmentError(f"{label}: required")
        return None
    if not raw.isdigit() or len(raw) > len(str(MAX_ID)) or not 1 <= int(raw) <= MAX_ID:
        raise AssignmentError(f"{label}: {raw[:40]!r} is not a whole number from 1 up")
    return int(raw)


@router.get("/admin/assignments", response_class=HTMLResponse, include_in_schema=False)
def assignments_page(
    request: Request,
    who: CurrentOperator,
    db: SessionDep,
    services: ServicesDep,
    cohort: OptionalRowId = None,
) -> HTMLResponse:
    return _assignments_page(request, who, db, services.secret, cohort)


@router.post("/admin/assignments/auto", response_class=HTMLResponse, include_in_schema=False)
async def assignments_auto(
    request: Request, who: CurrentOperator, db: SessionDep, services: ServicesDep
) -> HTMLResponse:
    """Preview (nothing stored) or run an automatic assignment; the result shows in place."""
    form, ticked = await _form(request)
    cohort_id: int | None = None
    try:
        cohort_id = _int(form, "cohort_id", "Cohort")
        k_raw = form.get("per_submission", "").strip()
        if not k_raw.isdigit() or not 1 <= int(k_raw) <= MAX_PER_SUBMISSION:
            raise AssignmentError(
                f"Reviewers per submission: {k_raw!r} is not a whole number "
                f"from 1 to {MAX_PER_SUBMISSION}"
            )
        reviewer_ids = [int(v) for v in ticked if v.isdigit()]
        if not reviewer_ids:
            raise AssignmentError("Reviewers: tick at least one")
        assert cohort_id is not None
        body = AutoAssignIn(
            cohort_id=cohort_id,
            task_id=form.get("task_id") or None,
            per_submission=int(k_raw),
            reviewer_ids=reviewer_ids,
        )
        plan = _plan(db, body)
    except AssignmentError as e:
        return _assignments_page(
            request, who, db, services.secret, cohort_id, form={**form, "ticked": ticked},
            error=str(e),
        )  # fmt: skip
    preview = form.get("action") != "assign"
    if not preview:
        assignment.apply(db, plan, actor=_actor(who))
        db.commit()
    result = {
        "preview": preview,
        "created": len(plan.created),
        "submissions": plan.submissions,
        "per_reviewer": _names(db, plan.per_reviewer()),
        "unfilled": plan.unfilled,
    }
    return _assignments_page(
        request, who, db, services.secret, cohort_id, form={**form, "ticked": ticked},
        result=result,
    )  # fmt: skip


@router.post("/admin/assignments/capacity", response_class=HTMLResponse, include_in_schema=False)
async def assignments_capacity(
    request: Request, who: CurrentOperator, db: SessionDep, services: ServicesDep
) -> HTMLResponse:
    """Set every listed reviewer's capacity (an empty field: no cap)."""
    form, _ = await _form(request)
    cohort_id = _cohort_of(form)
    changes: list[tuple[User, int | None]] = []
    try:
        for key, raw in form.items():
            if not key.startswith("capacity_"):
                continue
            uid = key.removeprefix("capacity_")
            if not uid.isdigit():
                raise AssignmentError(f"{key}: not a reviewer's capacity field")
            user = _user(db, int(uid))
            value = raw.strip()
            if value and (not value.isdigit() or int(value) > 100_000):
                raise AssignmentError(
                    f"Capacity of {user.username}: {value!r} is not a whole number from 0 "
                    "(leave it empty for no cap)"
                )
            changes.append((user, int(value) if value else None))
    except AssignmentError as e:
        return _assignments_page(
            request, who, db, services.secret, cohort_id, form=form, error=str(e)
        )
    for user, capacity in changes:
        _set_capacity(db, user, capacity, who)
    db.commit()
    return _assignments_page(
        request, who, db, services.secret, cohort_id, message="Capacities saved."
    )


@router.post("/admin/assignments/reassign", response_class=HTMLResponse, include_in_schema=False)
async def assignments_reassign(
    request: Request, who: CurrentOperator, db: SessionDep, services: ServicesDep
) -> HTMLResponse:
    """Move one submission, or all of a reviewer's unreviewed ones; or unassign one."""
    form, _ = await _form(request)
    cohort_id = _cohort_of(form)
    try:
        source = _int(form, "from_reviewer_id", "From reviewer")
        sid = _int(form, "submission_id", "Submission", required=False)
        target = _int(form, "to_reviewer_id", "To reviewer", required=False)
        assert source is not None
        if form.get("action") == "unassign":
            if sid is None:
                raise AssignmentError("Submission: required to unassign")
            found = db.scalar(
                select(Assignment).where(
                    Assignment.submission_id == sid, Assignment.reviewer_id == source
                )
            )
            if found is None:
                raise AssignmentError(f"{_user(db, source).username} is not assigned #{sid}")
            assignment.unassign(db, found, actor=_actor(who))
            done = f"Submission #{sid} unassigned from {_user(db, source).username}."
        else:
            result = _reassign(
                db,
                ReassignIn(from_reviewer_id=source, submission_id=sid, to_reviewer_id=target),
                who,
            )
            done = f"{result.moved} assignment(s) moved."
            if result.unfilled:
                done += (
                    f" {len(result.unfilled)} could not move and stay with the reviewer: "
                    f"{result.unfilled[0].reason}."
                )
    except AssignmentError as e:
        db.rollback()
        return _assignments_page(
            request, who, db, services.secret, cohort_id, form=form, error=str(e)
        )
    db.commit()
    return _assignments_page(request, who, db, services.secret, cohort_id, message=done)


@router.post("/admin/assignments/conflicts", response_class=HTMLResponse, include_in_schema=False)
async def assignments_conflict(
    request: Request, who: CurrentOperator, db: SessionDep, services: ServicesDep
) -> HTMLResponse:
    form, _ = await _form(request)
    cohort_id = _cohort_of(form)
    try:
        reviewer_id = _int(form, "conflict_reviewer_id", "Reviewer")
        applicant_id = _int(form, "applicant_id", "Applicant")
        reason = form.get("reason", "").strip()
        if len(reason) > 500:
            raise AssignmentError("Reason: longer than 500 characters")
        _, dropped = _declare(
            db, ConflictIn(reviewer_id=reviewer_id, applicant_id=applicant_id, reason=reason), who
        )
    except AssignmentError as e:
        db.rollback()
        return _assignments_page(
            request, who, db, services.secret, cohort_id, form=form, error=str(e)
        )
    db.commit()
    return _assignments_page(
        request, who, db, services.secret, cohort_id,
        message=f"Conflict declared; {dropped} assignment(s) removed.",
    )  # fmt: skip


@router.post(
    "/admin/assignments/conflicts/{conflict_id}/delete",
    response_class=HTMLResponse,
    include_in_schema=False,
)
async def assignments_conflict_delete(
    conflict_id: RowId,
    request: Request,
    who: CurrentOperator,
    db: SessionDep,
    services: ServicesDep,
) -> HTMLResponse:
    form, _ = await _form(request)
    cohort_id = _cohort_of(form)
    found = db.get(ReviewConflict, conflict_id)
    if found is None:
        return _assignments_page(
            request, who, db, services.secret, cohort_id,
            error=f"Conflict {conflict_id}: already removed",
        )  # fmt: skip
    assignment.remove_conflict(db, found, actor=_actor(who))
    db.commit()
    return _assignments_page(
        request, who, db, services.secret, cohort_id, message="Conflict removed."
    )
