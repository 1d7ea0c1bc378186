"""Decisions: one applicant at a time (reason rules, audit), in bulk from the ranking with a
preview that is exactly what the confirmation changes, the page and the CSV export."""

from __future__ import annotations

import csv
import io
import time
from typing import Any

from sqlalchemy import select

from api.core.db import transaction
from api.models import Applicant, AuditEntry, Submission, TaskRow, User
from api.reviewing import ReviewInput, save_review
from api.services import Services
from api.uploads import receive
from tests.api.conftest import RIGHT, WRONG, World, zip_bytes

HOSTILE = '<img src=x onerror="alert(1)">=HYPERLINK("http://evil")'


def services_of(world: World) -> Services:
    services: Services = world.svc.client.app.state.services  # type: ignore[attr-defined]
    return services


def submit(services: Services, email: str, files: dict[str, str], task: str = "py-exec") -> int:
    """Receive an upload as the applicant would send it, and wait for its grading."""
    with services.sessions() as s:
        applicant = s.scalar(select(Applicant).where(Applicant.email == email))
        row = s.get(TaskRow, task)
        assert applicant is not None and row is not None
        s.expunge_all()
    sid = receive(services, applicant, row, "s.zip", [zip_bytes(files)]).submission.id
    deadline = time.monotonic() + 30
    while True:
        with services.sessions() as s:
            sub = s.get(Submission, sid)
            assert sub is not None
            if sub.status not in ("queued", "running"):
                return sid
        assert time.monotonic() < deadline, "grading did not finish"
        time.sleep(0.05)


def invite(world: World, name: str) -> str:
    r = world.operator.post(
        "/api/v1/invitations",
        json={"cohort": "c1", "email": f"{name}@example.org", "name": name.title()},
    )
    assert r.status_code == 201, r.text
    token: str = r.json()["token"]
    return token


def ranked_world(world: World) -> dict[str, int]:
    """alice (right) ranks above bob (wrong); carol is invited and never submits.
    Returns the applicants' ids by name."""
    services = services_of(world)
    invite(world, "carol")
    submit(services, "alice@example.org", RIGHT)
    submit(services, "bob@example.org", WRONG)
    with services.sessions() as s:
        return {a.name.lower(): a.id for a in s.scalars(select(Applicant))}


def decisions(world: World) -> dict[int, dict[str, Any]]:
    r = world.operator.get(f"/api/v1/cohorts/{world.cohort_id}/decisions")
    assert r.status_code == 200, r.text
    return {row["applicant_id"]: row for row in r.json()}


def test_board_lists_every_applicant_with_stage_and_rank(world: World) -> None:
    ids = ranked_world(world)
    rows = decisions(world)
    assert [rows[ids[n]]["rank"] for n in ("alice", "bob", "carol")] == [1, 2, None]
    assert rows[ids["alice"]]["composite"] > rows[ids["bob"]]["composite"]
    assert {rows[i]["stage"] for i in ids.values()} == {"submitted", "invited"}
    assert rows[ids["carol"]]["stage"] == "invited"
    # decisions are operators' only
    assert world.reviewer.get(f"/api/v1/cohorts/{world.cohort_id}/decisions").status_code == 403
    assert world.alice.get(f"/api/v1/cohorts/{world.cohort_id}/decisions").status_code == 401


def test_single_decision_needs_a_reason_to_reject_and_is_audited(world: World) -> None:
    ids = ranked_world(world)
    url = f"/api/v1/applicants/{ids['bob']}/decision"
    r = world.operator.put(url, json={"decision": "rejected", "reason": "  "})
    assert r.status_code == 422 and "Reason: required" in r.json()["detail"]
    r = world.operator.put(url, json={"decision": "maybe"})
    assert r.status_code == 422
    r = world.operator.put(
        url, json={"decision": "rejected", "reason": "below the bar", "feedback": "Thanks!"}
    )
    assert r.status_code == 200, r.text
    assert r.json()["stage"] == "rejected" and r.json()["decided_by"] == "operator:ops"
    assert world.reviewer.put(url, json={"decision": None}).status_code == 403
    r = world.operator.put(url, json={"decision": None})
    assert r.json()["stage"] == "submitted" and r.json()["reason"] == ""
    assert r.json()["feedback"] == "Thanks!"  # feedback left out: kept
    with services_of(world).sessions() as s:
        entries = s.scalars(select(AuditEntry).where(AuditEntry.action == "decision")).all()
    assert [(e.before["decision"], e.after["decision"]) for e in entries] == [
        (None, "rejected"),
        ("rejected", None),
    ]
    assert all(e.actor == "operator:ops" for e in entries)


