"""Where a received submission waits: its place in the grading queue and an estimate,
in the applicant's JSON and on the portal (one computation, api.waiting)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import select, update

from api.core.db import transaction
from api.models import Job, Submission, utcnow
from api.waiting import DEFAULT_GRADING_S, Waiting, said, waiting
from tests.api.conftest import RIGHT, WRONG, Service, make_world


def test_words_for_places_and_times() -> None:
    assert said(Waiting(1, 0, 20)) == "next in the queue, checked in under a minute"
    assert said(Waiting(2, 1, 60)) == "2nd in the queue, checked in about 1 min"
    assert said(Waiting(3, 0, 130)) == "3rd in the queue, checked in about 2 min"
    assert said(Waiting(11, 0, 600)).startswith("11th in the queue")
    assert said(Waiting(22, 0, 7200)) == "22nd in the queue, checked in about 2.0 h"


def test_places_and_estimates_follow_the_queue(service_factory: Callable[..., Service]) -> None:
    # No grading threads: uploads stay queued, as behind a busy pool.
    w = make_world(service_factory(workers=0))
    sessions = w.svc.client.app.state.services.sessions  # type: ignore[attr-defined]
    a1 = w.svc.upload(w.alice, RIGHT).json()
    b1 = w.svc.upload(w.bob, RIGHT).json()
    a2 = w.svc.upload(w.alice, WRONG, name="second.zip").json()
    assert (a1["queue_position"], a1["queue_said"]) == (
        1,
        "next in the queue, checked in under a minute",
    )

    mine = {s["id"]: s for s in w.alice.get("/api/v1/me/submissions").json()}
    assert mine[a1["id"]]["queue_position"] == 1
    assert mine[a2["id"]]["queue_position"] == 3  # bob's upload waits between alice's two
    assert w.bob.get(f"/api/v1/me/submissions/{b1['id']}").json()["queue_position"] == 2
    # Nothing graded on this queue yet: one default grading's time per round, one lane.
    assert mine[a2["id"]]["queue_estimate_s"] == 3 * DEFAULT_GRADING_S

    # Alice's first is taken; recent gradings took 40 s each: the others move up, and the
    # running one is waited for.
    with transaction(sessions) as db:
        db.execute(update(Job).where(Job.submission_id == a1["id"]).values(state="running"))
        db.execute(update(Submission).where(Submission.id == a1["id"]).values(status="running"))
        now = utcnow()
        for i in range(3):
            db.add(
                Job(
                    submission_id=a1["id"],
                    state="done",
                    worker="w",
                    started_at=now - timedelta(seconds=100 + i),
                    finished_at=now - timedelta(seconds=60 + i),
                )
            )
    first = w.alice.get(f"/api/v1/me/submissions/{a1['id']}").json()
    assert first["state"] == "being checked" and first["queue_position"] is None
    second = w.alice.get(f"/api/v1/me/submissions/{a2['id']}").json()
    assert second["queue_position"] == 2
    assert second["queue_estimate_s"] == 3 * 40  # the running one, bob's, then this
    assert second["queue_said"] == "2nd in the queue, checked in about 2 min"

    portal = w.alice.get("/portal").text
    assert f'id="queue-{a2["id"]}"' in portal and "2nd in the queue" in portal

    # Done: no place any more.
    with transaction(sessions) as db:
        db.execute(update(Job).where(Job.state.in_(("queued", "running"))).values(state="done"))
        assert not waiting(db, [a1["id"], a2["id"], b1["id"]], workers=None)
        assert db.scalars(select(Job.state).distinct()).all() == ["done"]
