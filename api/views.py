"""Turning rows into what a given viewer may see (identity, checks), and HTML pages."""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from sqlalchemy import select
from sqlalchemy.orm import Session

from api import deadlines
from api.core.security import pseudonym
from api.deps import Principal
from api.models import Applicant, Cohort, Grading, Review, Submission, User
from api.reviewing import Independence, applicant_composite
from api.schemas import GradingPublic, ReviewPublic, SubmissionDetail, SubmissionRow
from grader.report import Report
from grader.template_cache import bytecode_cache
from grader.text import clean_text, finalize

TEMPLATES = Path(__file__).parent / "templates"


@functools.cache
def environment() -> jinja2.Environment:
    """The one Jinja environment of the service: every page is rendered from it.

    Autoescaping is on for every template, whatever its name (``select_autoescape`` would
    leave ``*.html.j2`` raw); nothing in the templates is marked safe. The only markup printed
    as it is comes from :mod:`api.viewer` (Pygments' and nh3's output) and the grader's
    notebook renderer, never a submission's own text. Every printed value
    is first cleaned of escape sequences, control characters and bidirectional overrides
    (:func:`grader.text.finalize`), so submission text cannot display as something else.
    """
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=True,
        finalize=finalize,
        bytecode_cache=bytecode_cache(),
    )
    env.filters["pct"] = lambda x: "—" if x is None else f"{100 * x:.0f}%"
    env.filters["num"] = _number
    env.filters["filesize"] = _filesize
    env.filters["urlpath"] = lambda p: quote(str(p), safe="/")  # a file path in a URL
    # An instant as a machine-readable attribute (`<time datetime>`, the countdown's data).
    env.filters["iso"] = deadlines.iso_utc
    return env


def _number(x: float | None) -> str:
    """A score as people write it: at most two decimals, no trailing zeros (8.27, 10)."""
    if x is None:
        return "—"
    return f"{x:.2f}".rstrip("0").rstrip(".")


def _filesize(n: int) -> str:
    if n < 1024:
        return f"{n} B"
    if n < 1024 * 1024:
        return f"{n / 1024:.1f} KB"
    return f"{n / 1024 / 1024:.1f} MB"


@functools.cache
def templates() -> Jinja2Templates:
    return Jinja2Templates(env=environment())


def page(request: Request, name: str, who: Principal | None, **ctx: Any) -> HTMLResponse:
    ctx.setdefault("who", who)
    ctx.setdefault("csrf", who.csrf if who else "")
    return templates().TemplateResponse(request, name, ctx)


def sees_identity(viewer: Principal, cohort: Cohort) -> bool:
    """Operators always; reviewers only when the cohort is not blind."""
    return viewer.user is not None and (viewer.user.role == "operator" or not cohort.blind)


def applicant_label(secret: bytes, applicant: Applicant, cohort: Cohort, viewer: Principal) -> str:
    if sees_identity(viewer, cohort):
        name = f"{applicant.name} " if applicant.name else ""
        return f"{name}<{applicant.email}>"
    return pseudonym(secret, applicant.id)


def independence(session: Session, viewer: Principal) -> Independence:
    """What `viewer` may see of other reviewers' work (see :class:`Independence`)."""
    return Independence.of(session, viewer.user)


def row(
    secret: bytes,
    sub: Submission,
    cohort: Cohort,
    viewer: Principal,
    view: Independence,
    *,
    superseded_by: int | None = None,
) -> SubmissionRow:
    """A dashboard row as `viewer` may see it. The automatic integrity flag is the
    machine's, not a reviewer's judgement, so it is shown whatever `view` hides."""
    return SubmissionRow(
        id=sub.id,
        applicant=applicant_label(secret, sub.applicant, cohort, viewer),
        task_id=sub.task_id,
        status=sub.status,
        score=sub.score,
        max_score=sub.max_score,
        review_count=sub.review_count,
        received_at=sub.received_at,
        integrity_auto=sub.integrity_auto,
        counted=sub.counted,
        superseded_by=None if sub.counted else superseded_by,
        **view.summary(sub),
    )


