"""The applicant portal and API: invitations, tasks, kits, uploads, status, receipts."""

from __future__ import annotations

import io
import zipfile

from fastapi.testclient import TestClient

from tests.api.conftest import RIGHT, WRONG, World, zip_bytes


def test_invitation_link_signs_in_and_opens_the_portal(world: World) -> None:
    c = world.svc.anonymous()
    r = c.get(f"/invite/{world.tokens['alice']}", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/portal"
    assert "httponly" in r.headers["set-cookie"].lower()
    page = c.get("/portal")
    assert page.status_code == 200
    assert "py-exec" in page.text and "py-rubric" in page.text
    assert 'name="csrf_token"' in page.text


def test_bad_or_expired_invitation_is_refused(world: World) -> None:
    c = world.svc.anonymous()
    assert c.get("/invite/not-a-token", follow_redirects=False).status_code == 404
    assert c.get("/portal", follow_redirects=False).status_code in (303, 401)
    bad = world.svc.applicant("not-a-token")
    assert bad.get("/api/v1/me/tasks").status_code == 401


def test_reissued_invitation_invalidates_the_old_token(world: World) -> None:
    r = world.operator.post(
        "/api/v1/invitations", json={"cohort": "c1", "email": "alice@example.org"}
    )
    assert r.status_code == 201
    assert world.alice.get("/api/v1/me").status_code == 401
    assert world.svc.applicant(r.json()["token"]).get("/api/v1/me").status_code == 200


def _signed_in_by_link(world: World, token: str) -> TestClient:
    c = world.svc.anonymous()
    assert c.get(f"/invite/{token}", follow_redirects=False).status_code == 303
    page = c.get("/portal").text
    c.headers["X-CSRF-Token"] = page.split('name="csrf_token" value="')[1].split('"')[0]
    assert c.get("/api/v1/me").status_code == 200
    return c


def test_reissuing_an_invitation_ends_the_old_links_sessions(world: World) -> None:
    old = _signed_in_by_link(world, world.tokens["alice"])
    r = world.operator.post(
        "/api/v1/invitations", json={"cohort": "c1", "email": "alice@example.org"}
    )
    assert r.status_code == 201
    assert old.get("/api/v1/me").status_code == 401
    assert world.svc.upload(old, RIGHT).status_code == 401
    page = old.get("/portal", headers={"accept": "text/html"}, follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"].startswith("/portal-expired")
    new = _signed_in_by_link(world, r.json()["token"])
    assert world.svc.upload(new, RIGHT).status_code == 201


def test_revoking_an_invitation_ends_link_and_sessions(world: World) -> None:
    session = _signed_in_by_link(world, world.tokens["bob"])
    r = world.operator.post("/api/v1/invitations", json={"cohort": "c1", "email": "x@y.org"})
    other = r.json()["applicant_id"]
    assert world.reviewer.delete(f"/api/v1/invitations/{other}").status_code == 403
    from api.models import Applicant

    services = world.svc.client.app.state.services  # type: ignore[attr-defined]
    with services.sessions() as db:
        bob = db.query(Applicant).filter(Applicant.email == "bob@example.org").one()
    assert world.operator.delete(f"/api/v1/invitations/{bob.id}").status_code == 204
    assert session.get("/api/v1/me").status_code == 401
    assert world.bob.get("/api/v1/me").status_code == 401  # the bearer token too
    anon = world.svc.anonymous()
    assert anon.get(f"/invite/{world.tokens['bob']}", follow_redirects=False).status_code == 404
    assert world.operator.delete("/api/v1/invitations/999999").status_code == 404
    assert world.svc.applicant(r.json()["token"]).get("/api/v1/me").status_code == 200


def test_tasks_and_kit(world: World) -> None:
    tasks = world.alice.get("/api/v1/me/tasks").json()
    assert [t["id"] for t in tasks] == ["py-exec", "py-rubric"]
    r = world.alice.get(tasks[0]["kit_url"])
    assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
    names = zipfile.ZipFile(io.BytesIO(r.content)).namelist()
    assert "py-exec-kit/kit.toml" in names and "py-exec-kit/main.py" in names
    assert not any("grading" in n or "solution" in n for n in names)
    assert world.alice.get("/api/v1/me/tasks/not-assigned/kit").status_code == 404


def _release(world: World) -> None:
    from datetime import UTC, datetime

    from api.models import Cohort

    services = world.svc.client.app.state.services  # type: ignore[attr-defined]
    with services.sessions() as db, db.begin():
        cohort = db.get(Cohort, world.cohort_id)
        assert cohort is not None
        cohort.results_released_at = datetime.now(UTC)
        cohort.results_released_by = "ops"


def test_upload_is_graded_and_shows_only_applicant_checks(world: World) -> None:
    r = world.svc.upload(world.alice, RIGHT)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["status"] in ("queued", "running", "graded")
    assert body["state"] in ("received", "being checked", "checked")
    done = world.svc.wait(world.alice, body["id"])
    assert done["status"] == "graded" and done["state"] == "checked"
    # Before the cohort's results are released: what was received and that it was checked.
    assert done["checks"] == [] and done["results_released"] is False
    receipt = world.alice.get(done["receipt_url"])
    assert body["sha256"] in receipt.text and "Wrote a result" not in receipt.text
    assert "once the programme team releases them" in receipt.text
    portal = world.alice.get("/portal").text
    assert "visible feedback" not in portal and "checked" in portal
    _release(world)
    done = world.svc.wait(world.alice, body["id"])
    assert [c["id"] for c in done["checks"]] == ["ran"]
    assert "score" not in done
    assert "visible feedback" in world.alice.get("/portal").text
    text = world.alice.get(f"/api/v1/me/submissions/{body['id']}").text
    assert "HIDDEN-CHECK-DETAIL" not in text
    listed = world.alice.get("/api/v1/me/submissions").json()
    assert [c["id"] for c in listed[0]["checks"]] == ["ran"]
    receipt = world.alice.get(done["receipt_url"])
    assert receipt.status_code == 200 and receipt.headers["content-type"].startswith("text/plain")
    assert body["sha256"] in receipt.text and "HIDDEN-CHECK-DETAIL" not in receipt.text
    assert "Wrote a result" in receipt.text and "Hidden answer" not in receipt.text


def test_upload_is_idempotent_on_retry(world: World) -> None:
    first = world.svc.upload(world.alice, RIGHT)
    again = world.svc.upload(world.alice, RIGHT)
    assert first.status_code == 201 and again.status_code == 200
    assert first.json()["id"] == again.json()["id"]
    assert len(world.alice.get("/api/v1/me/submissions").json()) == 1
    # The same bytes from another applicant are their own submission.
    other = world.svc.upload(world.bob, RIGHT)
    assert other.status_code == 201 and other.json()["id"] != first.json()["id"]


def test_upload_validation(world: World) -> None:
    up = world.svc.upload
    r = up(world.alice, {"other.py": "x = 1\n"})
    assert r.status_code == 422 and "main.py" in r.json()["detail"]
    r = world.alice.post(
        "/api/v1/me/tasks/py-exec/submissions", files={"file": ("s.tar", b"abc", "x/y")}
    )
    assert r.status_code == 422 and ".zip" in r.json()["detail"]
    r = world.alice.post(
        "/api/v1/me/tasks/py-exec/submissions",
        files={"file": ("s.zip", b"not a zip", "application/zip")},
    )
    assert r.status_code == 422 and "zip" in r.json()["detail"]
    r = up(world.alice, {"../escape.py": "x", "main.py": "x"})
    assert r.status_code == 422 and ".." in r.json()["detail"]
    # py-exec allows 100 kB (+1 MiB for archive overhead): 1.3 MB is cut off while arriving.
    big = zip_bytes({"main.py": "x", "pad.bin": "x" * 1_300_000})
    r = world.alice.post(
        "/api/v1/me/tasks/py-exec/submissions", files={"file": ("s.zip", big, "application/zip")}
    )
    assert r.status_code == 413
    r = up(world.alice, RIGHT, task="not-assigned")
    assert r.status_code == 404
    assert world.alice.get("/api/v1/me/submissions").json() == []
    blobs = world.svc.settings.blob_dir
    assert not [p for p in blobs.rglob("*") if p.is_file()] if blobs.exists() else True


def test_request_body_limit(service_factory) -> None:  # type: ignore[no-untyped-def]
    svc = service_factory(max_upload_bytes=1000)
    r = svc.anonymous().post("/api/v1/auth/login", content=b"x" * 5000)
    assert r.status_code == 413


def test_applicant_cannot_read_another_applicants_anything(world: World) -> None:
    sid = world.svc.upload(world.alice, WRONG).json()["id"]
    bob = world.bob
    assert bob.get(f"/api/v1/me/submissions/{sid}").status_code == 404
    assert bob.get(f"/api/v1/me/submissions/{sid}/receipt").status_code == 404
    assert bob.get(f"/portal/submissions/{sid}/receipt").status_code == 404
    assert bob.get("/api/v1/me/submissions").json() == []
    # ... nor anything meant for reviewers.
    for path in (
        f"/api/v1/submissions/{sid}",
        "/api/v1/submissions",
        f"/api/v1/submissions/{sid}/report",
    ):
        assert bob.get(path).status_code == 401
    assert bob.put(f"/api/v1/submissions/{sid}/review", json={}).status_code == 401


def test_portal_form_upload_needs_csrf(world: World) -> None:
    c = world.svc.anonymous()
    c.get(f"/invite/{world.tokens['alice']}")
    files = {"file": ("s.zip", zip_bytes(RIGHT), "application/zip")}
    r = c.post("/portal/tasks/py-exec/submissions", files=files, follow_redirects=False)
    assert r.status_code == 403
    page = c.get("/portal").text
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    r = c.post(
        "/portal/tasks/py-exec/submissions",
        files=files,
        data={"csrf_token": token},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    assert "s.zip" in c.get("/portal").text


def test_anonymous_is_refused_everywhere(world: World) -> None:
    anon = world.svc.anonymous()
    for path in ("/api/v1/me", "/api/v1/me/tasks", "/api/v1/me/submissions",
                 "/api/v1/me/tasks/py-exec/kit"):  # fmt: skip
        assert anon.get(path).status_code == 401, path
    r = anon.post(
        "/api/v1/me/tasks/py-exec/submissions",
        files={"file": ("s.zip", zip_bytes(RIGHT), "application/zip")},
    )
    assert r.status_code == 401
