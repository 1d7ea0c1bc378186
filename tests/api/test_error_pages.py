"""Errors as pages in the site's layout for people's browsers (status kept, one line naming
what was wrong, a link back), and as JSON for the API and for scripts."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.api.conftest import World

HTML = {"accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8"}


def _page(r: object, code: int) -> str:
    assert r.status_code == code, (r.status_code, r.text[:300])  # type: ignore[attr-defined]
    headers = r.headers  # type: ignore[attr-defined]
    assert headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in headers["content-security-policy"]
    assert headers["cache-control"] == "no-store"
    text: str = r.text  # type: ignore[attr-defined]
    assert '<link rel="stylesheet" href="/static/style.css">' in text  # the site's layout
    assert 'id="error-message"' in text and 'id="error-back"' in text
    return text


def test_not_found_forbidden_and_bad_parameters_are_pages_for_browsers(world: World) -> None:
    rev = world.reviewer
    text = _page(rev.get("/review/submissions/9999", headers=HTML), 404)
    assert "no submission #9999" in text and 'href="/review"' in text and "Not found" in text
    assert "rev (reviewer)" in text and 'name="csrf_token"' in text  # the signed-in header
    text = _page(rev.get("/no/such/page", headers=HTML), 404)
    assert "Not Found" in text or "Not found" in text
    text = _page(rev.get("/admin", headers=HTML), 403)
    assert "Not allowed" in text
    text = _page(rev.get("/review/submissions/0", headers=HTML), 422)
    assert "submission_id: Input should be greater than or equal to 1 (got &#39;0&#39;)" in text
    text = _page(rev.get("/review/submissions/abc", headers=HTML), 422)
    assert "submission_id" in text and "&#39;abc&#39;" in text
    # An applicant's page links back to the portal.
    text = _page(world.alice.get("/portal/submissions/9999/receipt", headers=HTML), 404)
    assert 'href="/portal"' in text
    # Hostile text in a bad parameter is shown escaped, never as markup.
    text = _page(rev.get("/review/submissions/<b>x", headers=HTML), 422)
    assert "<b>x" not in text and "&lt;b&gt;x" in text


def test_the_api_and_scripts_keep_json(world: World) -> None:
    rev = world.reviewer
    for path, headers, code in (
        ("/api/v1/submissions/9999", HTML, 404),  # the API, even from a browser
        ("/review/submissions/9999", {"accept": "application/json"}, 404),  # a script
        ("/review/submissions/9999", {}, 404),
        ("/api/v1/submissions/0", HTML, 422),
        ("/api/v1/audit", HTML, 403),
    ):
        r = rev.get(path, headers=headers)
        assert r.status_code == code, path
        assert r.headers["content-type"] == "application/json", path
        assert "detail" in r.json()
    assert rev.get("/api/v1/submissions/9999").json() == {"detail": "no submission #9999"}
    # Signed-out people are still sent to the sign-in page.
    r = world.svc.anonymous().get("/review", headers=HTML, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


def test_a_server_error_is_a_page_that_names_nothing_internal(world: World) -> None:
    app = world.svc.client.app

    @app.get("/review/boom")  # type: ignore[attr-defined, untyped-decorator]
    def boom() -> None:
        raise RuntimeError("/secret/path/db.sqlite exploded")

    client = TestClient(app, raise_server_exceptions=False)  # type: ignore[arg-type]
    text = _page(client.get("/review/boom", headers=HTML), 500)
    assert "Something went wrong" in text and "/secret/path" not in text
    r = client.get("/review/boom")
    assert r.status_code == 500 and r.json() == {"detail": "internal server error"}
