"""Inline comments on a submission's files, under the reviews' independence rule.

JSON for scripts and the page's enhancements; plain forms for the pages (no script needed):
a form posts, the browser lands back on the file at the commented line. A form with a bad
field re-renders the file page (422) with the reviewer's text kept and the error stated.
"""

from __future__ import annotations

import csv
import io
from typing import Any
from urllib.parse import parse_qsl, quote

from fastapi import APIRouter, HTTPException, Request, Response, status
from fastapi.responses import RedirectResponse
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from api import comments
from api.comments import Anchor, CommentEdit, CommentError, CommentForbidden, CommentIn
from api.deps import CurrentOperator, CurrentReviewer, Principal, RowId, ServicesDep, SessionDep
from api.models import Cohort, ReviewComment, Submission
from api.routes.cohorts import csv_safe, get_cohort
from api.routes.files import file_page_response, review_context, unreadable
from api.routes.submissions import _get
from api.services import Services
from api.storage import StorageError
from api.views import applicant_label, independence

router = APIRouter(tags=["reviewers"])


def _readable(db: Session, cid: int, who: Principal) -> ReviewComment:
    assert who.user is not None
    c = comments.readable(db, cid, who.user, independence(db, who))
    if c is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such comment")
    return c


def _add(
    db: Session, services: Services, sub: Submission, who: Principal, anchor: Anchor, body: str
) -> ReviewComment:
    assert who.user is not None
    try:
        c = comments.add(db, services.blobs, sub, who.user, anchor, body)
    except StorageError as e:
        raise unreadable(sub, e) from None
    db.commit()
    return c


# ----------------------------------------------------------------------------- JSON API


@router.get(
    "/api/v1/submissions/{submission_id}/comments", response_model=list[comments.CommentPublic]
)
def api_list(
    submission_id: RowId, who: CurrentReviewer, db: SessionDep
) -> list[comments.CommentPublic]:
    """The comments on a submission that you may read: yours, and others' once you have
    saved your review of it (operators: all)."""
    sub = _get(db, submission_id)
    assert who.user is not None
    view = independence(db, who)
    return [comments.public(c, who.user) for c in comments.visible(db, sub.id, who.user, view)]


@router.post(
    "/api/v1/submissions/{submission_id}/comments",
    response_model=comments.CommentPublic,
    status_code=status.HTTP_201_CREATED,
)
def api_add(
    submission_id: RowId,
    body: CommentIn,
    who: CurrentReviewer,
    db: SessionDep,
    services: ServicesDep,
) -> comments.CommentPublic:
    """Comment on a file (`path`), one of its lines (`line`, from 1) or a notebook cell
    (`cell`, from 1). The body is 1 to 5,000 characters of plain text."""
    sub = _get(db, submission_id)
    assert who.user is not None
    try:
        c = _add(db, services, sub, who, Anchor(body.path, body.line, body.cell), body.body)
    except CommentError as e:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(e)) from None
    return comments.public(c, who.user)


@router.patch("/api/v1/comments/{comment_id}", response_model=comments.CommentPublic)
def api_edit(
    comment_id: RowId, body: CommentEdit, who: CurrentReviewer, db: SessionDep
) -> comments.CommentPublic:
    """Replace the body of your own comment."""
    c = _readable(db, comment_id, who)
    assert who.user is not None
    try:
        comments.edit(db, c, who.user, body.body)
    except CommentForbidden as e:
        raise HTTPException(status.HTTP_403_FORBIDDEN, str(e)) from None
    except CommentError as e:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(e)) from None
    db.commit()
    return comments.public(c, who.user)


@router.delete("/api/v1/comments/{comment_id}", status_code=status.HTTP_204_NO_CONTENT)
def api_delete(comment_id: RowId, who: CurrentReviewer, db: SessionDep) -> Response:
    """Delete your own comment (operators: any comment)."""
    c = _readable(db, comment_id, who)
    assert who.user is not None
    try:
        comments.delete(db, c, who.user)
    except CommentForbidden as e:
        raise HTTPException(status.HTTP_403_FORBIDDEN, str(e)) from None
    db.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/api/v1/cohorts/{cohort_id}/comments.csv", response_class=Response)
