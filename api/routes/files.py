"""Reviewers and operators read a submission's files: listed, as exact bytes, rendered.

Every file is looked up by its path in the stored blob's manifest (:mod:`api.viewer`);
nothing here builds a filesystem path from the request, and a path the manifest lacks is a
404 whatever it looks like. Applicants (bearer or cookie) and anonymous callers get a 401.
Each read is an audit entry: who, which submission, which file (and its sha256), how.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from urllib.parse import quote, urlencode

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from api.deps import CurrentReviewer, Principal, RowId, ServicesDep, SessionDep
from api.models import Cohort, ReviewComment, Submission
from api.reviewing import audit
from api.routes.submissions import _get
from api.schemas import SubmissionFilePublic, SubmissionFilesPublic
from api.services import Services
from api.storage import StorageError
from api.viewer import (
    SHOWN_BYTES,
    UNREADABLE,
    FileEntry,
    Manifest,
    NotInManifest,
    manifest,
    read_file,
    render,
    tree,
)
from api.views import blob_suffix, independence, page, sees_identity

router = APIRouter(tags=["reviewers"])
log = logging.getLogger("assess.api")

# Downloads are never rendered by the browser: an attachment, no sniffing, no scripts.
DOWNLOAD_CSP = "sandbox; default-src 'none'"
FILE_PAGE_PARAMS = ("line", "cell", "deleted", "csrf_token", "path", "body", "context")


def archive_name(db: Session, sub: Submission, who: Principal) -> str:
    """The upload's own name for those who see identities; otherwise a neutral one."""
    cohort = db.get(Cohort, sub.cohort_id)
    assert cohort is not None
    if sees_identity(who, cohort):
        return sub.filename
    return f"submission-{sub.id}{blob_suffix(sub)}"


def unreadable(sub: Submission, e: StorageError) -> HTTPException:
    """A missing or corrupt blob: logged with its detail, answered without the disk's paths."""
    log.error("submission %d: %s", sub.id, e)
    return HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, UNREADABLE)


def load_manifest(services: Services, sub: Submission) -> Manifest:
    try:
        return manifest(services.blobs, sub.blob_sha256, blob_suffix(sub))
    except StorageError as e:
        raise unreadable(sub, e) from None


def _read(services: Services, sub: Submission, path: str) -> tuple[FileEntry, bytes]:
    try:
        return read_file(services.blobs, sub.blob_sha256, blob_suffix(sub), path)
    except NotInManifest:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such file in this submission") from None
    except StorageError as e:
        raise unreadable(sub, e) from None


def _audit(db: Session, who: Principal, sub: Submission, action: str, **after: object) -> None:
    assert who.user is not None
    audit(db, actor=who.user.username, action=action, submission_id=sub.id, before={},
          after=dict(after))  # fmt: skip
    db.commit()


def _attachment(data: bytes, name: str) -> Response:
    ascii_name = "".join(c if c.isascii() and (c.isalnum() or c in "._-") else "_" for c in name)
    return Response(
        data,
        media_type="application/octet-stream",
        headers={
            "Content-Disposition": (
                f"attachment; filename=\"{ascii_name or 'file'}\"; filename*=UTF-8''{quote(name)}"
            ),
            "Content-Security-Policy": DOWNLOAD_CSP,
            "X-Content-Type-Options": "nosniff",
        },
    )


def _public(e: FileEntry) -> SubmissionFilePublic:
    return SubmissionFilePublic(path=e.path, size=e.size, sha256=e.sha256, kind=e.kind)


@router.get("/api/v1/submissions/{submission_id}/files", response_model=SubmissionFilesPublic)
def api_files(
    submission_id: RowId, who: CurrentReviewer, db: SessionDep, services: ServicesDep
) -> SubmissionFilesPublic:
    """The stored submission's files: path, size, sha256 and kind (audited)."""
    sub = _get(db, submission_id)
    m = load_manifest(services, sub)
    _audit(db, who, sub, "files-listed", files=len(m.files))
    return SubmissionFilesPublic(
        submission_id=sub.id,
        archive=archive_name(db, sub, who),
        files=[_public(e) for e in m.files.values()],
    )


