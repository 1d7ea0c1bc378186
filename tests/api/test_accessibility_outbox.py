"""The outbox's pages under axe-core in Debian's chromium, at 1280 and 390 px: zero serious
or critical violations and no sideways scroll. The site has no SMTP configured, so the page
shows what to configure; the preview of "retry failed" and an error (a bad filter, 422) are
checked as they render after a form, in the layout's live region.

Screenshots at 390 px go to $ASSESS_TEST_ARTIFACTS/stage2 (a11y-outbox-*.png).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from api.app import create_app
from tests.api.a11y import AxeUnavailable, axe_context, axe_script, axe_violations, describe
from tests.api.conftest import PY_EXEC, fake_grade, make_settings, unavailable
from tests.api.live import running
from tests.api.test_browser import CHROMIUM, CHROMIUM_ARGS, _need_browser
from tests.api.test_browser_outbox import SHOTS, seed, sign_in

pytestmark = [pytest.mark.browser]
WIDTHS = (1280, 390)


@dataclass(frozen=True)
class Site:
    url: str
    ids: dict[str, int]
    context: Any


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    _need_browser()
    try:
        axe_script()
    except AxeUnavailable as e:
        unavailable("axe-core", str(e))
    from playwright.sync_api import sync_playwright

    tmp = tmp_path_factory.mktemp("a11y-outbox")
    app = create_app(
        make_settings(tmp, f"sqlite:///{tmp}/db.sqlite", (PY_EXEC,), workers=0),
        grade_fn=fake_grade,
    )
    SHOTS.mkdir(parents=True, exist_ok=True)
    with running(app) as url, sync_playwright() as p:
        ids = seed(app.state.services)
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = axe_context(browser)
        sign_in(context, url).close()
        try:
            yield Site(url=url, ids=ids, context=context)
        finally:
            browser.close()


def _check(page: Any, width: int, name: str) -> None:
    found = axe_violations(page)
    assert found == [], f"{page.url} at {width}px:\n{describe(found)}"
    wide = page.evaluate("document.documentElement.scrollWidth")
    assert wide <= width, f"{page.url} at {width}px scrolls sideways: {wide}px"
    if width == 390:
        page.screenshot(path=SHOTS / f"a11y-{name}-390.png", full_page=True)


PAGES = {
    "outbox": "/admin/outbox",
    "outbox-filtered": "/admin/outbox?status=failed&kind=reminder",
    "outbox-message": "/admin/outbox/{invitation}",
}


@pytest.mark.parametrize("width", WIDTHS, ids=[f"{w}px" for w in WIDTHS])
@pytest.mark.parametrize("name", list(PAGES))
def test_outbox_pages_are_accessible(site: Site, name: str, width: int) -> None:
    page = site.context.new_page()
    page.set_viewport_size({"width": width, "height": 900})
    try:
        response = page.goto(site.url + PAGES[name].format(**site.ids))
        assert response is not None and response.status == 200
        if name == "outbox":
            assert "SMTP is not configured" in page.inner_text("#smtp-off")
        _check(page, width, name)
    finally:
        page.close()


@pytest.mark.parametrize("width", WIDTHS, ids=[f"{w}px" for w in WIDTHS])
def test_outbox_after_a_form_is_accessible(site: Site, width: int) -> None:
    page = site.context.new_page()
    page.set_viewport_size({"width": width, "height": 900})
    try:
        page.goto(site.url + "/admin/outbox")
        page.click("#retry-failed")
        assert "Preview, nothing changed yet" in page.inner_text("#status")
        _check(page, width, "outbox-retry-preview")
        response = page.goto(site.url + "/admin/outbox?status=lost")
        assert response is not None and response.status == 422
        assert "status 'lost' is not one of" in page.inner_text("#status")
        _check(page, width, "outbox-bad-filter")
    finally:
        page.close()
