"""Windows and timed attempts through the API and the portal, on SQLite and PostgreSQL:
Start (idempotent, only inside the window), what stays closed before Start, late uploads
refused or flagged, the counted submission, extensions, time zones, follow-up tasks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, select

from api.deadlines import iso_utc
from api.models import (
    Applicant,
    Attempt,
    AuditEntry,
    Cohort,
    CohortTask,
    Stream,
    StreamChoice,
    StreamTask,
    Submission,
)
from tests.api.conftest import RIGHT, WRONG, World, add_user, zip_bytes

TASK = "py-exec"


def _services(world: World) -> Any:
    return world.svc.client.app.state.services  # type: ignore[attr-defined]


def _cohort(world: World, **values: Any) -> None:
    with _services(world).sessions() as db, db.begin():
        cohort = db.get(Cohort, world.cohort_id)
        assert cohort is not None
        for k, v in values.items():
            setattr(cohort, k, v)


def _budget(world: World, minutes: int | None, task: str = TASK) -> None:
    with _services(world).sessions() as db, db.begin():
        row = db.get(CohortTask, (world.cohort_id, task))
        assert row is not None
        row.time_budget_minutes = minutes


def _applicant_id(world: World, name: str) -> int:
    with _services(world).sessions() as db:
        found = db.scalar(select(Applicant.id).where(Applicant.email == f"{name}@example.org"))
        assert found is not None
        return found


def _started_ago(world: World, name: str, minutes: int, task: str = TASK) -> None:
    """Move the applicant's Start back (the clock is real: time is moved in the database)."""
    aid = _applicant_id(world, name)
    with _services(world).sessions() as db, db.begin():
        attempt = db.scalar(
            select(Attempt).where(Attempt.applicant_id == aid, Attempt.task_id == task)
        )
        assert attempt is not None
        attempt.started_at = datetime.now(UTC) - timedelta(minutes=minutes)


def _task(world: World, who: str = "alice", task: str = TASK) -> dict[str, Any]:
    tasks = getattr(world, who).get("/api/v1/me/tasks").json()
    return next(t for t in tasks if t["id"] == task)


def _subs(world: World) -> dict[int, tuple[bool, bool]]:
    with _services(world).sessions() as db:
        return {
            i: (late, counted)
            for i, late, counted in db.execute(
                select(Submission.id, Submission.late, Submission.counted)
            )
        }


def test_timed_task_is_closed_until_start_and_start_is_idempotent(world: World) -> None:
    _budget(world, 60)
    _cohort(world, grace_minutes=5)
    t = _task(world)
    assert t["attempt"]["timed"] is True and t["attempt"]["started_at"] is None
    assert t["attempt"]["deadline_at"] is None and t["attempt"]["time_budget_minutes"] == 60
    r = world.svc.upload(world.alice, RIGHT)
    assert r.status_code == 409 and "press Start" in r.json()["detail"]
    assert world.alice.get(t["kit_url"]).status_code == 409
    page = world.alice.get(f"/portal/tasks/{TASK}/instructions")
    assert page.status_code == 409 and "open when you press Start" in page.text
    assert "six times seven" not in page.text  # nothing of the instructions before Start
    r = world.alice.post(t["attempt"]["start_url"])
    assert r.status_code == 201, r.text
    first = r.json()
    started = datetime.fromisoformat(first["started_at"])
    deadline = datetime.fromisoformat(first["deadline_at"])
    assert deadline - started == timedelta(minutes=65)
    again = world.alice.post(t["attempt"]["start_url"])
    assert again.status_code == 200 and again.json()["started_at"] == first["started_at"]
    with _services(world).sessions() as db:
        assert len(db.scalars(select(Attempt)).all()) == 1
        stored = db.scalar(select(Attempt.deadline_at))
        assert stored == deadline
    assert world.alice.get(t["kit_url"]).status_code == 200
    opened = world.alice.get(f"/portal/tasks/{TASK}/instructions")
    assert opened.status_code == 200 and "six times seven" in opened.text
    assert 'role="timer"' in opened.text
    up = world.svc.upload(world.alice, RIGHT)
    assert up.status_code == 201 and up.json()["late"] is False and up.json()["counted"] is True
    # Bob has not started: his clock is his own.
    assert _task(world, "bob")["attempt"]["started_at"] is None


