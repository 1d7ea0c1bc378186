"""The streams pages in Debian's chromium at 1280 px and 390 px: zero serious or critical
axe-core violations and no sideways scroll, each opened by the role that uses it, also in
the states after a refused form and once the cohort's stream choices have closed.

Screenshots at 390 px go to $ASSESS_TEST_ARTIFACTS/stage2 (``a11y-streams-*``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from api.app import create_app
from api.services import Services
from tests.api.a11y import AxeUnavailable, axe_context, axe_script, axe_violations, describe
from tests.api.conftest import CHEAP, PY_EXEC, fake_grade, make_settings, unavailable
from tests.api.live import running
from tests.api.test_browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, _need_browser
from tests.api.test_streams import FOLLOW_UP, followup_task, score

pytestmark = [pytest.mark.browser]
__all__ = ["followup_task"]  # the fixture, shared with test_streams

PASSWORD = "correct horse battery"
SHOTS = ARTIFACTS / "stage2"
WIDTHS = (1280, 390)
# A long unbroken name and description: the pages must wrap them, not scroll sideways.
LONG = "Mechanistic-interpretability-of-very-long-unbroken-stream-names"


@dataclass
class Site:
    url: str
    services: Services
    ids: dict[str, int]
    contexts: dict[str, Any]


def _seed(services: Services) -> tuple[dict[str, int], str]:
    """A blind cohort, an operator, a mentor, two streams chosen by three applicants (two
    with scores); the ids to fill in the paths, and the first applicant's invitation token."""
    from api import accounts
    from api.core.db import transaction
    from api.deps import Principal
    from api.models import StreamChoice
    from api.streams import create_stream

    with transaction(services.sessions) as s:
        cohort = accounts.get_or_create_cohort(s, "spring", blind=True)
        accounts.set_tasks(s, cohort, ["py-exec"])
        ops = accounts.create_user(s, "ops", PASSWORD, "operator", hasher=CHEAP)
        men = accounts.create_user(s, "men", PASSWORD, "mentor", hasher=CHEAP)
        invs = [accounts.invite(s, cohort, f"{n}@example.org", n.title(), 1) for n in "abc"]
        who = Principal(user=ops, applicant=None, session=None)
        stream = create_stream(
            s, who, cohort, "Interpretability", "Circuits.\n" + LONG, [men.id], [FOLLOW_UP]
        )
        create_stream(s, who, cohort, LONG, "Evals of " + LONG, [men.id])
        s.add_all(StreamChoice(applicant_id=i.applicant.id, stream_id=stream.id) for i in invs)
        ids = {"cohort": cohort.id, "stream": stream.id}
        applicants = [i.applicant.id for i in invs]
        token = invs[0].token
    score(services, applicants[0], "py-exec", 0.7)
    score(services, applicants[1], "py-exec", 0.4)
    score(services, applicants[1], FOLLOW_UP, 0.9)
    return ids, token


def _sign_in(context: Any, url: str, username: str) -> None:
    page = context.new_page()
    page.goto(url + "/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    page.close()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, followup_task: Path) -> Iterator[Site]:
    _need_browser()
    try:
        axe_script()
    except AxeUnavailable as e:
        unavailable("axe-core", str(e))
    from playwright.sync_api import sync_playwright

    tmp = tmp_path_factory.mktemp("a11y-streams")
    app = create_app(
        make_settings(tmp, f"sqlite:///{tmp}/db.sqlite", (PY_EXEC, followup_task)),
        grade_fn=fake_grade,
    )
    SHOTS.mkdir(parents=True, exist_ok=True)
    with running(app) as url, sync_playwright() as p:
        services: Services = app.state.services
        ids, token = _seed(services)
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        contexts = {role: axe_context(browser) for role in ("applicant", "mentor", "operator")}
        _sign_in(contexts["mentor"], url, "men")
        _sign_in(contexts["operator"], url, "ops")
        opener = contexts["applicant"].new_page()
        opener.goto(f"{url}/invite/{token}")
        opener.close()
        try:
            yield Site(url=url, services=services, ids=ids, contexts=contexts)
        finally:
            browser.close()


PAGES = (
    ("admin-streams", "operator", "/admin/cohorts/{cohort}/streams"),
    ("review-streams-operator", "operator", "/review/streams"),
    ("review-stream-operator", "operator", "/review/streams/{stream}"),
    ("review-streams-mentor", "mentor", "/review/streams"),
    ("review-stream-mentor", "mentor", "/review/streams/{stream}"),
    ("portal-streams", "applicant", "/portal/streams"),
)


def _check(page: Any, name: str, width: int) -> None:
    page.wait_for_load_state("networkidle")
    if width == 390:
        page.screenshot(path=SHOTS / f"a11y-streams-{name}-390.png", full_page=True)
    found = axe_violations(page)
    assert found == [], f"{page.url} at {width}px:\n{describe(found)}"
    wide = page.evaluate("document.documentElement.scrollWidth")
    assert wide <= width, f"{page.url} at {width}px scrolls sideways: {wide}px wide"


@pytest.mark.parametrize("width", WIDTHS, ids=[f"{w}px" for w in WIDTHS])
@pytest.mark.parametrize("spec", PAGES, ids=[p[0] for p in PAGES])
def test_streams_page_is_accessible_and_fits(
    site: Site, spec: tuple[str, str, str], width: int
) -> None:
    name, role, path = spec
    page = site.contexts[role].new_page()
    page.set_viewport_size({"width": width, "height": 900})
    try:
        response = page.goto(site.url + path.format(**site.ids))
        assert response is not None and response.status == 200, path
        _check(page, name, width)
    finally:
        page.close()


@pytest.mark.parametrize("width", WIDTHS, ids=[f"{w}px" for w in WIDTHS])
def test_pages_after_a_refused_form(site: Site, width: int) -> None:
    """A refused stream name and an empty note: the error in the live region, input kept."""
    ops = site.contexts["operator"].new_page()
    ops.set_viewport_size({"width": width, "height": 900})
    men = site.contexts["mentor"].new_page()
    men.set_viewport_size({"width": width, "height": 900})
    try:
        ops.goto(f"{site.url}/admin/cohorts/{site.ids['cohort']}/streams")
        ops.locator("#new-name").fill("Interpretability")
        ops.click("#create")
        assert ops.locator("#status #error").is_visible()
        _check(ops, "admin-streams-refused", width)
        men.goto(f"{site.url}/review/streams/{site.ids['stream']}")
        men.locator("form.stack button").first.click()
        assert men.locator("#status #error").inner_text() == "note: write something first"
        _check(men, "review-stream-refused", width)
    finally:
        ops.close()
        men.close()


@pytest.mark.parametrize("width", WIDTHS, ids=[f"{w}px" for w in WIDTHS])
def test_portal_streams_once_closed(site: Site, width: int) -> None:
    from api.core.db import transaction
    from api.models import Cohort, utcnow

    with transaction(site.services.sessions) as s:
        cohort = s.get(Cohort, site.ids["cohort"])
        assert cohort is not None
        cohort.closes_at = utcnow() - timedelta(minutes=1)
    page = site.contexts["applicant"].new_page()
    page.set_viewport_size({"width": width, "height": 900})
    try:
        page.goto(site.url + "/portal/streams")
        assert page.locator("#closed").is_visible()
        _check(page, "portal-streams-closed", width)
    finally:
        page.close()
        with transaction(site.services.sessions) as s:
            cohort = s.get(Cohort, site.ids["cohort"])
            assert cohort is not None
            cohort.closes_at = None