def test_bulk_preview_is_exactly_what_confirm_changes(world: World) -> None:
    ids = ranked_world(world)
    url = f"/api/v1/cohorts/{world.cohort_id}/decisions"
    before = decisions(world)
    body = {"mode": "top", "k": 1, "reject_rest": True, "reason": "not this round"}
    preview = world.operator.post(url, json=body)
    assert preview.status_code == 200, preview.text
    got = preview.json()
    assert got["preview"] is True and got["applied"] == 0
    assert decisions(world) == before  # nothing stored by a preview
    planned = {(c["applicant_id"], c["before"], c["after"]) for c in got["changes"]}
    assert planned == {
        (ids["alice"], None, "advanced"),
        (ids["bob"], None, "rejected"),
        (ids["carol"], None, "rejected"),
    }
    done = world.operator.post(url, json={**body, "preview": False, "plan": got["plan"]})
    assert done.status_code == 200 and done.json()["applied"] == 3
    after = decisions(world)
    assert {(a, b, after[a]["decision"]) for a, b, _ in planned} == planned
    # Run again: nothing left to change; a manual decision survives a later bulk rejection.
    assert world.operator.post(url, json=body).json()["changes"] == []


def test_bulk_refuses_a_plan_that_changed_since_the_preview(world: World) -> None:
    ids = ranked_world(world)
    url = f"/api/v1/cohorts/{world.cohort_id}/decisions"
    body = {"mode": "threshold", "threshold": 0.0}
    plan = world.operator.post(url, json=body).json()["plan"]
    world.operator.put(
        f"/api/v1/applicants/{ids['bob']}/decision",
        json={"decision": "withdrawn", "reason": "asked to leave"},
    )
    r = world.operator.post(url, json={**body, "preview": False, "plan": plan})
    assert r.status_code == 409
    assert decisions(world)[ids["alice"]]["decision"] is None  # nothing applied
    for bad, word in (
        ({"mode": "top"}, "Top K"),
        ({"mode": "threshold", "threshold": 2}, "threshold"),
        ({"mode": "top", "k": 1, "reject_rest": True}, "Reason"),
    ):
        r = world.operator.post(url, json=bad)
        assert r.status_code == 422 and word in str(r.json()["detail"]), r.text


def test_bulk_in_the_page_previews_then_applies(world: World) -> None:
    ids = ranked_world(world)
    base = f"/admin/cohorts/{world.cohort_id}/decisions"
    page = world.operator.get(base)
    assert page.status_code == 200 and "alice@example.org" in page.text
    form = {"mode": "top", "k": "1", "reject_rest": "1", "reason": HOSTILE, "action": "preview"}
    r = world.operator.post(base + "/bulk", data=form)
    assert r.status_code == 200 and "Preview, nothing stored yet" in r.text
    assert 'onerror="alert' not in r.text and "&lt;img" in r.text
    assert decisions(world)[ids["bob"]]["decision"] is None
    plan = r.text.split('name="plan" value="', 1)[1].split('"', 1)[0]
    r = world.operator.post(
        base + "/bulk", data={**form, "action": "confirm", "plan": plan}, follow_redirects=False
    )
    assert r.status_code == 303
    rows = decisions(world)
    assert rows[ids["alice"]]["decision"] == "advanced"
    assert rows[ids["bob"]]["decision"] == "rejected" and rows[ids["bob"]]["reason"] == HOSTILE
    # bad input: one line naming the field, the input kept, nothing stored
    r = world.operator.post(base + "/bulk", data={"mode": "top", "k": "ten", "action": "preview"})
    assert r.status_code == 422 and "Top K: &#39;ten&#39;" in r.text and 'value="ten"' in r.text


def test_single_decision_page_keeps_input_on_error(world: World) -> None:
    ids = ranked_world(world)
    url = f"/admin/applicants/{ids['bob']}/decision"
    assert world.operator.get(url).status_code == 200
    assert world.reviewer.get(url).status_code == 403
    r = world.operator.post(url, data={"decision": "rejected", "reason": "", "feedback": "kept"})
    assert r.status_code == 422 and "Reason: required" in r.text and ">kept</textarea>" in r.text
    r = world.operator.post(
        url, data={"decision": "rejected", "reason": "r", "feedback": HOSTILE},
        follow_redirects=False,
    )  # fmt: skip
    assert r.status_code == 303
    assert decisions(world)[ids["bob"]]["feedback"] == HOSTILE


def test_export_is_formula_safe(world: World) -> None:
    ids = ranked_world(world)
    world.operator.put(
        f"/api/v1/applicants/{ids['bob']}/decision",
        json={"decision": "rejected", "reason": "=cmd|' /C calc'!A0", "feedback": "@SUM(1)"},
    )
    r = world.operator.get(f"/api/v1/cohorts/{world.cohort_id}/decisions/export.csv")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    bob = next(row for row in rows if row["email"] == "bob@example.org")
    assert bob["reason"] == "'=cmd|' /C calc'!A0" and bob["feedback"] == "'@SUM(1)"
    assert bob["stage"] == "rejected" and bob["rank"] == "2"
    assert (
        world.reviewer.get(f"/api/v1/cohorts/{world.cohort_id}/decisions/export.csv").status_code
        == 403
    )


def test_stage_reviewed_after_reviews(world: World) -> None:
    ids = ranked_world(world)
    services = services_of(world)
    with transaction(services.sessions) as s:
        rev = s.scalar(select(User).where(User.username == "rev"))
        assert rev is not None
        for sub in s.scalars(select(Submission)):
            save_review(s, sub, rev, ReviewInput({}, "Meets", False, "", ""))
    rows = decisions(world)
    assert rows[ids["alice"]]["stage"] == rows[ids["bob"]]["stage"] == "reviewed"
