"""In Debian's chromium: every page that holds hostile data shows it as text. No dialog
fires, no injected element exists, and the page's text carries the payload verbatim."""

from __future__ import annotations

from pathlib import Path

import pytest

from api.app import create_app
from tests.api.conftest import make_settings
from tests.api.hostile import PASSWORD, hostile_grade, hostile_task, seed
from tests.api.live import free_port, running
from tests.api.test_browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, _need_browser

pytestmark = [pytest.mark.browser]

# A form of ours may carry a hostile filter value in its (URL-encoded, same-origin) action.
INJECTED = (
    "x-evil, script:not([src]), img[src='x'], form[action*='evil']:not([action^='/']), "
    "meta[http-equiv]"
)


def test_pages_with_hostile_data_run_nothing_and_inject_nothing(
    tmp_path: Path, rubric_task: Path
) -> None:
    _need_browser()
    from playwright.sync_api import sync_playwright

    task = hostile_task(tmp_path / "hostile", rubric_task)
    port = free_port()
    settings = make_settings(
        tmp_path, f"sqlite:///{tmp_path}/db.sqlite", (task,), base_url=f"http://127.0.0.1:{port}"
    )
    app = create_app(settings, grade_fn=hostile_grade)
    shots = ARTIFACTS / "browser" / "hostile-data"
    shots.mkdir(parents=True, exist_ok=True)
    with running(app, port) as url, sync_playwright() as p:
        seeded = seed(app.state.services)
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        dialogs: list[str] = []
        seen = 0
        for who, paths in seeded.pages().items():
            context = browser.new_context()
            page = context.new_page()
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            if who in ("operator", "reviewer"):
                page.goto(url + "/login")
                name = seeded.operator if who == "operator" else seeded.username
                page.fill("input[name=username]", name)
                page.fill("input[name=password]", PASSWORD)
                page.click("button[type=submit]")
                page.wait_for_url("**/review")
            elif who == "applicant":
                page.goto(f"{url}/invite/{seeded.token}")
                page.wait_for_url("**/portal")
            for n, path in enumerate(paths):
                page.goto(url + path)
                page.wait_for_load_state("load")
                where = f"{who} {path}"
                assert page.locator(INJECTED).count() == 0, where
                text = page.inner_text("body") + page.title()
                if "data-f=" in text:
                    seen += 1
                    assert "<x-evil/data-f=" in text, where  # shown as the text it is
                page.screenshot(path=shots / f"{who}-{n}.png", full_page=True)
            context.close()
        browser.close()
    assert dialogs == []
    assert seen >= 10, seen  # the hostile text reached most pages (as text)


def test_api_docs_render_offline_under_the_pages_csp(tmp_path: Path) -> None:
    """/docs draws Swagger UI from the installed package's assets, under the same CSP as
    every page: no CDN, no inline script, nothing refused."""
    _need_browser()
    from playwright.sync_api import sync_playwright

    from api.app import PAGE_CSP

    settings = make_settings(tmp_path, f"sqlite:///{tmp_path}/db.sqlite", ())
    app = create_app(settings, grade_fn=hostile_grade)
    with running(app) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page()
        console: list[str] = []
        requests: list[str] = []
        page.on("console", lambda m: console.append(m.text))
        page.on("request", lambda r: requests.append(r.url))
        response = page.goto(url + "/docs")
        assert response is not None and response.headers["content-security-policy"] == PAGE_CSP
        page.locator(".swagger-ui .info .title").wait_for(timeout=20_000)
        assert "assess" in page.locator(".swagger-ui .info .title").inner_text()
        page.locator(".opblock-summary-path", has_text="/api/v1/submissions").first.wait_for()
        page.screenshot(path=tmp_path / "docs.png", full_page=True)
        browser.close()
    assert not [m for m in console if "Content Security Policy" in m or "Refused" in m], console
    assert requests and all(r.startswith(url) or r.startswith("data:") for r in requests), requests
