"""Reviewers: the dashboard (filters, sorting, pagination), report pages, rubric scoring.

Every list is one indexed query on ``submissions`` (its summary columns are kept current
by gradings and reviews), paginated on the server. In a blind cohort the applicant is a
pseudonym wherever a reviewer looks; operators see identities.
"""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from sqlalchemy import ColumnElement, exists, func, select
from sqlalchemy.orm import Session, selectinload

from api.deps import CurrentReviewer, OptionalRowId, Principal, RowId, ServicesDep, SessionDep
from api.models import Cohort, Review, Submission, TaskRow
from api.reviewing import Independence, ReviewError, ReviewInput, save_review
from api.schemas import Page, ReviewIn, SubmissionDetail
from api.views import current_report, detail, independence, page, row

router = APIRouter(tags=["reviewers"])

MAX_PAGE = 1_000_000  # with 200 per page, far past any cohort; the offset stays 32-bit-safe


class Sort(StrEnum):
    received = "received"
    score = "score"
    status = "status"
    reviews = "reviews"
    id = "id"


SORT_COLUMNS: dict[Sort, Any] = {
    Sort.received: Submission.received_at,
    Sort.score: Submission.task_score,
    Sort.status: Submission.status,
    Sort.reviews: Submission.review_count,
    Sort.id: Submission.id,
}


class Filters:
    """Dashboard filters, from query parameters (the same for the page and the API)."""

    def __init__(
        self,
        task: str | None = None,
        status: str | None = None,
        cohort: OptionalRowId = None,
        score_min: Annotated[float | None, Query(ge=0, le=1)] = None,
        score_max: Annotated[float | None, Query(ge=0, le=1)] = None,
        flagged: bool | None = None,
        disagreement: bool | None = None,
        reviewed: Annotated[str | None, Query(pattern="^(yes|no|mine|not-mine)$")] = None,
        sort: Sort = Sort.received,
        order: Annotated[str, Query(pattern="^(asc|desc)$")] = "desc",
        page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
        per_page: Annotated[int, Query(ge=1, le=200)] = 50,
    ) -> None:
        self.task, self.status, self.cohort = task or None, status or None, cohort
        self.score_min, self.score_max = score_min, score_max
        self.flagged, self.disagreement, self.reviewed = flagged, disagreement, reviewed or None
        self.sort, self.order, self.page, self.per_page = sort, order, page, per_page

    def where(self, viewer_id: int, view: Independence) -> list[ColumnElement[bool]]:
        conds: list[ColumnElement[bool]] = []
        score = view.task_score_sql()
        if self.task:
            conds.append(Submission.task_id == self.task)
        if self.status:
            conds.append(Submission.status == self.status)
        if self.cohort is not None:
            conds.append(Submission.cohort_id == self.cohort)
        # Filters on what reviews decide see what the viewer may see (Independence).
        if self.score_min is not None:
            conds.append(score >= self.score_min)
        if self.score_max is not None:
            conds.append(score <= self.score_max)
        if self.flagged is not None:
            flagged = view.flag_sql(Submission.integrity_flag)
            conds.append(flagged if self.flagged else ~flagged)
        if self.disagreement is not None:
            disagree = view.flag_sql(Submission.disagreement)
            conds.append(disagree if self.disagreement else ~disagree)
        mine = exists().where(
            Review.submission_id == Submission.id, Review.reviewer_id == viewer_id
        )
        if self.reviewed == "yes":
            conds.append(Submission.review_count > 0)
        elif self.reviewed == "no":
            conds.append(Submission.review_count == 0)
        elif self.reviewed == "mine":
            conds.append(mine)
        elif self.reviewed == "not-mine":
            conds.append(~mine)
        return conds

    def query_string(self, **override: Any) -> str:
        from urllib.parse import urlencode

        values: dict[str, Any] = {
            "task": self.task,
            "status": self.status,
            "cohort": self.cohort,
            "score_min": self.score_min,
            "score_max": self.score_max,
            "flagged": self.flagged,
            "disagreement": self.disagreement,
            "reviewed": self.reviewed,
            "sort": self.sort.value,
            "order": self.order,
            "page": self.page,
            "per_page": self.per_page,
        }
        values.update(override)
        return urlencode({k: v for k, v in values.items() if v is not None})