def superseded_by(session: Session, subs: Sequence[Submission]) -> dict[int, int]:
    """For each of `subs` that no longer counts, the submission of the same applicant and
    task that counts now (the last one received); one query for the lot."""
    old = [s for s in subs if not s.counted]
    if not old:
        return {}
    counted = {
        (a, t): sid
        for a, t, sid in session.execute(
            select(Submission.applicant_id, Submission.task_id, Submission.id).where(
                Submission.counted.is_(True),
                Submission.applicant_id.in_({s.applicant_id for s in old}),
            )
        )
    }
    return {
        s.id: counted[(s.applicant_id, s.task_id)]
        for s in old
        if (s.applicant_id, s.task_id) in counted
    }


def reviewer_label(reviewer: User, viewer: Principal) -> str:
    # Reviewers are colleagues, not applicants: their names stay visible to each other.
    return reviewer.username


def detail(
    session: Session,
    secret: bytes,
    sub: Submission,
    viewer: Principal,
    view: Independence | None = None,
) -> SubmissionDetail:
    """`view`: the viewer's Independence when the caller has it already (one query less)."""
    cohort = session.get(Cohort, sub.cohort_id)
    assert cohort is not None
    view = view or independence(session, viewer)
    # Until the viewer has saved a review of this submission there is none of theirs, and
    # the others' stay hidden: the same rule as every other field (Independence).
    reviews = (
        session.scalars(
            select(Review).where(Review.submission_id == sub.id).order_by(Review.id)
        ).all()
        if view.sees_reviews(sub.id)
        else []
    )
    gradings = session.scalars(
        select(Grading).where(Grading.submission_id == sub.id).order_by(Grading.id)
    ).all()
    comp = applicant_composite(session, sub.applicant, view)
    later = superseded_by(session, [sub]).get(sub.id)
    base = row(secret, sub, cohort, viewer, view, superseded_by=later).model_dump()
    return SubmissionDetail(
        **base,
        # A file name can carry a name ("jane-doe.zip"): blind reviewers see the type only.
        filename=sub.filename if sees_identity(viewer, cohort) else f"submission{blob_suffix(sub)}",
        size=sub.size,
        sha256=sub.blob_sha256,
        reviews=[
            ReviewPublic(
                reviewer=reviewer_label(r.reviewer, viewer),
                scores={k: float(v) for k, v in r.scores.items()},
                total=r.total,
                tier=r.tier,
                integrity_flag=r.integrity_flag,
                integrity_note=r.integrity_note,
                comment=r.comment,
                updated_at=r.updated_at,
            )
            for r in reviews
        ],
        gradings=[
            GradingPublic(
                id=g.id,
                task_digest=g.task_digest,
                task_version=g.task_version,
                status=g.status,
                score=g.score,
                max_score=g.max_score,
                previous_id=g.previous_id,
                differences=list(g.differences.get("items", [])),
                created_at=g.created_at,
            )
            for g in gradings
        ],
        composite=comp.composite if comp else None,
        composite_provisional=comp.provisional if comp else True,
    )


def current_report(session: Session, sub: Submission) -> Report | None:
    if sub.grading_id is None:
        return None
    g = session.get(Grading, sub.grading_id)
    return Report.model_validate(json.loads(g.report_json)) if g else None


def applicant_checks(report: Report | None) -> list[dict[str, Any]]:
    """Only checks whose visibility is ``applicant``, cleaned for display."""
    if report is None:
        return []
    return [
        {
            "id": c.id,
            "name": clean_text(c.name),
            "score": c.score,
            "max_score": c.max_score,
            "feedback": clean_text(c.feedback),
        }
        for c in report.applicant_checks()
    ]


def blob_suffix(sub: Submission) -> str:
    """The stored blob's suffix (``.zip`` or ``.ipynb``), from the upload's name."""
    return Path(sub.filename).suffix.lower()
