"""axe-core over the pages of windows and timed attempts, at 1280 and 390 px: the portal
before Start and with a running countdown, the Start confirmation, a timed task's locked and
opened instructions, a refused late upload, and the operator's extensions page (also with a
refused grant). Zero serious or critical violations; no sideways scroll.

Screenshots at 390 px go to $ASSESS_TEST_ARTIFACTS/stage2 (a11y-attempts-*.png).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from api.app import create_app
from tests.api.a11y import AxeUnavailable, axe_context, axe_script, axe_violations, describe
from tests.api.conftest import PY_EXEC, RIGHT, fake_grade, make_settings, unavailable, zip_bytes
from tests.api.live import running
from tests.api.test_browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, _need_browser
from tests.api.test_browser_attempts import PASSWORD, _deadline_in, _seed

pytestmark = [pytest.mark.browser]

SHOTS = ARTIFACTS / "stage2"
WIDTHS = (1280, 390)


def _check(page: Any, name: str, failures: list[str]) -> None:
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        scroll = page.evaluate("document.documentElement.scrollWidth")
        if scroll > width:
            failures.append(f"{name} at {width}px scrolls sideways ({scroll}px)")
        found = axe_violations(page)
        if found:
            failures.append(f"{name} at {width}px:\n{describe(found)}")
    page.screenshot(path=SHOTS / f"a11y-attempts-{name}-390.png", full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})


def test_attempt_pages_have_no_serious_violations(tmp_path: Path, rubric_task: Path) -> None:
    _need_browser()
    try:
        axe_script()
    except AxeUnavailable as e:
        unavailable("axe-core", str(e))
    from playwright.sync_api import sync_playwright

    settings = make_settings(tmp_path, f"sqlite:///{tmp_path}/db.sqlite", (PY_EXEC, rubric_task))
    app = create_app(settings, grade_fn=fake_grade)
    SHOTS.mkdir(parents=True, exist_ok=True)
    upload = tmp_path / "s.zip"
    upload.write_bytes(zip_bytes(RIGHT))
    failures: list[str] = []
    with running(app) as url, sync_playwright() as p:
        token, cohort_id = _seed(app.state.services)
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = axe_context(browser, timezone_id="Europe/London").new_page()
        page.goto(f"{url}/invite/{token}")
        _check(page, "portal-before-start", failures)
        page.goto(f"{url}/portal/tasks/py-exec/instructions")
        _check(page, "instructions-locked", failures)
        page.goto(f"{url}/portal/tasks/py-exec/start")
        _check(page, "start-confirm", failures)
        page.get_by_role("button", name="Start now").click()
        page.wait_for_url("**/portal?started=*")
        _check(page, "portal-countdown", failures)
        page.goto(f"{url}/portal/tasks/py-exec/instructions")
        _check(page, "instructions-open", failures)
        page.goto(f"{url}/portal")
        _deadline_in(app.state.services, -1)
        page.locator("#file-py-exec").set_input_files(str(upload))
        page.get_by_role("button", name="Submit").click()
        page.wait_for_selector("#upload-error")
        _check(page, "portal-late-refused", failures)

        ops = browser.new_context(bypass_csp=True).new_page()
        ops.goto(url + "/login")
        ops.fill("input[name=username]", "ops")
        ops.fill("input[name=password]", PASSWORD)
        ops.click("button[type=submit]")
        ops.wait_for_url("**/review*")
        ops.goto(f"{url}/admin/cohorts/{cohort_id}/extensions")
        _check(ops, "extensions", failures)
        ops.get_by_label("Extra minutes").fill("15")
        ops.get_by_label("Reason (kept in the audit log)").fill("no applicant chosen")
        ops.evaluate("document.getElementById('ext-applicant').removeAttribute('required')")
        ops.get_by_role("button", name="Grant extension").click()
        ops.wait_for_selector("#extension-error")
        _check(ops, "extensions-refused", failures)
        browser.close()
    assert not failures, "\n".join(failures)
