"""The review page of one submission: evidence and rubric on one screen, and the way on.

Left, the evidence: the files the rubric's criteria read (``files`` in rubric.toml, or the
write-up and the first code file), rendered as the file viewer renders them, the grader's
report as data in the page (checks, scores, feedback, flags; the full HTML report stays in a
sandboxed frame behind a disclosure), and the comments. Right, the rubric form, sticky.

The page keeps the dashboard's filter (its query string) or ``queue=mine``: Previous and
Next walk that list (:mod:`api.navigation`), and saving a review goes on to the next one.
A review the rubric refuses re-renders the page (422) with the reviewer's input kept.
"""

from __future__ import annotations

import fnmatch
import json
import logging
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Query, Request, Response, status
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy.orm import Session

from api import comments, judging, navigation
from api.deps import CurrentReviewer, OptionalRowId, Principal, RowId, ServicesDep, SessionDep
from api.integrity import KINDS as INTEGRITY_KINDS
from api.integrity import load_evidence
from api.models import TIERS, Cohort, ReviewComment, Submission, TaskRow
from api.reviewing import Independence, ReviewError, ReviewInput, save_review
from api.routes.submissions import Filters, _get
from api.scoring import suggested_tier
from api.services import Services
from api.stand_ins import stand_ins
from api.storage import StorageError
from api.viewer import UNREADABLE, FileEntry, Manifest, Node, Rendered, manifest, read_file, render
from api.viewer import tree as file_tree
from api.views import blob_suffix, current_report, detail, independence, page
from grader.render import render_html

router = APIRouter(tags=["reviewers"])
log = logging.getLogger("assess.api")

REPORT_CSP = (
    "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'"
)
MAX_OPEN_FILES = 4  # files rendered inline; the rest are one click away in the tree
INLINE_BYTES = 48 * 1024  # of a text file on the review page (its own page shows 200 KB)
INLINE_NOTEBOOK_BYTES = 4 * 1024 * 1024
# Query parameters that are the page's own, not the dashboard filter's.
# The dashboard's filter and order (Filters.query_string's keys): what travels with a page,
# as the reviewer had it; any other word in the address (its position, a message) does not.
FILTER_KEYS = frozenset(
    ("q", "task", "status", "cohort", "score_min", "score_max", "flagged", "disagreement",
     "reviewed", "superseded", "sort", "order")
)  # fmt: skip

Queue = Annotated[str, Query(pattern="^(mine)?$")]


@dataclass(frozen=True)
class OpenFile:
    entry: FileEntry
    shown: Rendered
    criteria: list[str]  # names of the criteria that read it ([] for a fallback)


@dataclass(frozen=True)
class Nav:
    """Where the page was opened from, and the links that walk it."""

    query: str  # the filter (or queue=mine) to carry on every link, without the page's own
    queue: bool
    previous: int | None
    next: int | None
    back: str  # the list this page came from

    def url(self, sub_id: int, **extra: Any) -> str:
        qs = "&".join(x for x in (self.query, urlencode(extra)) if x)
        return f"/review/submissions/{sub_id}" + (f"?{qs}" if qs else "")


def filters(request: Request, db: Session, services: Services, who: Principal) -> Filters:
    """The dashboard's filter from the page's query string (percent scores, as the dashboard
    writes it). A parameter the dashboard would refuse is left out: the page still opens,
    and Previous / Next walk the rest of the filter."""
    f, _errors = Filters.parse(request.query_params)
    return f.resolve(db, services.secret, who)


def _nav(
    request: Request,
    db: Session,
    who: Principal,
    view: Independence,
    f: Filters,
    queue: str,
    sub_id: int,
) -> Nav:
    assert who.user is not None
    kept = [(k, v) for k, v in request.query_params.multi_items() if k in FILTER_KEYS]
    if queue == "mine":
        after = navigation.queue_next(db, who.user.id, sub_id)
        return Nav(
            query="queue=mine",
            queue=True,
            previous=navigation.queue_previous(db, who.user.id, sub_id),
            next=None if after == sub_id else after,  # the queue wraps to the open one
            back="/review/queue",
        )
    around = navigation.neighbours(db, f, who.user.id, view, sub_id)
    query = urlencode(kept)
    return Nav(
        query=query,
        queue=False,
        previous=around.previous,
        next=around.next,
        back="/review" + (f"?{query}" if query else ""),
    )


def opened_files(rubric: dict[str, Any], m: Manifest) -> list[tuple[str, list[str]]]:
    """The files to open on the page, each with the names of the criteria that read it.

    A criterion's ``files`` are globs on the whole path (``*`` crosses folders). When no
    criterion names a file of this submission: the write-ups (Markdown, shallowest first),
    then the first code file.
    """
    named: dict[str, list[str]] = {}
    for c in rubric.get("criteria", []):
        for pattern in c.get("files", []):
            for path in m.files:
                if fnmatch.fnmatchcase(path, pattern):
                    named.setdefault(path, [])
                    if c["name"] not in named[path]:
                        named[path].append(c["name"])
    if named:
        return list(named.items())[:MAX_OPEN_FILES]
    entries = list(m.files.values())
    depth = sorted(entries, key=lambda e: (e.path.count("/"), e.path))
    found = [e.path for e in depth if e.kind in ("markdown", "notebook")]
    code = next((e.path for e in depth if e.kind == "code" and e.path.endswith(".py")), None)
    code = code or next((e.path for e in depth if e.kind == "code"), None)
    out = found[: MAX_OPEN_FILES - 1] + ([code] if code else [])
    return [(p, []) for p in out]


