"""No cache keeps what a signed-in person was sent: ``Cache-Control: no-store`` on every
response of every route, for every kind of user; only the static assets may be cached."""

from __future__ import annotations

from tests.api.conftest import RIGHT, World
from tests.api.routes.test_parameters import _routes


def test_every_route_answers_no_store_to_everyone(world: World) -> None:
    sid = world.svc.upload(world.alice, RIGHT).json()["id"]
    world.svc.wait(world.alice, sid)
    values = {
        "submission_id": str(sid),
        "cohort_id": str(world.cohort_id),
        "task_id": "py-exec",
        "token": world.tokens["bob"],
        "path": "main.py",
        # Rows that may not exist: a 404 must carry no-store as well.
        "stream_id": "1",
        "applicant_id": "1",
        "user_id": "1",
        "message_id": "1",
        "request_id": "1",
        "key": "A-00000000",
        "criterion": "clarity",
    }
    paths = []
    for route in _routes(world.svc.client.app.routes):
        if "GET" not in route.methods or route.path.startswith(("/docs", "/openapi", "/redoc")):
            continue
        path = route.path
        for key, value in values.items():
            path = path.replace("{" + key + "}", value).replace("{" + key + ":path}", value)
        assert "{" not in path, path
        paths.append(path)
    assert len(paths) >= 25
    people = {"operator": world.operator, "reviewer": world.reviewer, "applicant": world.alice}
    # An invitation link signs its opener in: only a fresh browser opens it.
    people["anonymous"] = world.svc.anonymous()
    for who, client in people.items():
        for path in paths:
            if path.startswith("/invite/") and who != "anonymous":
                continue
            r = client.get(path, follow_redirects=False)
            assert r.headers.get("cache-control") == "no-store", (who, path, r.status_code)
    # What carries a token: the login answer (CSRF token), invitations (JSON and page).
    login = world.svc.anonymous().post(
        "/api/v1/auth/login", json={"username": "rev", "password": "correct horse battery"}
    )
    assert login.status_code == 200 and login.headers["cache-control"] == "no-store"
    r = world.operator.post("/api/v1/invitations", json={"cohort": "c1", "email": "c@x.org"})
    assert r.status_code == 201 and r.headers["cache-control"] == "no-store"
    page = world.svc.anonymous()
    page.post("/login", data={"username": "ops", "password": "correct horse battery"})
    token = page.get("/admin").text.split('name="csrf_token" value="')[1].split('"')[0]
    r = page.post(
        "/admin/invite",
        data={"cohort": "c1", "email": "d@x.org", "csrf_token": token},
        files={"csv_file": ("", b"", "text/csv")},
    )
    assert "/invite/" in r.text and r.headers["cache-control"] == "no-store"
    # The service's own script and styles stay cacheable.
    assert "no-store" not in world.alice.get("/static/app.js").headers.get("cache-control", "")