def test_start_only_inside_the_window_and_untimed_has_nothing_to_start(world: World) -> None:
    _budget(world, 60)
    now = datetime.now(UTC)
    _cohort(world, opens_at=now + timedelta(days=1), closes_at=now + timedelta(days=8))
    world.alice.put("/api/v1/me/timezone", json={"timezone": "Asia/Kolkata"})
    r = world.alice.post(f"/api/v1/me/tasks/{TASK}/start")
    assert r.status_code == 409 and "opens" in r.json()["detail"]
    assert "(Asia/Kolkata, UTC+05:30)" in r.json()["detail"]
    assert _task(world)["attempt"]["window"] == "not_open"
    # An untimed task is not uploadable before the window opens either.
    r = world.svc.upload(world.alice, RIGHT, task="py-rubric")
    assert r.status_code == 409 and "open with the window" in r.json()["detail"]
    assert world.alice.post("/api/v1/me/tasks/py-rubric/start").status_code == 422
    _cohort(world, opens_at=now - timedelta(days=8), closes_at=now - timedelta(minutes=1))
    r = world.alice.post(f"/api/v1/me/tasks/{TASK}/start")
    assert r.status_code == 409 and "closed" in r.json()["detail"]
    with _services(world).sessions() as db:
        assert db.scalars(select(Attempt)).all() == []


def test_close_caps_a_late_start_and_untimed_is_due_at_the_close(world: World) -> None:
    _budget(world, 120)
    close = (datetime.now(UTC) + timedelta(minutes=30)).replace(microsecond=0)
    _cohort(world, closes_at=close)
    r = world.alice.post(f"/api/v1/me/tasks/{TASK}/start")
    assert datetime.fromisoformat(r.json()["deadline_at"]) == close
    untimed = _task(world, task="py-rubric")["attempt"]
    assert untimed["timed"] is False and datetime.fromisoformat(untimed["deadline_at"]) == close


def test_late_upload_is_refused_with_its_message_and_nothing_stored(world: World) -> None:
    _budget(world, 60)
    world.alice.put("/api/v1/me/timezone", json={"timezone": "America/New_York"})
    assert world.alice.post(f"/api/v1/me/tasks/{TASK}/start").status_code == 201
    _started_ago(world, "alice", 61)
    r = world.svc.upload(world.alice, RIGHT)
    assert r.status_code == 409
    detail = r.json()["detail"]
    assert detail.startswith("The deadline for ") and detail.endswith("; uploads are closed.")
    assert "(America/New_York, UTC-0" in detail
    assert world.alice.get("/api/v1/me/submissions").json() == []
    blobs = world.svc.settings.blob_dir
    assert not [p for p in blobs.rglob("*") if p.is_file()] if blobs.exists() else True
    # The portal's form says the same, in the page, with the status code.
    c = world.svc.anonymous()
    c.get(f"/invite/{world.tokens['alice']}")
    token = c.get("/portal").text.split('name="csrf_token" value="')[1].split('"')[0]
    page = c.post(
        f"/portal/tasks/{TASK}/submissions",
        files={"file": ("s.zip", zip_bytes(RIGHT), "application/zip")},
        data={"csrf_token": token},
    )
    assert page.status_code == 409 and detail in page.text.replace("&#39;", "'")
    assert "uploads are closed" in page.text