FiltersDep = Annotated[Filters, Depends()]


def list_submissions(db: Session, secret: bytes, who: Principal, f: Filters) -> Page:
    assert who.user is not None
    view = independence(db, who)
    conds = f.where(who.user.id, view)
    total = db.scalar(select(func.count(Submission.id)).where(*conds)) or 0
    col = view.task_score_sql() if f.sort == Sort.score else SORT_COLUMNS[f.sort]
    order = [col.desc().nulls_last(), Submission.id.desc()]
    if f.order == "asc":
        order = [col.asc().nulls_last(), Submission.id.asc()]
    subs = db.scalars(
        select(Submission)
        .where(*conds)
        .order_by(*order)
        .offset((f.page - 1) * f.per_page)
        .limit(f.per_page)
        .options(selectinload(Submission.applicant))
    ).all()
    cohorts = {c.id: c for c in db.scalars(select(Cohort))}
    return Page(
        items=[row(secret, s, cohorts[s.cohort_id], who, view) for s in subs],
        total=total,
        page=f.page,
        per_page=f.per_page,
    )


def _get(db: Session, submission_id: int) -> Submission:
    sub = db.get(Submission, submission_id)
    if sub is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such submission")
    return sub


# ----------------------------------------------------------------------------- JSON API


@router.get("/api/v1/submissions", response_model=Page)
def api_list(who: CurrentReviewer, db: SessionDep, services: ServicesDep, f: FiltersDep) -> Page:
    """Submissions, filtered, sorted and paginated on the server."""
    return list_submissions(db, services.secret, who, f)


@router.get("/api/v1/submissions/{submission_id}", response_model=SubmissionDetail)
def api_detail(
    submission_id: RowId, who: CurrentReviewer, db: SessionDep, services: ServicesDep
) -> SubmissionDetail:
    """One submission with its reviews, its gradings (and their differences), the composite."""
    return detail(db, services.secret, _get(db, submission_id), who)


@router.get("/api/v1/submissions/{submission_id}/report")
def api_report(submission_id: RowId, who: CurrentReviewer, db: SessionDep) -> JSONResponse:
    """The current report, as the grader wrote it (every check, logs, artifacts)."""
    report = current_report(db, _get(db, submission_id))
    if report is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "not graded yet")
    return JSONResponse(json.loads(report.to_json()))


@router.put("/api/v1/submissions/{submission_id}/review", response_model=SubmissionDetail)
def api_review(
    submission_id: RowId,
    body: ReviewIn,
    who: CurrentReviewer,
    db: SessionDep,
    services: ServicesDep,
) -> SubmissionDetail:
    """Create or replace the signed-in reviewer's rubric scores, tier and integrity flag."""
    sub = _get(db, submission_id)
    assert who.user is not None
    data = ReviewInput(
        scores=body.scores,
        tier=body.tier,
        integrity_flag=body.integrity_flag,
        integrity_note=body.integrity_note,
        comment=body.comment,
    )
    try:
        save_review(db, sub, who.user, data)
    except ReviewError as e:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(e)) from None
    db.commit()
    return detail(db, services.secret, sub, who)


# ----------------------------------------------------------------------------- pages


@router.get("/", include_in_schema=False)
def root() -> RedirectResponse:
    return RedirectResponse("/review", status_code=303)


@router.get("/review", response_class=HTMLResponse, include_in_schema=False)
def dashboard(
    request: Request,
    who: CurrentReviewer,
    db: SessionDep,
    services: ServicesDep,
    f: FiltersDep,
) -> HTMLResponse:
    result = list_submissions(db, services.secret, who, f)
    tasks = db.scalars(select(TaskRow).order_by(TaskRow.id)).all()
    cohorts = db.scalars(select(Cohort).order_by(Cohort.id)).all()
    pages = max(1, -(-result.total // f.per_page))
    return page(
        request,
        "dashboard.html.j2",
        who,
        result=result,
        f=f,
        tasks=tasks,
        cohorts=cohorts,
        pages=pages,
        sorts=[s.value for s in Sort],
        statuses=["queued", "running", "graded", "invalid", "error", "timeout"],
    )
