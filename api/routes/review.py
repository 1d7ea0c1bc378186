"""The review page of one submission: its evidence, the grader's report, the reviewer's form."""

from __future__ import annotations

import logging

from fastapi import APIRouter, HTTPException, Request, Response, status
from fastapi.responses import HTMLResponse, RedirectResponse

from api.deps import CurrentReviewer, RowId, ServicesDep, SessionDep
from api.integrity import KINDS as INTEGRITY_KINDS
from api.integrity import load_evidence
from api.models import TIERS, Submission, TaskRow
from api.reviewing import ReviewError, ReviewInput, save_review
from api.routes.submissions import _get
from api.scoring import suggested_tier
from api.services import Services
from api.storage import StorageError
from api.viewer import UNREADABLE, Node, manifest, tree
from api.views import blob_suffix, current_report, detail, page
from grader.render import render_html

router = APIRouter(tags=["reviewers"])

REPORT_CSP = (
    "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'"
)


@router.get(
    "/review/submissions/{submission_id}", response_class=HTMLResponse, include_in_schema=False
)
def submission_page(
    submission_id: RowId,
    request: Request,
    who: CurrentReviewer,
    db: SessionDep,
    services: ServicesDep,
    saved: bool = False,
    error: str = "",
) -> HTMLResponse:
    sub = _get(db, submission_id)
    assert who.user is not None
    d = detail(db, services.secret, sub, who)
    task = db.get(TaskRow, sub.task_id)
    assert task is not None
    mine = next((r for r in d.reviews if r.reviewer == who.user.username), None)
    files, files_problem = _files(services, sub)
    # Reviewers score independently: detail() holds others' reviews only once yours is saved.
    others = [r for r in d.reviews if r is not mine]
    return page(
        request,
        "submission.html.j2",
        who,
        d=d,
        task=task,
        mine=mine,
        others=others,
        hidden_reviews=d.review_count - len(d.reviews),
        tiers=TIERS,
        suggested=suggested_tier(sub.task_score),
        graded=sub.grading_id is not None,
        files=files,
        files_problem=files_problem,
        saved=saved,
        error=error,
    )


def _files(services: Services, sub: Submission) -> tuple[list[Node], str]:
    """The submission's file tree for its page (the viewer's manifest), or why there is none."""
    try:
        return tree(manifest(services.blobs, sub.blob_sha256, blob_suffix(sub))), ""
    except StorageError as e:
        logging.getLogger("assess.api").error("submission %d: %s", sub.id, e)
        return [], UNREADABLE


@router.get("/review/submissions/{submission_id}/report.html", include_in_schema=False)
def report_html(
    submission_id: RowId, who: CurrentReviewer, db: SessionDep, services: ServicesDep
) -> HTMLResponse:
    """The grader's HTML report, served in a sandboxed frame: no scripts, no loads."""
    sub = _get(db, submission_id)
    report = current_report(db, sub)
    if report is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "not graded yet")
    # The grading's outputs (an executed notebook is rendered from them), and the evidence
    # of the latest integrity pass where this report carries its flags.
    artifacts = services.settings.artifacts_dir / str(sub.id) / report.task.digest[:16]
    flagged = any(f.kind in INTEGRITY_KINDS for f in report.flags)
    return HTMLResponse(
        render_html(
            report,
            artifacts=artifacts if artifacts.is_dir() else None,
            integrity=load_evidence(services, sub.id) if flagged else (),
        ),
        headers={"Content-Security-Policy": REPORT_CSP, "X-Content-Type-Options": "nosniff"},
    )


@router.post("/review/submissions/{submission_id}/review", include_in_schema=False)
async def review_form(
    submission_id: RowId,
    request: Request,
    who: CurrentReviewer,
    db: SessionDep,
) -> Response:
    form = await request.form()
    sub = _get(db, submission_id)
    task = db.get(TaskRow, sub.task_id)
    assert task is not None and who.user is not None
    scores: dict[str, float] = {}
    try:
        for c in task.rubric.get("criteria", []):
            raw = form.get(f"score_{c['id']}")
            if isinstance(raw, str) and raw.strip():
                scores[c["id"]] = float(raw)
        tier = form.get("tier")
        note = form.get("integrity_note")
        comment = form.get("comment")
        data = ReviewInput(
            scores=scores,
            tier=tier if isinstance(tier, str) and tier else None,
            integrity_flag=form.get("integrity_flag") == "on",
            integrity_note=note if isinstance(note, str) else "",
            comment=comment if isinstance(comment, str) else "",
        )
        save_review(db, sub, who.user, data)
    except (ValueError, ReviewError) as e:
        from urllib.parse import quote

        return RedirectResponse(
            f"/review/submissions/{submission_id}?error={quote(str(e))}", status_code=303
        )
    db.commit()
    return RedirectResponse(f"/review/submissions/{submission_id}?saved=true", status_code=303)
