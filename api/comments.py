"""Reviewers' inline comments on a submission's files: a line, a notebook cell, or the file.

Comments are reviewers' work like their scores, so they follow the same rule
(:class:`api.reviewing.Independence`): a reviewer sees other reviewers' comments on a
submission only once they have saved their own review of it; operators see all; everyone
sees their own. Only the author edits a comment; the author or an operator deletes it.
Every change is an audit entry in the same transaction.

An anchor is checked against the stored submission: the path must be in its manifest, a
line within the file's lines, a cell within the notebook's cells (both counted from 1).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.models import ReviewComment, Submission, User, utcnow
from api.reviewing import Independence, audit
from api.storage import BlobStore
from api.viewer import NotInManifest, read_file, render
from api.views import blob_suffix
from grader.text import clean_text

MAX_BODY = 5000
TEXTUAL = ("code", "markdown", "text", "csv", "json")


class CommentError(ValueError):
    """A comment that cannot be stored as given (the message names what was wrong)."""


class CommentForbidden(PermissionError):
    """Someone other than the author (or, to delete, an operator) changing a comment."""


class CommentIn(BaseModel):
    path: str = Field(min_length=1, max_length=1024)
    line: int | None = Field(default=None, ge=1, le=10_000_000)
    cell: int | None = Field(default=None, ge=1, le=100_000)
    body: str = Field(max_length=MAX_BODY * 2)  # checked precisely after cleaning


class CommentEdit(BaseModel):
    body: str = Field(max_length=MAX_BODY * 2)


class CommentPublic(BaseModel):
    id: int
    submission_id: int
    reviewer: str
    mine: bool
    path: str
    line: int | None
    cell: int | None
    body: str
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class Anchor:
    path: str
    line: int | None = None
    cell: int | None = None


def clean_body(body: str) -> str:
    """The body as stored: cleaned of escapes and controls, trimmed, 1..MAX_BODY characters."""
    text = clean_text(body, terminal=False).strip()
    if not text:
        raise CommentError("the comment is empty")
    if len(text) > MAX_BODY:
        raise CommentError(f"the comment is {len(text)} characters; at most {MAX_BODY}")
    return text


def check_anchor(blobs: BlobStore, sub: Submission, anchor: Anchor) -> None:
    """Raises CommentError unless `anchor` names a file (line, cell) of the stored submission.

    Raises:
        api.storage.StorageError: the blob is missing or corrupt.
    """
    if anchor.line is not None and anchor.cell is not None:
        raise CommentError("a comment is on a line or on a cell, not both")
    try:
        entry, data = read_file(blobs, sub.blob_sha256, blob_suffix(sub), anchor.path)
    except NotInManifest:
        raise CommentError(f"no file {anchor.path!r} in this submission") from None
    if anchor.line is not None:
        if entry.kind not in TEXTUAL:
            raise CommentError(f"{anchor.path} is not a text file: comment on the whole file")
        text = data.decode("utf-8", "replace")
        lines = text.count("\n") + (0 if text.endswith("\n") or not text else 1)
        if anchor.line > lines:
            raise CommentError(
                f"line {anchor.line} is past the end of {anchor.path} ({lines} lines)"
            )
    if anchor.cell is not None:
        if entry.kind != "notebook":
            raise CommentError(f"{anchor.path} is not a notebook: it has no cells")
        cells = len(render(entry, data).cells)
        if anchor.cell > cells:
            raise CommentError(
                f"cell {anchor.cell} is past the end of {anchor.path} ({cells} cells)"
            )


def visible(db: Session, sub_id: int, viewer: User, view: Independence) -> list[ReviewComment]:
    """The comments on `sub_id` that `viewer` may read, by file, line/cell, then time."""
    q = select(ReviewComment).where(ReviewComment.submission_id == sub_id)
    if not view.sees_reviews(sub_id):
        q = q.where(ReviewComment.reviewer_id == viewer.id)
    q = q.order_by(
        ReviewComment.path,
        ReviewComment.cell.nulls_first(),
        ReviewComment.line.nulls_first(),
        ReviewComment.id,
    )
    return list(db.scalars(q))


def public(c: ReviewComment, viewer: User) -> CommentPublic:
    return CommentPublic(
        id=c.id,
        submission_id=c.submission_id,
        reviewer=c.reviewer.username,
        mine=c.reviewer_id == viewer.id,
        path=c.path,
        line=c.line,
        cell=c.cell,
        body=c.body,
        created_at=c.created_at,
        updated_at=c.updated_at,
    )


def _audit_dict(c: ReviewComment) -> dict[str, object]:
    return {"comment": c.id, "path": c.path, "line": c.line, "cell": c.cell, "body": c.body}


def add(
    db: Session, blobs: BlobStore, sub: Submission, author: User, anchor: Anchor, body: str
) -> ReviewComment:
    """Store `author`'s comment at `anchor` (raises CommentError naming what was wrong)."""
    text = clean_body(body)
    check_anchor(blobs, sub, anchor)
    now = utcnow()
    c = ReviewComment(
        submission_id=sub.id,
        reviewer_id=author.id,
        path=anchor.path,
        line=anchor.line,
        cell=anchor.cell,
        body=text,
        created_at=now,
        updated_at=now,
    )
    db.add(c)
    db.flush()
    audit(db, actor=f"reviewer:{author.username}", action="comment-added",
          submission_id=sub.id, before={}, after=_audit_dict(c))  # fmt: skip
    return c


def edit(db: Session, c: ReviewComment, who: User, body: str) -> ReviewComment:
    """Replace the body of `who`'s own comment."""
    if c.reviewer_id != who.id:
        raise CommentForbidden("only its author edits a comment")
    text = clean_body(body)
    before = _audit_dict(c)
    c.body = text
    c.updated_at = utcnow()
    audit(db, actor=f"reviewer:{who.username}", action="comment-edited",
          submission_id=c.submission_id, before=before, after=_audit_dict(c))  # fmt: skip
    return c


def delete(db: Session, c: ReviewComment, who: User) -> None:
    """Remove a comment: its author's right, and an operator's."""
    if c.reviewer_id != who.id and who.role != "operator":
        raise CommentForbidden("only its author or an operator deletes a comment")
    audit(db, actor=f"{who.role}:{who.username}", action="comment-deleted",
          submission_id=c.submission_id, before=_audit_dict(c), after={})  # fmt: skip
    db.delete(c)


def readable(db: Session, cid: int, who: User, view: Independence) -> ReviewComment | None:
    """Comment `cid` if `who` may read it (a hidden comment is as absent as a missing one)."""
    c = db.get(ReviewComment, cid)
    if c is None or (c.reviewer_id != who.id and not view.sees_reviews(c.submission_id)):
        return None
    return c
