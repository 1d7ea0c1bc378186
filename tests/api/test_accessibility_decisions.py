"""axe-core on the decisions, release, regrade-request and results pages, in Debian's chromium
at 1280 and 390 px: zero serious or critical violations, no sideways scroll. Each page is
opened in the state that shows the most of it (a preview, an open request, a released
result with a request, an unreleased result).

Screenshots at 390 px go to $ASSESS_TEST_ARTIFACTS/stage2 (a11y-decisions-*).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from api.app import create_app
from tests.api.a11y import AxeUnavailable, axe_context, axe_script, axe_violations, describe
from tests.api.conftest import PY_EXEC, fake_grade, make_settings, unavailable
from tests.api.live import running
from tests.api.test_browser import CHROMIUM, CHROMIUM_ARGS, _need_browser
from tests.api.test_browser_release import PASSWORD, SHOTS, no_sideways_scroll, seed

pytestmark = [pytest.mark.browser]


def _check(page: Any, name: str, found: dict[str, str]) -> None:
    for width in (1280, 390):
        page.set_viewport_size({"width": width, "height": 900})
        no_sideways_scroll(page, width, name)
        bad = axe_violations(page)
        if bad:
            found[f"{name} at {width}px"] = describe(bad)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SHOTS / f"a11y-decisions-{name}-390.png", full_page=True)


def test_decision_release_and_results_pages_pass_axe(tmp_path: Path, rubric_task: Path) -> None:
    _need_browser()
    try:
        axe_script()
    except AxeUnavailable as e:
        unavailable("axe-core", str(e))
    from playwright.sync_api import sync_playwright

    settings = make_settings(tmp_path, f"sqlite:///{tmp_path}/db.sqlite", (PY_EXEC, rubric_task))
    app = create_app(settings, grade_fn=fake_grade)
    found: dict[str, str] = {}
    with running(app) as url, sync_playwright() as p:
        world = seed(app.state.services, rubric_task.name)
        cid = world["cohort"]
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        ops = axe_context(browser, viewport={"width": 1280, "height": 900}).new_page()
        ops.goto(url + "/login")
        ops.fill("input[name=username]", "ops")
        ops.fill("input[name=password]", PASSWORD)
        ops.click("button[type=submit]")
        ops.wait_for_url("**/review*")
        bob = axe_context(browser, viewport={"width": 1280, "height": 900}).new_page()
        bob.goto(f"{url}/invite/{world['tokens']['Bob']}")

        bob.goto(f"{url}/portal/results")
        _check(bob, "results-not-released", found)
        ops.goto(f"{url}/admin/cohorts/{cid}/decisions")
        ops.get_by_label("K (a whole number").fill("1")
        ops.click("#bulk-preview")
        _check(ops, "decisions-preview", found)
        ops.get_by_label("K (a whole number").fill("none")
        ops.click("#bulk-preview")
        _check(ops, "decisions-error", found)
        ops.goto(f"{url}/admin/cohorts/{cid}/decisions")
        ops.locator("#decisions a", has_text="Edit").first.click()
        _check(ops, "decision-applicant", found)
        ops.goto(f"{url}/admin/cohorts/{cid}/release")
        _check(ops, "release-preview", found)
        ops.click("#release")
        _check(ops, "release-done", found)
        bob.goto(f"{url}/portal/results")
        _check(bob, "results-released", found)
        bob.locator("#regrade-form-py-exec button").click()  # no reason: the error in the page
        _check(bob, "results-error", found)
        bob.get_by_label("Ask for a regrade of").first.fill("Please look again")
        bob.locator("#regrade-form-py-exec button").click()
        _check(bob, "results-requested", found)
        ops.goto(f"{url}/admin/regrade-requests")
        _check(ops, "regrade-requests", found)
        browser.close()
    assert found == {}, "\n".join(f"{k}: {v}" for k, v in found.items())
