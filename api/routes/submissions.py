"""Reviewers: the dashboard (filters, search, sorting, keyset pagination) and the JSON API.

Every list is one indexed query on ``submissions`` (its summary columns are kept current
by gradings and reviews), paginated on the server by keyset: a page is found from the
(sort value, id) of its neighbour, never by skipping rows, so the last page of 10,000 is as
quick as the first. In a blind cohort the applicant is a pseudonym wherever a reviewer
looks, and the search finds them by pseudonym only; operators see identities.

Units: the dashboard page shows task scores in percent and its score filters are percent
(0-100); the JSON API's ``score_min`` / ``score_max`` are fractions (0-1), as its scores are.
"""

from __future__ import annotations

import base64
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from sqlalchemy import ColumnElement, and_, exists, false, func, or_, select
from sqlalchemy.orm import Session, selectinload

from api.core.security import pseudonym
from api.deps import (
    MAX_ID,
    CurrentReviewer,
    MaybePrincipal,
    Principal,
    RowId,
    ServicesDep,
    SessionDep,
)
from api.models import Applicant, Cohort, Review, Submission, TaskRow
from api.reviewing import Independence, ReviewError, ReviewInput, save_review
from api.schemas import Page, ReviewIn, SubmissionDetail
from api.views import current_report, detail, independence, page, row, superseded_by

router = APIRouter(tags=["reviewers"])

MAX_PAGE = 1_000_000  # with 200 per page, far past any cohort; the offset stays 32-bit-safe
PER_PAGE_CHOICES = (25, 50, 100, 200)
STATUSES = ("queued", "running", "graded", "invalid", "error", "timeout")
REVIEWED = ("yes", "no", "mine", "not-mine")
MAX_QUERY = 200  # characters of a search


class Sort(StrEnum):
    received = "received"
    score = "score"
    status = "status"
    reviews = "reviews"
    task = "task"
    id = "id"


SORT_COLUMNS: dict[Sort, Any] = {
    Sort.received: Submission.received_at,
    Sort.score: Submission.task_score,
    Sort.status: Submission.status,
    Sort.reviews: Submission.review_count,
    Sort.task: Submission.task_id,
    Sort.id: Submission.id,
}


class Flagged(StrEnum):
    """Which integrity flags a filter asks for.

    ``auto``: the automatic pass's (every reviewer sees them). ``reviewer``: a reviewer's
    own judgement, seen under :class:`Independence` (once you have reviewed the submission).
    ``true``: either; ``false``: neither that the viewer may see.
    """

    true = "true"
    false = "false"
    auto = "auto"
    reviewer = "reviewer"


class Superseded(StrEnum):
    """Earlier uploads of the same applicant and task: left out unless asked for."""

    exclude = "exclude"
    include = "include"
    only = "only"


class FilterError(ValueError):
    """A filter parameter that cannot be used; the message names it and says why."""


@dataclass(frozen=True)
class Cursor:
    """A position in the dashboard's order: the (sort value, id) of one row."""

    value: Any
    id: int

    def encode(self) -> str:
        value = self.value.isoformat() if isinstance(self.value, datetime) else self.value
        raw = json.dumps([value, self.id], separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str, sort: Sort) -> Cursor:
        """The cursor in `token`, checked against `sort`'s value type.

        Raises:
            FilterError: not a cursor of this sort (edited, or from another sort).
        """
        bad = FilterError("page link is not valid for this sort order; start from the first page")
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            value, sid = json.loads(raw)
        except (ValueError, TypeError):
            raise bad from None
        if not isinstance(sid, int) or isinstance(sid, bool) or not 1 <= sid <= MAX_ID:
            raise bad
        try:
            return cls(_sort_value(sort, value), sid)
        except (ValueError, TypeError):
            raise bad from None


def _sort_value(sort: Sort, value: Any) -> Any:
    """A cursor's sort value as the column holds it (raises on the wrong type)."""
    if sort == Sort.received:
        parsed = datetime.fromisoformat(value)
        if parsed.tzinfo is None:
            raise ValueError("naive")
        return parsed
    if sort == Sort.score:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise TypeError("score")
        return float(value)
    if sort in (Sort.status, Sort.task):
        if not isinstance(value, str) or len(value) > 64:
            raise TypeError("text")
        return value
    if isinstance(value, bool) or not isinstance(value, int) or abs(value) > MAX_ID:
        raise TypeError("integer")
    return value