@router.get("/api/v1/submissions/{submission_id}/archive")
def api_archive(
    submission_id: RowId, who: CurrentReviewer, db: SessionDep, services: ServicesDep
) -> Response:
    """The original upload, byte for byte, as an attachment (audited)."""
    sub = _get(db, submission_id)
    try:
        blob = services.blobs.open_verified(sub.blob_sha256, blob_suffix(sub))
    except StorageError as e:
        raise unreadable(sub, e) from None
    data = blob.read_bytes()
    _audit(db, who, sub, "archive-downloaded", sha256=sub.blob_sha256)
    return _attachment(data, archive_name(db, sub, who))


@router.get("/api/v1/submissions/{submission_id}/files/{path:path}")
def api_file(
    submission_id: RowId, path: str, who: CurrentReviewer, db: SessionDep, services: ServicesDep
) -> Response:
    """One file's exact stored bytes, as an attachment (``nosniff``; audited).

    `path` is a path from the listing; anything else is a 404.
    """
    sub = _get(db, submission_id)
    entry, data = _read(services, sub, path)
    _audit(db, who, sub, "file-downloaded", path=entry.path, sha256=entry.sha256)
    return _attachment(data, entry.path.rsplit("/", 1)[-1])


@router.get(
    "/review/submissions/{submission_id}/files/{path:path}",
    response_class=HTMLResponse,
    include_in_schema=False,
)
def file_page(
    submission_id: RowId,
    path: str,
    request: Request,
    who: CurrentReviewer,
    db: SessionDep,
    services: ServicesDep,
) -> HTMLResponse:
    """One file rendered (code highlighted, Markdown sanitised, notebook, image; audited),
    with the comments on it that the reader may see and a form to add one."""
    return file_page_response(request, who, db, services, _get(db, submission_id), path)


def file_page_response(
    request: Request,
    who: Principal,
    db: Session,
    services: Services,
    sub: Submission,
    path: str,
    *,
    comment_error: str = "",
    comment_input: Mapping[str, object] | None = None,
    context: str | None = None,
) -> HTMLResponse:
    """The file page; with `comment_error`, the comment form's refusal (422, input kept).

    `context` is the review page's list (the dashboard's filter or ``queue=mine``), carried
    through the file's links and forms so that the way back keeps Previous / Next; by
    default, the request's own query without the file page's parameters.
    """
    from api import comments

    assert who.user is not None
    m = load_manifest(services, sub)
    entry, data = _read(services, sub, path)
    shown = render(entry, data)
    _audit(db, who, sub, "file-viewed", path=entry.path, sha256=entry.sha256)
    view = independence(db, who)
    on_file = [c for c in comments.visible(db, sub.id, who.user, view) if c.path == entry.path]
    by_line: dict[int, list[ReviewComment]] = {}
    by_cell: dict[int, list[ReviewComment]] = {}
    whole: list[ReviewComment] = []
    for c in on_file:
        if c.line is not None:
            by_line.setdefault(c.line, []).append(c)
        elif c.cell is not None:
            by_cell.setdefault(c.cell, []).append(c)
        else:
            whole.append(c)
    hidden = not view.sees_reviews(sub.id)
    if context is None:
        context = review_context(request.query_params.multi_items())
    response = page(
        request,
        "file.html.j2",
        who,
        sub=sub,
        entry=entry,
        shown=shown,
        tree=tree(m),
        shown_kb=SHOWN_BYTES // 1024,
        raw_url=file_url("/api/v1", sub.id, entry.path),
        comments=on_file,
        by_line=by_line,
        by_cell=by_cell,
        whole=whole,
        others_hidden=hidden,
        comment_error=comment_error,
        comment_input=comment_input if comment_input is not None else _prefill(request),
        deleted=request.query_params.get("deleted") == "1",
        textual=entry.kind in comments.TEXTUAL,
        nav_query=context,
    )
    if comment_error:
        response.status_code = status.HTTP_422_UNPROCESSABLE_CONTENT
    return response


def review_context(params: Iterable[tuple[str, str]]) -> str:
    """The review page's list as a query string, without the file page's own parameters."""
    return urlencode([(k, v) for k, v in params if k not in FILE_PAGE_PARAMS])


def _prefill(request: Request) -> dict[str, object]:
    """The comment form's anchor from ``?line=N`` or ``?cell=N`` (a line number's link)."""
    return {
        k: v
        for k in ("line", "cell")
        if (v := request.query_params.get(k, "")).isdecimal() and len(v) < 9
    }


def file_url(prefix: str, submission_id: int, path: str) -> str:
    """`prefix`/submissions/ID/files/PATH with each path segment percent-encoded."""
    return f"{prefix}/submissions/{submission_id}/files/{quote(path, safe='/')}"
