"""The operator console (/admin/...): cohorts, invitations, users, tasks and the audit log,
in HTML and through the JSON API behind it, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from api.models import Applicant, AuditEntry, OutboxMessage
from tests.api.conftest import PY_EXEC, RIGHT, Service, World, add_user
from tests.api.routes.test_operators import _versioned_grade

PASSWORD = "correct horse battery"


def _db(world: World) -> Any:
    return world.svc.client.app.state.services.sessions()  # type: ignore[attr-defined]


def _count(world: World, model: type, *where: Any) -> int:
    with _db(world) as s:
        return int(s.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def _status(html: str) -> str:
    return html.split('id="status"', 1)[1].split("</div>", 1)[0]


def _hidden(html: str, name: str) -> str:
    import html as html_lib

    raw = html.split(f'name="{name}" value="', 1)[1].split('"', 1)[0]
    return html_lib.unescape(raw)


# -- access -----------------------------------------------------------------------------------


def test_console_pages_are_for_operators_only(world: World) -> None:
    add_user(world.svc, "mentor1", "mentor")
    mentor = world.svc.login("mentor1")
    pages = [
        "/admin/cohorts", f"/admin/cohorts/{world.cohort_id}",
        f"/admin/cohorts/{world.cohort_id}/invitations", "/admin/users", "/admin/tasks",
        "/admin/audit", "/admin/audit.csv",
    ]  # fmt: skip
    for path in pages:
        assert world.operator.get(path).status_code == 200, path
        assert world.reviewer.get(path).status_code == 403, path
        assert mentor.get(path).status_code == 403, path
        assert world.alice.get(path).status_code == 401, path
    r = world.reviewer.post("/admin/users", data={"username": "x1", "role": "operator"})
    assert r.status_code == 403
    assert world.reviewer.get("/api/v1/users").status_code == 403


def test_hub_links_every_console_page(world: World) -> None:
    html = world.operator.get("/admin").text
    hub = html.split('id="hub"', 1)[1].split("</ul>", 1)[0]
    for href in ("/admin/cohorts", "/admin/users", "/admin/tasks", "/admin/audit",
                 "/admin/outbox", "/admin/assignments", "/admin/regrade-requests"):  # fmt: skip
        assert f'href="{href}"' in hub, href


# -- invitations ------------------------------------------------------------------------------

MIXED = (
    "email,name\n"
    "carol@example.org,Carol\n"  # 2: ok
    "not-an-email,Nobody\n"  # 3: bad e-mail
    "CAROL@example.org,Carol again\n"  # 4: duplicate of line 2 (addresses are lower-cased)
    "alice@example.org,Alice\n"  # 5: already invited (the world invites alice)
    ",No address\n"  # 6: missing e-mail
    "dave@example.org,Dave\n"  # 7: ok
)


def test_csv_preview_names_every_row_and_stores_nothing_until_confirmed(world: World) -> None:
    ops, cid = world.operator, world.cohort_id
    before = _count(world, Applicant, Applicant.cohort_id == cid)
    queued = _count(world, OutboxMessage, OutboxMessage.kind == "invitation")  # alice, bob
    r = ops.post(
        f"/admin/cohorts/{cid}/invitations/preview",
        files={"csv_file": ("people.csv", MIXED.encode(), "text/csv")},
    )
    assert r.status_code == 200, r.text
    table = r.text.split('id="csv-rows"', 1)[1].split("</table>", 1)[0]
    rows = [tr for tr in table.split("<tr")[2:]]
    assert len(rows) == 6
    expect = ["OK", "not an e-mail address", "duplicate of line 2",
              "already invited to this cohort", "missing e-mail", "OK"]  # fmt: skip
    for line, (tr, reason) in enumerate(zip(rows, expect, strict=True), start=2):
        assert f"<td>{line}</td>" in tr and reason in tr, (line, tr)
    assert "Import the 2 valid rows" in r.text
    assert "Nothing is stored yet" in _status(r.text)
    # Nothing stored, nothing queued.
    assert _count(world, Applicant, Applicant.cohort_id == cid) == before
    assert _count(world, OutboxMessage, OutboxMessage.kind == "invitation") == queued
    # The confirmation checks the text again: a row added on the way is refused on its own
    # merits, and a row invited since the preview is no longer valid.
    text = _hidden(r.text, "csv_text") + "evil@@x,Tampered\n"
    assert ops.post(
        f"/admin/cohorts/{cid}/invitations", data={"email": "dave@example.org"}
    ).is_success
    r = ops.post(f"/admin/cohorts/{cid}/invitations/import", data={"csv_text": text})
    assert r.status_code == 200, r.text
    assert "Imported 1 row(s); 6 row(s) not imported" in _status(r.text)
    links = r.text.split('id="links"', 1)[1].split("</section>", 1)[0]
    assert "carol@example.org" in links and "/invite/" in links and "dave@" not in links
    assert _count(world, Applicant, Applicant.cohort_id == cid) == before + 2  # carol, dave
    with _db(world) as s:
        mails = s.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()[queued:]
        assert [m.to_addr for m in mails] == ["dave@example.org", "carol@example.org"]
        base = world.svc.settings.base_url.rstrip("/")
        assert all(f"{base}/invite/" in m.body for m in mails)
        assert {a.action for a in s.scalars(select(AuditEntry))} >= {"invite"}


def test_csv_problems_of_the_whole_file_are_one_line(world: World) -> None:
    ops, cid = world.operator, world.cohort_id
    for data, words in (
        (b"name\nX\n", "a header row with an &#39;email&#39; column"),
        (b"email\n", "no rows"),
        ("email\nj\u00e9@x.org\n".encode("latin-1"), "not UTF-8"),
    ):
        r = ops.post(
            f"/admin/cohorts/{cid}/invitations/preview",
            files={"csv_file": ("p.csv", data, "text/csv")},
        )
        assert r.status_code == 422 and words in _status(r.text), (words, _status(r.text))


def test_single_invite_resend_and_revoke(world: World) -> None:
    ops, cid = world.operator, world.cohort_id
    r = ops.post(f"/admin/cohorts/{cid}/invitations", data={"email": "nope", "name": "Kept"})
    assert r.status_code == 422 and "not an email address" in _status(r.text)
    assert 'value="nope"' in r.text and 'value="Kept"' in r.text
    with _db(world) as s:
        alice = s.scalar(select(Applicant).where(Applicant.email == "alice@example.org"))
        assert alice is not None
        alice_id = alice.id
    assert world.alice.get("/api/v1/me/tasks").status_code == 200
    r = ops.post(f"/admin/cohorts/{cid}/invitations/{alice_id}/resend")
    assert r.status_code == 200 and "previous one no longer works" in r.text
    token = r.text.split("/invite/", 1)[1].split("<", 1)[0]
    assert world.alice.get("/api/v1/me/tasks").status_code == 401  # the old link
    fresh = world.svc.applicant(token)
    assert fresh.get("/api/v1/me/tasks").status_code == 200
    r = ops.post(f"/admin/cohorts/{cid}/invitations/{alice_id}/revoke")
    assert r.status_code == 200 and "Revoked" in _status(r.text)
    assert fresh.get("/api/v1/me/tasks").status_code == 401
    assert "revoked or expired" in ops.get(f"/admin/cohorts/{cid}/invitations").text
    # An applicant of another cohort is not this page's.
    other = ops.post("/api/v1/cohorts", json={"name": "other"}).json()["id"]
    assert ops.post(f"/admin/cohorts/{other}/invitations/{alice_id}/revoke").status_code == 404
    with _db(world) as s:
        actions = [a.action for a in s.scalars(select(AuditEntry).order_by(AuditEntry.id))]
    assert "invite-resend" in actions and "invite-revoke" in actions


# -- users ------------------------------------------------------------------------------------


def test_user_lifecycle_in_html(world: World) -> None:
    ops = world.operator
    r = ops.post("/admin/users", data={"username": "bad name!", "role": "reviewer"})
    assert r.status_code == 422 and "username" in _status(r.text)
    assert 'value="bad name!"' in r.text
    r = ops.post(
        "/admin/users", data={"username": "newrev", "role": "reviewer", "password": "short"}
    )
    assert r.status_code == 422 and "password" in _status(r.text) and "short" not in r.text
    r = ops.post("/admin/users", data={"username": "newrev", "role": "mentor"})
    assert r.status_code == 200, r.text
    password = r.text.split('id="new-password">', 1)[1].split("<", 1)[0]
    assert len(password) >= 16
    assert ops.post("/admin/users", data={"username": "newrev"}).status_code == 422  # taken
    user = world.svc.login("newrev", password)
    uid = next(u["id"] for u in ops.get("/api/v1/users").json() if u["username"] == "newrev")
    # Role, then disable: the session ends and signing in fails; enable again.
    r = ops.post(f"/admin/users/{uid}", data={"action": "role", "role": "reviewer"})
    assert r.status_code == 200 and "newrev is now reviewer" in _status(r.text)
    assert user.get("/review/queue").status_code == 200
    assert ops.post(f"/admin/users/{uid}", data={"action": "disable"}).status_code == 200
    assert user.get("/review/queue").status_code == 401
    anon = world.svc.anonymous()
    creds = {"username": "newrev", "password": password}
    assert anon.post("/api/v1/auth/login", json=creds).status_code == 401
    assert ops.post(f"/admin/users/{uid}", data={"action": "enable"}).status_code == 200
    user = world.svc.login("newrev", password)
    # Reset: a new password shown once, the old one and the session end.
    r = ops.post(f"/admin/users/{uid}", data={"action": "reset"})
    new = r.text.split('id="new-password">', 1)[1].split("<", 1)[0]
    assert new != password and user.get("/review/queue").status_code == 401
    assert anon.post("/api/v1/auth/login", json=creds).status_code == 401
    world.svc.login("newrev", new)
    # An operator cannot disable or demote themselves.
    me = next(u["id"] for u in ops.get("/api/v1/users").json() if u["username"] == "ops")
    for data in ({"action": "disable"}, {"action": "role", "role": "reviewer"}):
        r = ops.post(f"/admin/users/{me}", data=data)
        assert r.status_code == 422 and "your own account" in _status(r.text)
    assert (
        ops.post(f"/admin/users/{uid}", data={"action": "role", "role": "boss"}).status_code == 422
    )
    with _db(world) as s:
        entries = s.scalars(select(AuditEntry).where(AuditEntry.action.like("user-%"))).all()
        assert len(entries) == 5  # create, role, disable, enable, reset; refusals write none
        assert any(e.after.get("active") is False for e in entries)
        assert not any(p in str(e.after) for e in entries for p in (password, new))


def test_users_json_api(world: World) -> None:
    ops = world.operator
    r = ops.post("/api/v1/users", json={"username": "gen1", "role": "operator"})
    assert r.status_code == 201 and r.json()["password"] and r.json()["role"] == "operator"
    assert ops.get("/api/v1/users").json()[0]["password"] is None  # never listed
    uid = r.json()["id"]
    r = ops.patch(f"/api/v1/users/{uid}", json={"active": False, "role": "mentor"})
    assert r.status_code == 200 and r.json()["active"] is False and r.json()["role"] == "mentor"
    r = ops.patch(f"/api/v1/users/{uid}", json={"reset_password": True})
    assert r.status_code == 200 and len(r.json()["password"]) >= 16
    me = next(u["id"] for u in ops.get("/api/v1/users").json() if u["username"] == "ops")
    r = ops.patch(f"/api/v1/users/{me}", json={"active": False})
    assert r.status_code == 409 and "your own account" in r.json()["detail"]
    assert ops.patch(f"/api/v1/users/{me}", json={"role": "nope"}).status_code == 422
    assert ops.patch("/api/v1/users/99999", json={"active": True}).status_code == 404


# -- cohorts ----------------------------------------------------------------------------------


def _settings_form(**kw: str) -> dict[str, Any]:
    form: dict[str, Any] = {
        "zone": "UTC", "opens_local": "", "closes_local": "", "grace_minutes": "0",
        "late_policy": "refuse", "regrade_days": "14", "judge_mode": "off", "blind": "on",
        "tasks": ["py-exec", "py-rubric"], "budget_py-exec": "", "budget_py-rubric": "",
        "weight_research-taste": "0.5", "weight_implementation": "0.5",
    }  # fmt: skip
    form.update(kw)
    return form


def test_cohort_settings_form_stores_utc_and_audits(world: World) -> None:
    ops, cid = world.operator, world.cohort_id
    form = _settings_form(
        zone="Europe/Berlin", opens_local="2026-12-01T09:00", closes_local="2026-12-15T18:30",
        grace_minutes="10", late_policy="flag", judge_mode="blind", **{"budget_py-exec": "90"},
    )  # fmt: skip
    r = ops.post(f"/admin/cohorts/{cid}", data=form)
    assert r.status_code == 200, _status(r.text)
    c = ops.get("/api/v1/cohorts").json()[0]
    assert c["opens_at"].startswith("2026-12-01T08:00") and c["closes_at"].startswith(
        "2026-12-15T17:30"
    )
    assert c["grace_minutes"] == 10 and c["late_policy"] == "flag" and c["judge_mode"] == "blind"
    assert c["time_budgets"] == {"py-exec": 90, "py-rubric": None}
    assert "01 Dec 2026 08:00 UTC" in r.text  # shown in UTC and in the zone typed
    assert 'value="2026-12-01T09:00"' in r.text
    page = ops.get(f"/admin/cohorts/{cid}?zone=America/New_York").text
    assert 'value="2026-12-01T03:00"' in page
    with _db(world) as s:
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "cohort-settings")).one()
        assert entry.before["late_policy"] == "refuse" and entry.after["late_policy"] == "flag"
        assert entry.after["time_budgets"]["py-exec"] == 90
    # Saving the same again changes nothing and writes no entry.
    ops.post(f"/admin/cohorts/{cid}", data=form)
    assert _count(world, AuditEntry, AuditEntry.action == "cohort-settings") == 1
    # The listing shows the window in UTC and the applicants.
    listing = ops.get("/admin/cohorts").text
    assert "01 Dec 2026 08:00" in listing and ">2</a>" in listing


def test_cohort_settings_form_refuses_and_keeps_the_input(world: World) -> None:
    ops, cid = world.operator, world.cohort_id
    cases = [
        ({"opens_local": "2026-12-10T09:00", "closes_local": "2026-12-01T09:00"},
         "closes before it opens"),
        ({"zone": "Mars/Olympus", "opens_local": "2026-12-10T09:00"}, "unknown zone"),
        ({"budget_py-exec": "-5"}, "time budget of py-exec"),
        ({"budget_py-exec": "ten"}, "time budget of py-exec"),
        ({"grace_minutes": "-1"}, "grace_minutes"),
        ({"late_policy": "shrug"}, "late_policy"),
        ({"weight_implementation": "-1"}, "weight of implementation"),
        ({"opens_local": "tomorrow"}, "opens: not a date"),
    ]  # fmt: skip
    for change, words in cases:
        form = _settings_form(**change)
        r = ops.post(f"/admin/cohorts/{cid}", data=form)
        assert r.status_code == 422, (change, r.status_code)
        assert words in _status(r.text), (change, _status(r.text))
        for key, value in change.items():
            if key not in ("zone", "late_policy"):
                assert f'value="{value}"' in r.text, (key, value)
    c = ops.get("/api/v1/cohorts").json()[0]
    assert c["opens_at"] is None and c["late_policy"] == "refuse"  # nothing was stored
    assert _count(world, AuditEntry, AuditEntry.action == "cohort-settings") == 0


def test_cohort_api_settings_validation(world: World) -> None:
    ops, cid = world.operator, world.cohort_id
    url = f"/api/v1/cohorts/{cid}"
    bad = [
        {"opens_at": "2026-12-10T09:00:00Z", "closes_at": "2026-12-01T09:00:00Z"},
        {"opens_at": "2026-12-10T09:00:00"},  # no offset
        {"time_budgets": {"py-exec": -5}},
        {"time_budgets": {"nope": 5}},
        {"late_policy": "maybe"},
        {"judge_mode": "always"},
        {"regrade_days": -1},
    ]
    for body in bad:
        r = ops.patch(url, json=body)
        assert r.status_code == 422, (body, r.text)
        assert r.json()["detail"], body
    r = ops.patch(url, json={"opens_at": "2026-12-01T10:00:00+01:00",
                             "time_budgets": {"py-rubric": 120}, "regrade_days": 7})  # fmt: skip
    assert r.status_code == 200, r.text
    assert r.json()["opens_at"].startswith("2026-12-01T09:00")
    assert r.json()["time_budgets"] == {"py-exec": None, "py-rubric": 120}
    # Closing before the stored opening is refused too.
    r = ops.patch(url, json={"closes_at": "2026-11-30T00:00:00Z"})
    assert r.status_code == 422 and "closes before it opens" in r.json()["detail"]
    r = ops.patch(url, json={"clear_window": True})
    assert r.json()["opens_at"] is None
    r = ops.post("/api/v1/cohorts", json={"name": "w", "opens_at": "2026-01-01T00:00:00Z",
                                           "closes_at": "2026-02-01T00:00:00Z"})  # fmt: skip
    assert r.status_code == 201 and r.json()["closes_at"].startswith("2026-02-01")


def test_create_cohort_in_html(world: World) -> None:
    ops = world.operator
    r = ops.post("/admin/cohorts", data={"name": "", "tasks": ["py-exec"]})
    assert r.status_code == 422 and "name" in _status(r.text)
    r = ops.post("/admin/cohorts", data={"name": "c1"})
    assert r.status_code == 422 and "exists" in _status(r.text) and 'value="c1"' in r.text
    r = ops.post("/admin/cohorts", data={"name": "autumn", "blind": "on", "tasks": ["py-exec"]},
                 follow_redirects=False)  # fmt: skip
    assert r.status_code == 303
    page = ops.get(r.headers["location"])
    assert "Cohort created" in _status(page.text)
    created = next(c for c in ops.get("/api/v1/cohorts").json() if c["name"] == "autumn")
    assert created["tasks"] == ["py-exec"] and created["blind"] is True
    assert _count(world, AuditEntry, AuditEntry.action == "cohort-create") == 2  # c1, autumn


# -- audit log --------------------------------------------------------------------------------


def test_audit_filters_pages_and_a_formula_safe_csv(world: World) -> None:
    from api.reviewing import audit

    with _db(world) as s:
        for i in range(60):
            audit(s, actor="operator:ops", action="bulk-test", submission_id=None,
                  before={"i": i}, after={"i": i + 1})  # fmt: skip
        audit(s, actor="=HYPERLINK(\"http://x\")", action="@evil", submission_id=None,
              before={"v": "=1+1"}, after={"note": "<b>bold</b>"})  # fmt: skip
        s.commit()
    ops = world.operator
    page = ops.get("/admin/audit", params={"action": "bulk-test"}).text
    assert page.count('data-label="What">bulk-test<') == 50
    older = page.split('id="older"', 1)[0].rsplit('href="', 1)[1].split('"', 1)[0]
    page2 = ops.get(older.replace("&amp;", "&")).text
    assert page2.count('data-label="What">bulk-test<') == 10 and 'id="older"' not in page2
    page = ops.get("/admin/audit", params={"actor": "HYPERLINK"}).text
    assert "&lt;b&gt;bold&lt;/b&gt;" in page and "<b>bold" not in page
    assert ops.get("/admin/audit", params={"submission": "x"}).status_code == 422
    r = ops.get("/admin/audit", params={"from": "2026-02-02", "to": "2026-01-01"})
    assert r.status_code == 422 and "ends before it starts" in _status(r.text)
    assert "No entries match" in ops.get("/admin/audit", params={"to": "2000-01-01"}).text
    r = ops.get("/admin/audit.csv", params={"actor": "HYPERLINK"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(r.text)))
    assert rows[0][:4] == ["id", "at", "actor", "action"] and len(rows) == 2
    assert rows[1][2].startswith("'=") and rows[1][3] == "'@evil"
    assert len(list(csv.reader(io.StringIO(ops.get("/admin/audit.csv").text)))) > 60


# -- tasks ------------------------------------------------------------------------------------


def test_regrade_button_summarises_what_changed(
    service_factory: Callable[..., Service], tmp_path: Path
) -> None:
    task_dir = tmp_path / "tasks" / "py-exec"
    shutil.copytree(PY_EXEC, task_dir, ignore=shutil.ignore_patterns("__pycache__"))
    svc = service_factory(grade_fn=_versioned_grade, tasks=(task_dir,))
    add_user(svc, "ops", "operator")
    ops = svc.login("ops")
    ops.post("/api/v1/cohorts", json={"name": "c", "tasks": ["py-exec"]})
    token = ops.post("/api/v1/invitations", json={"cohort": "c", "email": "a@x.org"}).json()[
        "token"
    ]
    alice = svc.applicant(token)
    sid = svc.upload(alice, RIGHT).json()["id"]
    svc.wait(alice, sid)
    r = ops.post("/admin/tasks/py-exec/regrade")
    assert "already graded" in _status(r.text)
    toml = task_dir / "task.toml"
    toml.write_text(toml.read_text().replace('version = "1.0.0"', 'version = "2.0.0"'))
    r = ops.post("/admin/tasks/py-exec/regrade")
    assert r.status_code == 200 and "1 submission(s) queued" in _status(r.text)
    deadline = time.monotonic() + 30
    while "1 submission(s) regraded: 1 changed score" not in (page := ops.get("/admin/tasks").text):
        assert time.monotonic() < deadline, page
        time.sleep(0.1)
    largest = page.split("Largest score changes", 1)[1].split("</table>", 1)[0]
    assert f"#{sid}" in largest and "<td>10</td><td>6</td>" in largest
    r = ops.post("/admin/tasks/py-exec/integrity")
    assert r.status_code == 200 and "Integrity pass on py-exec" in _status(r.text)
    assert ops.post("/admin/tasks/nope/regrade").status_code == 404


# -- hostile data -----------------------------------------------------------------------------


def test_console_pages_print_hostile_data_as_text(
    service_factory: Callable[..., Service], tmp_path: Path, rubric_task: Path
) -> None:
    from tests.api.hostile import RAW, escaped, hostile_grade, hostile_task, seed

    task = hostile_task(tmp_path / "hostile", rubric_task)
    svc = service_factory(grade_fn=hostile_grade, tasks=(task,))
    seeded = seed(svc.client.app.state.services)  # type: ignore[attr-defined]
    ops = svc.login(seeded.operator)
    cid = seeded.cohort_id
    pages = {
        "/admin": ("cohort", "username"),
        "/admin/cohorts": ("cohort",),
        f"/admin/cohorts/{cid}": ("cohort",),
        f"/admin/cohorts/{cid}/invitations": ("cohort", "email", "applicant-name"),
        "/admin/users": ("username",),
        "/admin/tasks": ("task-title",),
        "/admin/audit": (),
    }
    for path, fields in pages.items():
        text = ops.get(path).text
        assert RAW not in text, f"{path}: {text[text.index(RAW) - 80 :][:200]}"
        for field in fields:
            if path != "/admin" or field == "cohort":
                assert escaped(field) in text, (path, field)
    # A hostile name and reason in a CSV, and the audit rows they leave.
    from tests.api.hostile import evil

    rows = f"email,name\nnew@example.org,{evil('csv').replace(chr(34), '')}\n{evil('bad')},x\n"
    r = ops.post(
        f"/admin/cohorts/{cid}/invitations/preview",
        files={"csv_file": ("p.csv", rows.encode(), "text/csv")},
    )
    assert r.status_code == 200 and RAW not in r.text and escaped("bad") in r.text
    text = _hidden(r.text, "csv_text")
    assert evil("bad") in text  # the hidden field carries the file back intact
    r = ops.post(f"/admin/cohorts/{cid}/invitations/import", data={"csv_text": text})
    assert r.status_code == 200 and RAW not in r.text
    audit = ops.get("/admin/audit").text
    assert RAW not in audit