@dataclass
class _Search:
    """What a free-text search matches, resolved for one viewer (see Filters.resolve)."""

    applicants: frozenset[int]  # by pseudonym, or by name/e-mail where the viewer sees them
    submission: int | None  # "#12" or "12": that submission


class Filters:
    """Dashboard filters, sort and position (the same for the page, the API and the links).

    Scores are fractions (0-1) here; the page's query string carries percent
    (:meth:`from_query`, :meth:`query_string`).
    """

    def __init__(
        self,
        task: str | None = None,
        status: str | None = None,
        cohort: int | None = None,
        score_min: float | None = None,
        score_max: float | None = None,
        flagged: Flagged | bool | None = None,
        disagreement: bool | None = None,
        reviewed: str | None = None,
        sort: Sort = Sort.received,
        order: str = "desc",
        page: int = 1,
        per_page: int = 50,
        q: str | None = None,
        superseded: Superseded = Superseded.exclude,
        after: Cursor | None = None,
        before: Cursor | None = None,
        last: bool = False,
    ) -> None:
        self.task, self.status, self.cohort = task or None, status or None, cohort
        self.score_min, self.score_max = score_min, score_max
        if isinstance(flagged, bool):
            flagged = Flagged.true if flagged else Flagged.false
        self.flagged: Flagged | None = flagged
        self.disagreement, self.reviewed = disagreement, reviewed or None
        self.sort, self.order, self.page, self.per_page = Sort(sort), order, page, per_page
        self.q = (q or "").strip() or None
        self.superseded = Superseded(superseded)
        self.after, self.before, self.last = after, before, last
        self._search: _Search | None = None

    # ------------------------------------------------------------------ from a query string

    @classmethod
    def parse(cls, params: Mapping[str, str]) -> tuple[Filters, list[str]]:
        """Filters from the page's query parameters, and one message per unusable one.

        Scores are percent (0-100), as the page shows them. Each bad parameter is left out
        of the filters and named in the messages, so the page can show the rest.
        """
        errors: list[str] = []
        kw: dict[str, Any] = {}

        def get(name: str) -> str | None:
            value = params.get(name)
            return value.strip() if value is not None and value.strip() != "" else None

        def choice(name: str, allowed: Sequence[str], label: str) -> str | None:
            value = get(name)
            if value is not None and value not in allowed:
                errors.append(f"{label}: {value!r} is not one of {', '.join(allowed)}")
                return None
            return value

        def integer(name: str, low: int, high: int, label: str) -> int | None:
            value = get(name)
            if value is None:
                return None
            if not re.fullmatch(r"[0-9]{1,12}", value) or not low <= int(value) <= high:
                errors.append(f"{label} must be a whole number from {low} to {high}, not {value!r}")
                return None
            return int(value)

        def percent(name: str, label: str) -> float | None:
            value = get(name)
            if value is None:
                return None
            try:
                number = float(value)
            except ValueError:
                number = math.nan
            if not 0 <= number <= 100:  # NaN fails too
                errors.append(f"{label} must be a percentage from 0 to 100, not {value!r}")
                return None
            return number / 100

        def boolean(name: str, label: str) -> bool | None:
            value = choice(name, ("true", "false"), label)
            return None if value is None else value == "true"

        if (task := get("task")) is not None:
            if len(task) > 64:
                errors.append("task: name too long")
            else:
                kw["task"] = task
        kw["status"] = choice("status", STATUSES, "status")
        kw["cohort"] = integer("cohort", 1, MAX_ID, "cohort")
        kw["score_min"] = percent("score_min", "minimum score")
        kw["score_max"] = percent("score_max", "maximum score")
        if (
            kw["score_min"] is not None
            and kw["score_max"] is not None
            and kw["score_min"] > kw["score_max"]
        ):
            errors.append("minimum score is above the maximum score")
            kw["score_min"] = kw["score_max"] = None
        flagged = choice("flagged", [f.value for f in Flagged], "integrity flag")
        kw["flagged"] = Flagged(flagged) if flagged else None
        kw["disagreement"] = boolean("disagreement", "disagreement")
        kw["reviewed"] = choice("reviewed", REVIEWED, "reviewed")
        sort = choice("sort", [s.value for s in Sort], "sort")
        kw["sort"] = Sort(sort) if sort else Sort.received
        kw["order"] = choice("order", ("asc", "desc"), "order") or "desc"
        kw["page"] = integer("page", 1, MAX_PAGE, "page") or 1
        per_page = get("per_page")
        if per_page is not None and per_page not in {str(n) for n in PER_PAGE_CHOICES}:
            errors.append(
                f"rows per page must be one of {', '.join(map(str, PER_PAGE_CHOICES))}, "
                f"not {per_page!r}"
            )
        kw["per_page"] = int(per_page) if per_page in {str(n) for n in PER_PAGE_CHOICES} else 50
        if (q := get("q")) is not None:
            if len(q) > MAX_QUERY:
                errors.append(f"search: at most {MAX_QUERY} characters")
            else:
                kw["q"] = q
        superseded = choice("superseded", [s.value for s in Superseded], "superseded")
        kw["superseded"] = Superseded(superseded) if superseded else Superseded.exclude
        for name in ("after", "before"):
            token = get(name)
            if token is not None:
                try:
                    kw[name] = Cursor.decode(token[:400], kw["sort"])
                except FilterError as e:
                    errors.append(str(e))
        kw["last"] = get("last") == "1"
        return cls(**kw), errors

    @classmethod
    def from_query(cls, params: Mapping[str, str]) -> Filters:
        """Filters from the page's query parameters (percent scores), validated.

        Raises:
            FilterError: every unusable parameter, one per line.
        """
        f, errors = cls.parse(params)
        if errors:
            raise FilterError("\n".join(errors))
        return f

    # ------------------------------------------------------------------ search

    def resolve(self, db: Session, secret: bytes, who: Principal) -> Filters:
        """Resolve the free-text search for `who` (needed before :meth:`where` when q is set).

        A pseudonym matches in every cohort. Names and e-mail addresses match only where
        `who` may see identities (operators; reviewers in cohorts that are not blind), so a
        reviewer cannot find a blind applicant by e-mail.
        """
        if self.q is None:
            return self
        needle = self.q.lower()
        found: set[int] = set()
        if set(needle) <= set("a-0123456789bcdef") and len(needle) >= 2:
            # Pseudonyms are HMACs: computed here for each applicant (about 2 µs each).
            found |= {
                aid
                for aid in db.scalars(select(Applicant.id))
                if needle in pseudonym(secret, aid).lower()
            }
        assert who.user is not None
        visible = select(Cohort.id)
        if who.user.role != "operator":
            visible = visible.where(Cohort.blind.is_(False))
        found |= set(
            db.scalars(
                select(Applicant.id).where(
                    Applicant.cohort_id.in_(visible),
                    or_(
                        Applicant.email.icontains(self.q, autoescape=True),
                        Applicant.name.icontains(self.q, autoescape=True),
                    ),
                )
            )
        )
        number = re.fullmatch(r"#?([0-9]{1,10})", self.q)
        sid = int(number.group(1)) if number and int(number.group(1)) <= MAX_ID else None
        self._search = _Search(applicants=frozenset(found), submission=sid)
        return self

    # ------------------------------------------------------------------ SQL

    def where(self, viewer_id: int, view: Independence) -> list[ColumnElement[bool]]:
        """The filter as SQL conditions on ``submissions``, as `view` may see them."""
        conds: list[ColumnElement[bool]] = []
        score = view.task_score_sql()
        if self.task:
            conds.append(Submission.task_id == self.task)
        if self.status:
            conds.append(Submission.status == self.status)
        if self.cohort is not None:
            conds.append(Submission.cohort_id == self.cohort)
        if self.superseded == Superseded.exclude:
            conds.append(Submission.counted.is_(True))
        elif self.superseded == Superseded.only:
            conds.append(Submission.counted.is_(False))
        # Filters on what reviews decide see what the viewer may see (Independence).
        if self.score_min is not None:
            conds.append(score >= self.score_min)
        if self.score_max is not None:
            conds.append(score <= self.score_max)
        if self.flagged is not None:
            # The machine's flag is no reviewer's judgement: visible to all. A reviewer's
            # flag counts only where the viewer may see the reviews (Independence).
            auto = Submission.integrity_auto.is_(True)
            by_reviewer = view.flag_sql(Submission.integrity_flag)
            conds.append(
                {
                    Flagged.true: or_(auto, by_reviewer),
                    Flagged.false: ~or_(auto, by_reviewer),
                    Flagged.auto: auto,
                    Flagged.reviewer: by_reviewer,
                }[self.flagged]
            )
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
        if self.q is not None:
            if self._search is None:
                raise RuntimeError("Filters.resolve(db, secret, who) must run before where()")
            matches: list[ColumnElement[bool]] = []
            if self._search.applicants:
                matches.append(Submission.applicant_id.in_(sorted(self._search.applicants)))
            if self._search.submission is not None:
                matches.append(Submission.id == self._search.submission)
            conds.append(or_(*matches) if matches else false())
        return conds

    def sort_column(self, view: Independence) -> Any:
        """The expression rows are ordered by, as `view` sees it (scores: Independence)."""
        return view.task_score_sql() if self.sort == Sort.score else SORT_COLUMNS[self.sort]

    # ------------------------------------------------------------------ links

    def query_string(self, **override: Any) -> str:
        """The page's query string for these filters (percent scores); `override` replaces
        values, None drops one. Defaults are left out."""
        values: dict[str, Any] = {
            "q": self.q,
            "task": self.task,
            "status": self.status,
            "cohort": self.cohort,
            "score_min": _percent(self.score_min),
            "score_max": _percent(self.score_max),
            "flagged": self.flagged.value if self.flagged else None,
            "disagreement": _bool(self.disagreement),
            "reviewed": self.reviewed,
            "superseded": None if self.superseded == Superseded.exclude else self.superseded.value,
            "sort": self.sort.value,
            "order": self.order,
            "page": self.page if self.page != 1 else None,
            "per_page": self.per_page,
            "after": self.after.encode() if self.after else None,
            "before": self.before.encode() if self.before else None,
            "last": "1" if self.last else None,
        }
        values.update(override)
        return urlencode({k: v for k, v in values.items() if v is not None})

    def link_query(self) -> str:
        """The filters and order without a position: what a row link carries."""
        return self.query_string(page=None, after=None, before=None, last=None)