def export_csv(
    cohort_id: RowId, who: CurrentOperator, db: SessionDep, services: ServicesDep
) -> Response:
    """Every comment on the cohort's submissions, one row each (identities as in the cohort
    CSV; cells that a spreadsheet would read as a formula are quoted)."""
    cohort: Cohort = get_cohort(db, cohort_id)
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(
        ["applicant", "task", "submission", "reviewer", "path", "line", "cell", "comment",
         "created_at", "updated_at"]
    )  # fmt: skip
    rows = db.scalars(
        select(ReviewComment)
        .join(Submission, Submission.id == ReviewComment.submission_id)
        .where(Submission.cohort_id == cohort.id)
        .order_by(ReviewComment.submission_id, ReviewComment.path, ReviewComment.id)
        .options(selectinload(ReviewComment.reviewer))
    )
    subs: dict[int, Submission] = {}
    for c in rows:
        sub = subs.get(c.submission_id) or subs.setdefault(
            c.submission_id, _get(db, c.submission_id)
        )
        label = applicant_label(services.secret, sub.applicant, cohort, who)
        w.writerow(
            [
                csv_safe(label), sub.task_id, sub.id, csv_safe(c.reviewer.username),
                csv_safe(c.path), c.line or "", c.cell or "", csv_safe(c.body),
                c.created_at.isoformat(timespec="seconds"),
                c.updated_at.isoformat(timespec="seconds"),
            ]
        )  # fmt: skip
    return Response(
        buf.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="cohort-{cohort.id}-comments.csv"'},
    )


# ----------------------------------------------------------------------------- forms


def _field_int(raw: object, what: str) -> int | None:
    if not isinstance(raw, str) or not raw.strip():
        return None
    try:
        value = int(raw.strip())
    except ValueError:
        raise CommentError(f"{what} must be a whole number, not {raw.strip()[:20]!r}") from None
    if value < 1:
        raise CommentError(f"{what} counts from 1")
    return value


def _file_url(sub_id: int, path: str, context: str = "") -> str:
    """The file page, keeping the review page's list (`context`, re-encoded: only a query)."""
    url = f"/review/submissions/{sub_id}/files/{quote(path, safe='/')}"
    query = review_context(parse_qsl(context[:2000]))
    return f"{url}?{query}" if query else url


def _context(form: Any) -> str:
    raw = form.get("context")
    return raw if isinstance(raw, str) else ""


@router.post("/review/submissions/{submission_id}/comments", include_in_schema=False)
async def form_add(
    submission_id: RowId,
    request: Request,
    who: CurrentReviewer,
    db: SessionDep,
    services: ServicesDep,
) -> Response:
    """The file page's comment form: back to the file at the new comment, or the page again
    (422) with the text kept and what was wrong."""
    form = await request.form()
    sub = _get(db, submission_id)
    raw_path, raw_body = form.get("path"), form.get("body")
    path = raw_path if isinstance(raw_path, str) else ""
    text = raw_body if isinstance(raw_body, str) else ""
    kept = {"line": form.get("line") or "", "cell": form.get("cell") or "", "body": text}
    try:
        line = _field_int(form.get("line"), "the line")
        cell = _field_int(form.get("cell"), "the cell")
        if not path:
            raise CommentError("choose the file to comment on")
        c = _add(db, services, sub, who, Anchor(path, line, cell), text)
    except CommentError as e:
        db.rollback()
        return file_page_response(
            request,
            who,
            db,
            services,
            sub,
            path,
            comment_error=str(e),
            comment_input=kept,
            context=review_context(parse_qsl(_context(form)[:2000])),
        )
    url = _file_url(sub.id, c.path, _context(form))
    return RedirectResponse(f"{url}#comment-{c.id}", status_code=303)


@router.post("/review/comments/{comment_id}/edit", include_in_schema=False)
async def form_edit(
    comment_id: RowId,
    request: Request,
    who: CurrentReviewer,
    db: SessionDep,
    services: ServicesDep,
) -> Response:
    """A comment's edit form: back to it, or the file page (422) with the new text kept."""
    form = await request.form()
    c = _readable(db, comment_id, who)
    assert who.user is not None
    raw = form.get("body")
    text = raw if isinstance(raw, str) else ""
    try:
        comments.edit(db, c, who.user, text)
    except CommentForbidden as e:
        raise HTTPException(status.HTTP_403_FORBIDDEN, str(e)) from None
    except CommentError as e:
        db.rollback()
        sub = _get(db, c.submission_id)
        kept = {"line": c.line or "", "cell": c.cell or "", "body": text}
        return file_page_response(
            request,
            who,
            db,
            services,
            sub,
            c.path,
            comment_error=str(e),
            comment_input=kept,
            context=review_context(parse_qsl(_context(form)[:2000])),
        )
    db.commit()
    url = _file_url(c.submission_id, c.path, _context(form))
    return RedirectResponse(f"{url}#comment-{c.id}", status_code=303)


@router.post("/review/comments/{comment_id}/delete", include_in_schema=False)
async def form_delete(
    comment_id: RowId, request: Request, who: CurrentReviewer, db: SessionDep
) -> Response:
    form = await request.form()
    c = _readable(db, comment_id, who)
    assert who.user is not None
    sub_id, path = c.submission_id, c.path
    try:
        comments.delete(db, c, who.user)
    except CommentForbidden as e:
        raise HTTPException(status.HTTP_403_FORBIDDEN, str(e)) from None
    db.commit()
    url = _file_url(sub_id, path, _context(form))
    sep = "&" if "?" in url else "?"
    return RedirectResponse(f"{url}{sep}deleted=1#comments", status_code=303)
