"""axe-core on every page of the operator console, at 1280 and 390 px: no serious or
critical violation, in the states an operator meets (a CSV's row-by-row check, a refused
form with its error, a password shown once, an integrity pass's result)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from api.app import create_app
from tests.api.a11y import AxeUnavailable, axe_script, axe_violations, describe
from tests.api.conftest import PY_EXEC, fake_grade, make_settings
from tests.api.live import running
from tests.api.test_browser import CHROMIUM, CHROMIUM_ARGS, _need_browser
from tests.api.test_browser_console import CSV_TEXT, login, no_sideways_scroll, seed

pytestmark = [pytest.mark.browser]


def _check(page: Any, width: int, where: str) -> None:
    found = axe_violations(page)
    assert found == [], f"{where} at {width}px:\n{describe(found)}"
    no_sideways_scroll(page, width, where)


def test_every_console_page_passes_axe(tmp_path: Path) -> None:
    _need_browser()
    try:
        axe_script()
    except AxeUnavailable as e:
        pytest.skip(f"axe-core unavailable: {e}")
    from playwright.sync_api import sync_playwright

    settings = make_settings(tmp_path, f"sqlite:///{tmp_path}/db.sqlite", (PY_EXEC,))
    app = create_app(settings, grade_fn=fake_grade)
    with running(app) as url, sync_playwright() as p:
        ids = seed(app.state.services)
        cid = ids["cohort_id"]
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for width in (1280, 390):
            # axe is injected as a script tag: the context bypasses the CSP (see a11y.py).
            page = login(browser, url, width, bypass_csp=True)
            page.set_default_navigation_timeout(180_000)
            for path in ("/admin", "/admin/cohorts", f"/admin/cohorts/{cid}",
                         f"/admin/cohorts/{cid}/invitations", "/admin/users", "/admin/tasks",
                         "/admin/audit"):  # fmt: skip
                page.goto(url + path)
                _check(page, width, path)
            # States after an action.
            page.goto(f"{url}/admin/cohorts/{cid}")
            page.fill("#opens-local", "2026-12-10T09:00")
            page.fill("#closes-local", "2026-12-01T09:00")
            page.click("#save-cohort")
            page.wait_for_selector("#status .error")
            _check(page, width, "cohort settings refused")
            # New addresses each pass: the first pass's import makes its rows "already invited".
            csv_path = tmp_path / f"people-{width}.csv"
            csv_path.write_text(CSV_TEXT.replace("@example.org", f"{width}@example.org"))
            page.goto(f"{url}/admin/cohorts/{cid}/invitations")
            page.set_input_files("#csv-file", str(csv_path))
            page.click("#csv-form button[type=submit]")
            page.wait_for_selector("#import-valid")
            _check(page, width, "CSV checked")
            page.click("#import-valid")
            page.wait_for_selector("#links")
            _check(page, width, "CSV imported")
            page.goto(url + "/admin/users")
            page.fill("#new-username", f"new{width}")
            page.click("#create-user button[type=submit]")
            page.wait_for_selector("#password-once")
            _check(page, width, "password shown once")
            page.goto(url + "/admin/tasks")
            page.get_by_role("button", name="Run integrity pass on py-exec").click()
            page.wait_for_selector("#integrity-result")
            _check(page, width, "integrity result")
            page.goto(url + "/admin/audit?submission=x")
            _check(page, width, "audit filter refused")
            page.context.close()
        browser.close()