def test_flag_policy_keeps_late_uploads_and_the_last_on_time_one_counts(world: World) -> None:
    _budget(world, 60)
    _cohort(world, late_policy="flag")
    for who in (world.alice, world.bob):
        assert who.post(f"/api/v1/me/tasks/{TASK}/start").status_code == 201
    on_time = world.svc.upload(world.alice, WRONG).json()
    on_time2 = world.svc.upload(world.alice, RIGHT).json()
    assert _subs(world) == {on_time["id"]: (False, False), on_time2["id"]: (False, True)}
    _started_ago(world, "alice", 90)
    _started_ago(world, "bob", 90)
    late = world.svc.upload(world.alice, {"main.py": "x = 3\n"})
    assert late.status_code == 201 and late.json()["late"] is True
    assert late.json()["counted"] is False
    # The on-time bytes again after the deadline: the same submission, nothing changes.
    resend = world.svc.upload(world.alice, WRONG)
    assert resend.status_code == 200 and resend.json()["id"] == on_time["id"]
    # Bob has only late uploads: the last late one counts, and says it is late.
    b1 = world.svc.upload(world.bob, WRONG).json()
    b2 = world.svc.upload(world.bob, RIGHT).json()
    assert _subs(world) == {
        on_time["id"]: (False, False),
        on_time2["id"]: (False, True),
        late.json()["id"]: (True, False),
        b1["id"]: (True, False),
        b2["id"]: (True, True),
    }
    portal = world.alice.get("/portal").text
    assert "marked late" in portal and "not counted" in portal


def test_extensions_recompute_deadlines_are_audited_and_operators_only(world: World) -> None:
    _budget(world, 60)
    close = (datetime.now(UTC) + timedelta(minutes=30)).replace(microsecond=0)
    _cohort(world, closes_at=close)
    assert world.alice.post(f"/api/v1/me/tasks/{TASK}/start").status_code == 201
    _started_ago(world, "alice", 45)  # budget left: 15 minutes; the close is in 30
    aid = _applicant_id(world, "alice")
    url = f"/api/v1/applicants/{aid}/extensions"
    assert world.reviewer.post(url, json={"minutes": 5, "reason": "x"}).status_code == 403
    assert world.alice.get(url).status_code == 401
    r = world.operator.post(url, json={"minutes": 30, "reason": "  "})
    assert r.status_code == 422 and "reason" in r.json()["detail"]
    r = world.operator.post(url, json={"minutes": 0, "reason": "x"})
    assert r.status_code == 422
    r = world.operator.post(url, json={"minutes": 5, "task_id": "nope", "reason": "x"})
    assert r.status_code == 422 and "task" in r.json()["detail"]
    before = _deadline(world)
    r = world.operator.post(url, json={"minutes": 60, "task_id": TASK, "reason": "power cut"})
    assert r.status_code == 201, r.text
    # 60 more minutes, but the close still caps it.
    assert _deadline(world) == close
    assert {t["task_id"]: t["deadline_at"] for t in r.json()["tasks"]}[TASK] is not None
    r = world.operator.post(
        url, json={"minutes": 20, "reason": "outage at the close", "past_close": True}
    )
    assert r.status_code == 201
    assert _deadline(world) == close + timedelta(minutes=20)
    listed = world.operator.get(url).json()
    assert [e["reason"] for e in listed["extensions"]] == ["power cut", "outage at the close"]
    assert listed["extensions"][1]["task_id"] is None
    with _services(world).sessions() as db:
        stored = db.scalar(select(Attempt.deadline_at).where(Attempt.applicant_id == aid))
        entries = db.scalars(select(AuditEntry).where(AuditEntry.action == "extension")).all()
    assert stored == close + timedelta(minutes=20)
    assert [e.actor for e in entries] == ["operator:ops", "operator:ops"]
    assert entries[0].before["deadlines"][TASK] == iso_utc(before)
    assert entries[0].after["reason"] == "power cut" and entries[0].after["minutes"] == 60
    assert world.operator.get("/api/v1/applicants/999999/extensions").status_code == 404


