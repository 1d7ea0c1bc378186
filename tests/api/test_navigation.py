"""Previous / next within the dashboard's filter: walking every row with Next (and back with
Previous) visits exactly the dashboard's rows in the dashboard's order, for every sort, both
orders, ties, NULL scores and what a reviewer may not see yet; no OFFSET anywhere."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from sqlalchemy import event, select

from api import navigation
from api.core.db import transaction
from api.deps import Principal
from api.models import Applicant, Cohort, Review, Submission, User, utcnow
from api.reviewing import Independence
from api.routes.submissions import Filters, Sort, list_submissions
from tests.api.conftest import World

ROWS = 36


def _seed(world: World) -> None:
    """ROWS submissions with many ties (times, scores, review counts) and NULL scores; some
    reviewed by rev2 (whose reviews rev may not see), one by rev."""
    services = world.svc.client.app.state.services  # type: ignore[attr-defined]
    rng = random.Random(7)
    now = utcnow()
    with transaction(services.sessions) as s:
        cohort = s.scalar(select(Cohort))
        assert cohort is not None
        people = list(s.scalars(select(Applicant.id)))
        users = {u.username: u.id for u in s.scalars(select(User))}
        for n in range(ROWS):
            score = rng.choice([None, 0.0, 2.0, 2.0, 10.0])
            task = rng.choice(["py-exec", "py-rubric"])
            sub = Submission(
                applicant_id=people[n % len(people)], task_id=task, cohort_id=cohort.id,
                blob_sha256=f"{n:064x}", filename="s.zip", size=100, content_sha256=f"{n:064x}",
                received_at=now - timedelta(minutes=rng.choice([0, 5, 5, 10])),
                status="graded" if score is not None else rng.choice(["queued", "error"]),
                score=score, max_score=10.0,
                task_score=None if score is None else score / 10,
            )  # fmt: skip
            s.add(sub)
            s.flush()
            if n % 4 == 0:
                # rev2 reviewed it: the stored score moves, but rev sees the automatic one
                sub.task_score = rng.choice([0.1, 0.5, 0.9])
                sub.review_count = 1
                s.add(Review(submission_id=sub.id, reviewer_id=users["rev2"], scores={}))
            if n == 5:
                sub.review_count += 1
                s.add(Review(submission_id=sub.id, reviewer_id=users["rev"], scores={}))


def _walk(world: World, username: str, f: Filters) -> None:
    services = world.svc.client.app.state.services  # type: ignore[attr-defined]
    with services.sessions() as db:
        user = db.scalar(select(User).where(User.username == username))
        assert user is not None
        who = Principal(user=user, applicant=None, session=None)
        f.resolve(db, services.secret, who)
        expected = [r.id for r in list_submissions(db, services.secret, who, f).items]
        assert expected, "the filter should select rows"
        view = Independence.of(db, user)
        statements: list[str] = []
        offsets: list[object] = []

        def log(conn, cursor, statement, parameters, *args) -> None:  # type: ignore[no-untyped-def]
            if "FROM submissions" not in statement:
                return  # the grading queue polls the same database meanwhile
            statements.append(statement)
            if "OFFSET" in statement.upper():  # SQLite writes LIMIT ? OFFSET ? for any limit
                offsets.append(list(parameters)[-1])

        engine = db.get_bind()
        event.listen(engine, "before_cursor_execute", log)
        try:
            walked = [expected[0]]
            while (nxt := navigation.step(db, f, user.id, view, walked[-1], True)) is not None:
                walked.append(nxt)
                assert len(walked) <= ROWS, "a loop"
            back = [walked[-1]]
            while (prv := navigation.step(db, f, user.id, view, back[-1], False)) is not None:
                back.append(prv)
                assert len(back) <= ROWS, "a loop"
        finally:
            event.remove(engine, "before_cursor_execute", log)
        assert walked == expected, (f.sort, f.order)
        assert back == expected[::-1], (f.sort, f.order)
        assert set(offsets) <= {0}  # keyset: never skips rows
        # Per step: the current row's sort value (by primary key), then one query.
        assert len(statements) == 2 * (len(walked) + len(back))
        around = navigation.neighbours(db, f, user.id, view, expected[1])
        assert around == navigation.Neighbours(previous=expected[0], next=expected[2])


@pytest.mark.parametrize("order", ["desc", "asc"])
def test_next_and_previous_follow_the_dashboard_order(world: World, order: str) -> None:
    _seed(world)
    for sort in Sort:
        for username in ("rev", "ops"):
            _walk(world, username, Filters(sort=sort, order=order, per_page=200))


def test_next_stays_within_the_filter(world: World) -> None:
    _seed(world)
    _walk(world, "rev", Filters(task="py-rubric", sort=Sort.score, per_page=200))
    _walk(world, "rev", Filters(status="graded", reviewed="not-mine", per_page=200))
    _walk(world, "ops", Filters(score_min=0.15, sort=Sort.score, order="asc", per_page=200))


def test_a_submission_outside_the_filter_still_has_neighbours_by_its_place(world: World) -> None:
    _seed(world)
    services = world.svc.client.app.state.services  # type: ignore[attr-defined]
    with services.sessions() as db:
        user = db.scalar(select(User).where(User.username == "ops"))
        assert user is not None
        view = Independence.of(db, user)
        f = Filters(task="py-rubric", sort=Sort.id, order="asc")
        inside = list(
            db.scalars(
                select(Submission.id)
                .where(Submission.task_id == "py-rubric")
                .order_by(Submission.id)
            )
        )
        outside = next(
            sid for sid in range(inside[0] + 1, inside[-1]) if sid not in inside
        )  # e.g. a submission of the other task, opened from elsewhere
        around = navigation.neighbours(db, f, user.id, view, outside)
        assert around.previous == max(i for i in inside if i < outside)
        assert around.next == min(i for i in inside if i > outside)