def _percent(x: float | None) -> str | None:
    return None if x is None else f"{100 * x:g}"


def _bool(x: bool | None) -> str | None:
    return None if x is None else ("true" if x else "false")


@dataclass
class Listing:
    """One page of the dashboard: its rows and where it sits."""

    result: Page
    pages: int
    first: Cursor | None = None  # the first and last row's positions (for previous / next)
    final: Cursor | None = None
    notices: list[str] = field(default_factory=list)
    position: int = 0  # rows before this page's first, in this order


def _after(col: Any, c: Cursor, descending: bool) -> ColumnElement[bool]:
    """Rows after `c` in the order (col, id), NULLs last."""
    later = Submission.id < c.id if descending else Submission.id > c.id
    if c.value is None:
        return and_(col.is_(None), later)
    beyond = col < c.value if descending else col > c.value
    return or_(beyond, and_(col == c.value, later), col.is_(None))


def _before(col: Any, c: Cursor, descending: bool) -> ColumnElement[bool]:
    """Rows before `c` in the order (col, id), NULLs last."""
    earlier = Submission.id > c.id if descending else Submission.id < c.id
    if c.value is None:
        return or_(col.is_not(None), and_(col.is_(None), earlier))
    ahead = col > c.value if descending else col < c.value
    return or_(ahead, and_(col == c.value, earlier))