def _deadline(world: World) -> datetime:
    value = _task(world)["attempt"]["deadline_at"]
    return datetime.fromisoformat(value)


def test_extensions_page_lists_and_grants_and_keeps_bad_input(world: World) -> None:
    _budget(world, 60)
    assert world.alice.post(f"/api/v1/me/tasks/{TASK}/start").status_code == 201
    url = f"/admin/cohorts/{world.cohort_id}/extensions"
    page = world.operator.get(url)
    assert page.status_code == 200 and "alice@example.org" in page.text
    assert "not started" in page.text and "1 h" in page.text
    assert world.reviewer.get(url).status_code == 403
    assert world.operator.get("/admin/cohorts/999999/extensions").status_code == 404
    aid = _applicant_id(world, "alice")
    bad = world.operator.post(
        url, data={"applicant": str(aid), "task": TASK, "minutes": "ten", "reason": "train late"}
    )
    assert bad.status_code == 422 and "minutes: give a whole number" in bad.text
    assert "train late" in bad.text and f'value="{aid}" selected' in bad.text
    ok = world.operator.post(
        url, data={"applicant": str(aid), "task": TASK, "minutes": "15", "reason": "train late"}
    )
    assert ok.status_code == 200 and "Extended Alice by 15 min on py-exec." in ok.text
    assert "+15 min: train late (operator:ops)" in ok.text
    other = world.operator.post(url, data={"applicant": "999999", "minutes": "15", "reason": "x"})
    assert other.status_code == 422 and "applicant: choose" in other.text


def test_time_zone_is_validated_and_used_on_the_portal(world: World) -> None:
    r = world.alice.put("/api/v1/me/timezone", json={"timezone": "Mars/Base"})
    assert r.status_code == 422 and "Mars/Base" in r.json()["detail"]
    r = world.alice.put("/api/v1/me/timezone", json={"timezone": "Europe/London"})
    assert r.status_code == 200 and r.json() == {"timezone": "Europe/London"}
    _cohort(world, closes_at=datetime(2030, 7, 1, 11, 0, tzinfo=UTC))
    page = world.alice.get("/portal").text
    assert "Mon 1 Jul 2030, 12:00 BST (Europe/London, UTC+01:00)" in page
    c = world.svc.anonymous()
    c.get(f"/invite/{world.tokens['bob']}")
    token = c.get("/portal").text.split('name="csrf_token" value="')[1].split('"')[0]
    bad = c.post("/portal/timezone", data={"timezone": "Nowhere/Else", "csrf_token": token})
    assert bad.status_code == 422 and "Nowhere/Else" in bad.text
    good = c.post(
        "/portal/timezone",
        data={"timezone": "Asia/Kolkata", "csrf_token": token},
        follow_redirects=False,
    )
    assert good.status_code == 303
    assert "Times are now shown in Asia/Kolkata" in c.get(good.headers["location"]).text


def test_follow_up_tasks_of_shortlisting_streams_join_the_task_list(world: World) -> None:
    with _services(world).sessions() as db, db.begin():
        db.execute(
            delete(CohortTask).where(
                CohortTask.cohort_id == world.cohort_id, CohortTask.task_id == "py-rubric"
            )
        )
        stream = Stream(cohort_id=world.cohort_id, name="interp")
        db.add(stream)
        db.flush()
        db.add(StreamTask(stream_id=stream.id, task_id="py-rubric"))
        for name, listed in (("alice", True), ("bob", False)):
            aid = db.scalar(select(Applicant.id).where(Applicant.email == f"{name}@example.org"))
            assert aid is not None
            db.add(StreamChoice(applicant_id=aid, stream_id=stream.id, shortlisted=listed))
    alice = world.alice.get("/api/v1/me/tasks").json()
    assert [(t["id"], t["follow_up"]) for t in alice] == [(TASK, False), ("py-rubric", True)]
    assert [t["id"] for t in world.bob.get("/api/v1/me/tasks").json()] == [TASK]
    assert world.svc.upload(world.alice, RIGHT, task="py-rubric").status_code == 201
    assert world.svc.upload(world.bob, RIGHT, task="py-rubric").status_code == 404
    assert "follow-up task" in world.alice.get("/portal").text