def inline(entry: FileEntry, data: bytes) -> Rendered:
    """A file as the review page shows it: its beginning only when long (the file's own
    page shows up to the viewer's cap), so one long file never slows every page down."""
    if entry.kind == "notebook" and len(data) > INLINE_NOTEBOOK_BYTES:
        return Rendered(problem="a large notebook: open the file to read it")
    if entry.kind in ("code", "markdown", "text", "csv", "json") and len(data) > INLINE_BYTES:
        cut = data.rfind(b"\n", 0, INLINE_BYTES) + 1 or INLINE_BYTES
        shown = render(entry, data[:cut], heading_shift=2)
        shown.truncated = True
        return shown
    return render(entry, data, heading_shift=2)


# Rendered evidence by (submission, blob, rubric): a blob is named by the hash of its bytes
# and verified when read, so what was rendered from it stays right. Rendering (Pygments,
# markdown-it, nh3) is most of a page's time, and a reviewer comes back to a page (after
# saving, from a file or a comment form). Bounded: at most EVIDENCE_CACHE entries, least
# recently used out first.
EVIDENCE_CACHE = 256
_evidence_cache: OrderedDict[tuple[int, str, str, str], tuple[list[Node], list[OpenFile]]] = (
    OrderedDict()
)
_evidence_lock = threading.Lock()


def _evidence(
    services: Services, sub: Submission, rubric: dict[str, Any]
) -> tuple[list[Node], list[OpenFile], str]:
    """The file tree, the files opened inline, or why the stored submission is unreadable."""
    suffix = blob_suffix(sub)
    key = (
        sub.id,
        str(services.blobs.root) + sub.blob_sha256,
        suffix,
        json.dumps(rubric, sort_keys=True),
    )
    with _evidence_lock:
        hit = _evidence_cache.get(key)
        if hit is not None:
            _evidence_cache.move_to_end(key)
            return hit[0], hit[1], ""
    try:
        m = manifest(services.blobs, sub.blob_sha256, suffix)
        opened = []
        for path, criteria in opened_files(rubric, m):
            entry, data = read_file(services.blobs, sub.blob_sha256, suffix, path)
            opened.append(OpenFile(entry, inline(entry, data), criteria))
        tree = file_tree(m)
    except StorageError as e:
        log.error("submission %d: %s", sub.id, e)
        return [], [], UNREADABLE
    with _evidence_lock:
        _evidence_cache[key] = (tree, opened)
        while len(_evidence_cache) > EVIDENCE_CACHE:
            _evidence_cache.popitem(last=False)
    return tree, opened, ""


def render_page(
    request: Request,
    who: Principal,
    db: Session,
    services: Services,
    sub: Submission,
    f: Filters,
    queue: str,
    *,
    form_error: str = "",
    form_input: dict[str, Any] | None = None,
) -> HTMLResponse:
    """The review page; with `form_error`, the review form refused (422, input kept)."""
    assert who.user is not None
    view = independence(db, who)  # once: the summary, the comments and Next all follow it
    d = detail(db, services.secret, sub, who, view)
    task = db.get(TaskRow, sub.task_id)
    assert task is not None
    mine = next((r for r in d.reviews if r.reviewer == who.user.username), None)
    tree, opened, files_problem = _evidence(services, sub, task.rubric)
    notes = comments.visible(db, sub.id, who.user, view)
    by_file: dict[str, list[ReviewComment]] = {}
    for c in notes:
        by_file.setdefault(c.path, []).append(c)
    report = current_report(db, sub)
    cohort = db.get(Cohort, sub.cohort_id)
    assert cohort is not None
    # The rubric judge's pre-scores, only where the one visibility rule allows them.
    judge = judging.judge_view(who.user, cohort, sub.id, view)
    judged = (
        {j.criterion: j for j in judging.latest_judgments(db, sub, task)} if judge.shown else {}
    )
    saved = request.query_params.get("saved", "")
    response = page(
        request,
        "submission.html.j2",
        who,
        d=d,
        task=task,
        mine=mine,
        # Reviewers score independently: detail() holds others' reviews only once yours is saved.
        others=[r for r in d.reviews if r is not mine],
        hidden_reviews=d.review_count - len(d.reviews),
        comments_by_file=by_file,
        comments_hidden=not view.sees_reviews(sub.id),
        tiers=TIERS,
        suggested=suggested_tier(sub.task_score),
        graded=sub.grading_id is not None,
        report=report,
        tree=tree,
        opened=opened,
        files_problem=files_problem,
        nav=_nav(request, db, who, view, f, queue, sub.id),
        saved=int(saved) if saved.isdecimal() else None,
        done=request.query_params.get("done") == "1",
        form_error=form_error,
        form=form_input if form_input is not None else _form_from(mine),
        judge=judge,
        judged=judged,
        judge_flags=judging.FLAG_TEXT,
        standing=stand_ins(db, task.id) if judge.mode != "off" else set(),
    )
    if form_error:
        response.status_code = status.HTTP_422_UNPROCESSABLE_CONTENT
    return response


