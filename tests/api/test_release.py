"""Results release: nothing reaches applicants before it (JSON and HTML), then each sees
their stage in words, their applicant-visible checks and feedback, never hidden checks,
reviewers' notes or other applicants; one message each; a withdrawal hides them again."""

from __future__ import annotations

from sqlalchemy import select

from api.core.db import transaction
from api.models import AuditEntry, OutboxMessage, Submission, User
from api.reviewing import ReviewInput, save_review
from tests.api.conftest import World
from tests.api.test_decisions import HOSTILE, ranked_world, services_of


def _release(world: World) -> dict[str, object]:
    r = world.operator.post(f"/api/v1/cohorts/{world.cohort_id}/release")
    assert r.status_code == 200, r.text
    body: dict[str, object] = r.json()
    return body


def test_nothing_reaches_applicants_before_release(world: World) -> None:
    ids = ranked_world(world)
    world.operator.put(
        f"/api/v1/applicants/{ids['alice']}/decision",
        json={"decision": "advanced", "feedback": "SECRET-FEEDBACK"},
    )
    r = world.alice.get("/api/v1/me/results")
    assert r.status_code == 200
    assert r.json() == {
        "cohort": "c1", "released": False, "released_at": None, "stage": None,
        "feedback": None, "tasks": [], "regrade_days": None, "regrade_open": False,
        "regrade_closes_at": None,
    }  # fmt: skip
    page = world.alice.get("/portal/results")
    assert page.status_code == 200
    assert "Results for c1 are not released yet." in page.text
    for leak in ("SECRET-FEEDBACK", "advanced", "visible feedback", "Wrote a result"):
        assert leak not in page.text
    # and no request before release
    r = world.alice.post(
        "/api/v1/me/regrade-requests", json={"task_id": "py-exec", "reason": "please"}
    )
    assert r.status_code == 409 and "not released" in r.json()["detail"]
    with services_of(world).sessions() as s:
        kinds = set(s.scalars(select(OutboxMessage.kind)))
        assert "results" not in kinds  # invitations may be queued; no results message


def test_release_shows_each_applicant_their_own_results(world: World) -> None:
    ids = ranked_world(world)
    services = services_of(world)
    with transaction(services.sessions) as s:
        rev = s.scalar(select(User).where(User.username == "rev"))
        assert rev is not None
        for sub in s.scalars(select(Submission)):
            note = ReviewInput({}, "Meets", True, "REVIEWER-NOTE", "REVIEWER-COMMENT")
            save_review(s, sub, rev, note)
    world.operator.put(
        f"/api/v1/applicants/{ids['bob']}/decision",
        json={"decision": "rejected", "reason": "INTERNAL-REASON", "feedback": HOSTILE},
    )
    preview = world.operator.get(f"/admin/cohorts/{world.cohort_id}/release")
    assert preview.status_code == 200 and "What applicants will see" in preview.text
    assert world.reviewer.get(f"/admin/cohorts/{world.cohort_id}/release").status_code == 403
    got = _release(world)
    assert got["messages_queued"] == 3 and got["released_by"] == "operator:ops"
    again = world.operator.post(f"/api/v1/cohorts/{world.cohort_id}/release")
    assert again.status_code == 409

    bob = world.bob.get("/api/v1/me/results").json()
    assert bob["released"] is True and bob["stage"] == "rejected" and bob["feedback"] == HOSTILE
    assert bob["regrade_days"] == 14 and bob["regrade_open"] is True
    exec_task = next(t for t in bob["tasks"] if t["task_id"] == "py-exec")
    assert [c["id"] for c in exec_task["checks"]] == ["ran"]  # the applicant-visible one only
    assert exec_task["can_request"] is True
    alice = world.alice.get("/api/v1/me/results").json()
    assert alice["stage"] == "under review" and alice["feedback"] == ""
    for body in (str(bob), str(alice), world.bob.get("/portal/results").text):
        for leak in ("HIDDEN-CHECK-DETAIL", "REVIEWER-NOTE", "REVIEWER-COMMENT", "INTERNAL-REASON",
                     "alice@example.org", "composite", "rank"):  # fmt: skip
            assert leak not in body, leak
    page = world.bob.get("/portal/results").text
    assert "&lt;img src=x onerror=" in page and "<img src=x" not in page

    with services.sessions() as s:
        msgs = s.scalars(select(OutboxMessage).where(OutboxMessage.kind == "results")).all()
        assert len(msgs) == 3
        for m in msgs:
            assert "/portal/results" in m.body
            assert "rejected" not in m.body and "advanced" not in m.body
        assert s.scalar(select(AuditEntry).where(AuditEntry.action == "release")) is not None


def test_withdrawing_hides_results_and_sends_nothing_twice(world: World) -> None:
    ranked_world(world)
    _release(world)
    r = world.operator.delete(f"/api/v1/cohorts/{world.cohort_id}/release")
    assert r.status_code == 200 and r.json()["released_at"] is None
    assert world.alice.get("/api/v1/me/results").json()["released"] is False
    assert world.operator.delete(f"/api/v1/cohorts/{world.cohort_id}/release").status_code == 409
    assert _release(world)["messages_queued"] == 0  # each applicant was told once already
    with services_of(world).sessions() as s:
        actions = list(s.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))
    assert actions.count("release") == 2 and actions.count("release-withdraw") == 1


def test_release_page_releases_and_withdraws(world: World) -> None:
    ranked_world(world)
    url = f"/admin/cohorts/{world.cohort_id}/release"
    page = world.operator.get(url)
    assert "Release results to 3 applicant(s)" in page.text and "Example: what" in page.text
    r = world.operator.post(url, data={"action": "release"}, follow_redirects=False)
    assert r.status_code == 303
    page = world.operator.get(r.headers["location"])
    assert "Results released; 3 message(s) queued." in page.text
    r = world.operator.post(url, data={"action": "release"})
    assert r.status_code == 409 and "already released" in r.text
    r = world.operator.post(url, data={"action": "withdraw"}, follow_redirects=True)
    assert "Messages already sent stay sent" in r.text