def test_mentor_cannot_grant_extensions(world: World) -> None:
    add_user(world.svc, "men", "mentor")
    mentor = world.svc.login("men")
    aid = _applicant_id(world, "alice")
    r = mentor.post(f"/api/v1/applicants/{aid}/extensions", json={"minutes": 5, "reason": "x"})
    assert r.status_code == 403


def test_an_extension_covering_a_flagged_upload_makes_it_on_time_and_counted(
    world: World,
) -> None:
    _budget(world, 60)
    _cohort(world, late_policy="flag")
    assert world.alice.post(f"/api/v1/me/tasks/{TASK}/start").status_code == 201
    early = world.svc.upload(world.alice, WRONG).json()["id"]
    _started_ago(world, "alice", 70)
    late = world.svc.upload(world.alice, RIGHT).json()["id"]
    assert _subs(world) == {early: (False, True), late: (True, False)}
    aid = _applicant_id(world, "alice")
    r = world.operator.post(
        f"/api/v1/applicants/{aid}/extensions",
        json={"minutes": 30, "task_id": TASK, "reason": "upload stalled"},
    )
    assert r.status_code == 201, r.text
    assert _subs(world) == {early: (False, False), late: (False, True)}
    with _services(world).sessions() as db:
        grant = db.scalar(select(AuditEntry).where(AuditEntry.action == "extension"))
        counted = db.scalar(select(AuditEntry).where(AuditEntry.action == "counted"))
    assert grant is not None and grant.after["now_on_time"] == [late]
    assert counted is not None and counted.submission_id == late
    me = world.alice.get("/api/v1/me").json()
    assert me["timezone"] == "UTC"


def test_the_confirmation_page_outside_the_window_says_why_and_offers_no_start(
    world: World,
) -> None:
    _budget(world, 60)
    _cohort(world, opens_at=datetime.now(UTC) + timedelta(hours=2))
    c = world.svc.anonymous()
    c.get(f"/invite/{world.tokens['alice']}")
    page = c.get(f"/portal/tasks/{TASK}/start")
    assert page.status_code == 409 and "cannot be started yet" in page.text
    assert 'id="start"' not in page.text and 'id="cannot-start"' in page.text
    _cohort(world, opens_at=None)
    page = c.get(f"/portal/tasks/{TASK}/start")
    assert page.status_code == 200 and 'id="start"' in page.text
    assert "What starts when you press Start" in page.text
    # Untimed: nothing to confirm, back to the task on the portal.
    r = c.get("/portal/tasks/py-rubric/start", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/portal#task-py-rubric"


def test_a_changed_budget_moves_the_stored_deadlines_of_started_attempts(world: World) -> None:
    """The console (PATCH /api/v1/cohorts/{id}) changes a budget: attempts already started
    keep their start, and their stored deadline (listings, reminders) follows the budget."""
    _budget(world, 60)
    assert world.alice.post(f"/api/v1/me/tasks/{TASK}/start").status_code == 201
    aid = _applicant_id(world, "alice")

    def stored() -> datetime:
        with _services(world).sessions() as db:
            attempt = db.scalar(select(Attempt).where(Attempt.applicant_id == aid))
            assert attempt is not None and attempt.deadline_at is not None
            return attempt.deadline_at

    before = stored()
    r = world.operator.patch(
        f"/api/v1/cohorts/{world.cohort_id}", json={"time_budgets": {TASK: 90}}
    )
    assert r.status_code == 200, r.text
    assert stored() - before == timedelta(minutes=30)
    assert _deadline(world) == stored()