def _form_from(mine: Any) -> dict[str, Any]:
    """The form's values from the reviewer's saved review (empty when none)."""
    if mine is None:
        return {"scores": {}, "tier": None, "integrity_flag": False, "integrity_note": "",
                "comment": "", "saved": False}  # fmt: skip
    return {
        "scores": {k: f"{v:g}" for k, v in mine.scores.items()},
        "tier": mine.tier,
        "integrity_flag": mine.integrity_flag,
        "integrity_note": mine.integrity_note,
        "comment": mine.comment,
        "saved": True,
    }


@router.get(
    "/review/submissions/{submission_id}", response_class=HTMLResponse, include_in_schema=False
)
def submission_page(
    submission_id: RowId,
    request: Request,
    who: CurrentReviewer,
    db: SessionDep,
    services: ServicesDep,
    queue: Queue = "",
    saved: OptionalRowId = None,
) -> HTMLResponse:
    """One submission on one screen: evidence, report and comments beside the rubric form."""
    del saved  # validated here, read by render_page
    f = filters(request, db, services, who)
    return render_page(request, who, db, services, _get(db, submission_id), f, queue)


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


def _text(form: Any, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def parse_review(task: TaskRow, form: Any) -> tuple[ReviewInput | None, dict[str, Any], str]:
    """(the review, the form's values as typed, an error naming what was wrong or "")."""
    criteria = task.rubric.get("criteria", [])
    raw_scores = {c["id"]: _text(form, f"score_{c['id']}").strip() for c in criteria}
    typed: dict[str, Any] = {
        "scores": raw_scores,
        "tier": _text(form, "tier") or None,
        "integrity_flag": form.get("integrity_flag") == "on",
        "integrity_note": _text(form, "integrity_note"),
        "comment": _text(form, "comment"),
        "saved": False,
    }
    scores: dict[str, float] = {}
    for c in criteria:
        raw = raw_scores[c["id"]]
        if not raw:
            continue
        try:
            scores[c["id"]] = float(raw)
        except ValueError:
            return None, typed, f"{c['name']}: {raw[:40]!r} is not a number"
        if not 0 <= scores[c["id"]] <= c["max_score"]:  # also NaN
            return None, typed, f"{c['name']}: {raw[:40]} is outside 0 to {c['max_score']:g}"
    data = ReviewInput(
        scores=scores,
        tier=typed["tier"],
        integrity_flag=typed["integrity_flag"],
        integrity_note=typed["integrity_note"],
        comment=typed["comment"],
    )
    return data, typed, ""


@router.post("/review/submissions/{submission_id}/review", include_in_schema=False)
async def review_form(
    submission_id: RowId,
    request: Request,
    who: CurrentReviewer,
    db: SessionDep,
    services: ServicesDep,
    queue: Queue = "",
) -> Response:
    """Save the review; then on to the next submission of the list the page was opened from
    (the next unreviewed of my queue, or the next in the filter), unless asked to stay."""
    form = await request.form()
    sub = _get(db, submission_id)
    f = filters(request, db, services, who)
    task = db.get(TaskRow, sub.task_id)
    assert task is not None and who.user is not None
    data, typed, error = parse_review(task, form)
    if data is not None:
        try:
            save_review(db, sub, who.user, data)
        except ReviewError as e:
            db.rollback()
            error = str(e)
    if error or data is None:
        return render_page(
            request, who, db, services, sub, f, queue, form_error=error, form_input=typed
        )
    db.commit()
    kept = urlencode([(k, v) for k, v in request.query_params.multi_items() if k in FILTER_KEYS])
    nav = Nav(query="queue=mine" if queue else kept, queue=bool(queue), previous=None,
              next=None, back="")  # fmt: skip
    if form.get("stay") == "on":
        return RedirectResponse(nav.url(sub.id, saved=sub.id), status_code=303)
    if queue:
        after = navigation.queue_next(db, who.user.id, sub.id)
        if after is None or after == sub.id:
            return RedirectResponse(nav.url(sub.id, saved=sub.id, done=1), status_code=303)
    else:
        after = navigation.step(db, f, who.user.id, independence(db, who), sub.id, forward=True)
        if after is None:
            return RedirectResponse(nav.url(sub.id, saved=sub.id, done=1), status_code=303)
    return RedirectResponse(nav.url(after, saved=sub.id), status_code=303)