def _order(col: Any, descending: bool, nullable: bool, reverse: bool = False) -> list[Any]:
    """ORDER BY for (col, id); `reverse` walks it backwards (NULLs then come first)."""
    down = descending != reverse
    c = col.desc() if down else col.asc()
    if nullable:  # only scores can be NULL; the other columns keep a plain, indexable order
        c = c.nulls_first() if reverse else c.nulls_last()
    return [c, Submission.id.desc() if down else Submission.id.asc()]


def list_page(db: Session, secret: bytes, who: Principal, f: Filters) -> Listing:
    """The page of rows `f` asks for: first, after / before a cursor, the last, or a number.

    A page number past the end, or a cursor past the end, shows the last page and says so.
    """
    assert who.user is not None
    view = independence(db, who)
    f.resolve(db, secret, who)
    conds = f.where(who.user.id, view)
    total = db.scalar(select(func.count(Submission.id)).where(*conds)) or 0
    pages = max(1, -(-total // f.per_page))
    col = f.sort_column(view)
    descending = f.order != "asc"
    nullable = f.sort == Sort.score
    base = select(Submission, col.label("sort_value")).where(*conds)
    notices: list[str] = []

    def fetch(extra: list[ColumnElement[bool]], reverse: bool, limit: int, offset: int = 0) -> Any:
        q = (
            base.where(*extra)
            .order_by(*_order(col, descending, nullable, reverse))
            .offset(offset)
            .limit(limit)
            .options(selectinload(Submission.applicant))
        )
        got = list(db.execute(q))
        return got[::-1] if reverse else got

    def last_page() -> Any:
        return fetch([], True, total - (pages - 1) * f.per_page or f.per_page)

    # `position`: how many rows come before this page's first, in this order.
    if f.last:
        rows = last_page()
        position = total - len(rows)
    elif f.after is not None:
        rows = fetch([_after(col, f.after, descending)], False, f.per_page)
        if not rows and total:
            notices.append("That page is past the end now; showing the last page.")
            rows = last_page()
        position = -1
    elif f.before is not None:
        rows = fetch([_before(col, f.before, descending)], True, f.per_page)
        if len(rows) < f.per_page:  # reached the start: the first page, full
            rows = fetch([], False, f.per_page)
        position = -1
    elif f.page > pages:
        if total:
            notices.append(f"There are only {pages} page(s); showing the last.")
        rows = last_page()
        position = total - len(rows)
    else:
        rows = fetch([], False, f.per_page, (f.page - 1) * f.per_page)
        position = (f.page - 1) * f.per_page
    if position < 0:  # a cursor's page: count what lies before it (an indexed range count)
        position = 0
        if rows:
            first = Cursor(rows[0][1], rows[0][0].id)
            position = (
                db.scalar(
                    select(func.count(Submission.id)).where(*conds, _before(col, first, descending))
                )
                or 0
            )
    number = min(pages, position // f.per_page + 1)
    subs = [s for s, _ in rows]
    cohorts = {c.id: c for c in db.scalars(select(Cohort))}
    later = superseded_by(db, subs)
    items = [
        row(secret, s, cohorts[s.cohort_id], who, view, superseded_by=later.get(s.id)) for s in subs
    ]
    more = position + len(rows) < total
    return Listing(
        result=Page(
            items=items,
            total=total,
            page=number,
            per_page=f.per_page,
            pages=pages,
            next_cursor=Cursor(rows[-1][1], subs[-1].id).encode() if rows and more else None,
            prev_cursor=Cursor(rows[0][1], subs[0].id).encode() if rows and position else None,
        ),
        pages=pages,
        first=Cursor(rows[0][1], subs[0].id) if rows else None,
        final=Cursor(rows[-1][1], subs[-1].id) if rows else None,
        notices=notices,
        position=position,
    )


def list_submissions(db: Session, secret: bytes, who: Principal, f: Filters) -> Page:
    """One page of submissions for `who` (see :func:`list_page`)."""
    return list_page(db, secret, who, f).result


def _get(db: Session, submission_id: int) -> Submission:
    sub = db.get(Submission, submission_id)
    if sub is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no submission #{submission_id}")
    return sub


# ----------------------------------------------------------------------------- JSON API


def api_filters(
    task: Annotated[str | None, Query(max_length=64, description="Task id.")] = None,
    state: Annotated[str | None, Query(alias="status", pattern=f"^({'|'.join(STATUSES)})$")] = None,
    cohort: Annotated[int | None, Query(ge=1, le=MAX_ID, description="Cohort id.")] = None,
    score_min: Annotated[
        float | None,
        Query(ge=0, le=1, description="Lowest task score, as a fraction 0-1 (the page: %)."),
    ] = None,
    score_max: Annotated[
        float | None,
        Query(ge=0, le=1, description="Highest task score, as a fraction 0-1 (the page: %)."),
    ] = None,
    flagged: Annotated[
        Flagged | None,
        Query(
            description="Integrity flags: auto (the automatic pass's, seen by all), reviewer "
            "(reviewers', seen once you have reviewed), true (either), false (neither)."
        ),
    ] = None,
    disagreement: bool | None = None,
    reviewed: Annotated[str | None, Query(pattern="^(yes|no|mine|not-mine)$")] = None,
    q: Annotated[
        str | None,
        Query(
            max_length=MAX_QUERY,
            description="Search: pseudonym, submission number, or name / e-mail where you may "
            "see identities (operators; reviewers in cohorts that are not blind).",
        ),
    ] = None,
    superseded: Annotated[
        Superseded,
        Query(description="Earlier uploads of the same applicant and task: exclude (default)."),
    ] = Superseded.exclude,
    sort: Sort = Sort.received,
    order: Annotated[str, Query(pattern="^(asc|desc)$")] = "desc",
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
    per_page: Annotated[int, Query(ge=1, le=200)] = 50,
    after: Annotated[
        str | None, Query(max_length=400, description="next_cursor of the previous answer.")
    ] = None,
    before: Annotated[
        str | None, Query(max_length=400, description="prev_cursor of the previous answer.")
    ] = None,
    last: Annotated[bool, Query(description="The last page.")] = False,
) -> Filters:
    """The JSON API's filters (scores as fractions 0-1)."""
    try:
        cursors = {
            name: Cursor.decode(token, sort)
            for name, token in (("after", after), ("before", before))
            if token
        }
    except FilterError as e:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(e)) from None
    if score_min is not None and score_max is not None and score_min > score_max:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "score_min is above score_max")
    return Filters(
        task=task,
        status=state,
        cohort=cohort,
        score_min=score_min,
        score_max=score_max,
        flagged=flagged,
        disagreement=disagreement,
        reviewed=reviewed,
        sort=sort,
        order=order,
        page=page,
        per_page=per_page,
        q=q,
        superseded=superseded,
        last=last,
        **cursors,
    )


FiltersDep = Annotated[Filters, Depends(api_filters)]


def page_filters(request: Request) -> Filters:
    """The filters of a page's query string (the dashboard's links), bad ones left out."""
    return Filters.parse(request.query_params)[0]


# For pages opened from the dashboard (the review page's previous / next).
PageFiltersDep = Annotated[Filters, Depends(page_filters)]


@router.get("/api/v1/submissions", response_model=Page)
def api_list(who: CurrentReviewer, db: SessionDep, services: ServicesDep, f: FiltersDep) -> Page:
    """Submissions, filtered, searched, sorted and paginated on the server.

    Counted submissions only (the last upload per applicant and task) unless
    ``superseded`` says otherwise. Task scores and ``score_min`` / ``score_max`` are
    fractions 0-1. Pages: ``page`` numbers, or keyset cursors (``after=next_cursor``,
    ``before=prev_cursor``, ``last=true``) that stay as fast on the last page as on the
    first; a page past the end answers the last page.
    """
    return list_submissions(db, services.secret, who, f)


@router.get("/api/v1/submissions/{submission_id}", response_model=SubmissionDetail)
def api_detail(
    submission_id: RowId, who: CurrentReviewer, db: SessionDep, services: ServicesDep
) -> SubmissionDetail:
    """One submission with its reviews, its gradings (and their differences), the composite;
    ``counted`` and ``superseded_by`` say whether a later upload replaced it."""
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
def root(who: MaybePrincipal) -> RedirectResponse:
    """Where each account starts: a mentor at their streams, everyone else the dashboard."""
    mentor = who is not None and who.user is not None and who.user.role == "mentor"
    return RedirectResponse("/review/streams" if mentor else "/review", status_code=303)


# The columns whose header sorts the table: (label, sort), in table order.
SORTABLE = {"#": Sort.id, "Task": Sort.task, "Status": Sort.status, "Task score": Sort.score,
            "Reviews": Sort.reviews, "Received": Sort.received}  # fmt: skip
FORM_FIELDS = ("q", "task", "cohort", "status", "score_min", "score_max", "flagged",
               "disagreement", "reviewed", "superseded", "sort", "order", "per_page")  # fmt: skip


@router.get("/review", response_class=HTMLResponse, include_in_schema=False)
def dashboard(
    request: Request, who: CurrentReviewer, db: SessionDep, services: ServicesDep
) -> HTMLResponse:
    """The dashboard. Bad filters are named in the page (422), the rest still apply, and
    the form keeps what was typed."""
    f, errors = Filters.parse(request.query_params)
    listing = list_page(db, services.secret, who, f)
    tasks = db.scalars(select(TaskRow).order_by(TaskRow.id)).all()
    cohorts = db.scalars(select(Cohort).order_by(Cohort.id)).all()
    form = {name: request.query_params.get(name, "") for name in FORM_FIELDS}
    form["per_page"] = form["per_page"] or str(f.per_page)
    response = page(
        request,
        "dashboard.html.j2",
        who,
        result=listing.result,
        listing=listing,
        f=f,
        form=form,
        errors=errors,
        tasks=tasks,
        cohorts=cohorts,
        pages=listing.pages,
        sortable=SORTABLE,
        sorts=[s.value for s in Sort],
        statuses=STATUSES,
        reviewed_choices=REVIEWED,
        per_page_choices=PER_PAGE_CHOICES,
    )
    if errors:
        response.status_code = status.HTTP_422_UNPROCESSABLE_CONTENT
    return response
