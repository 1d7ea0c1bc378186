"""The operator console in Debian's chromium: an operator walks the hub, creates a cohort,
sets its window in a time zone (and is refused a window that closes before it opens),
checks a CSV of invitations row by row, imports the valid rows, resends and revokes a
link, creates and disables an account, regrades a task and filters the audit log.

Hostile names, e-mails, a username, a cohort name and audit values are seeded: they must
read as text (no ``x-evil`` element, no dialog). At 1280 and 390 px nothing scrolls
sideways. Screenshots go to $ASSESS_TEST_ARTIFACTS/stage2 (console-*.png).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from api.app import create_app
from api.services import Services
from tests.api.conftest import CHEAP, PY_EXEC, fake_grade, make_settings
from tests.api.hostile import evil
from tests.api.live import running
from tests.api.test_browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, _need_browser

pytestmark = [pytest.mark.browser]

PASSWORD = "correct horse battery"
WIDTHS = (1280, 390)
SHOTS = ARTIFACTS / "stage2"
# The CSV an operator uploads: two good rows (one with a hostile name), a bad address, a
# duplicate, an applicant already invited, and a row without an address.
CSV_TEXT = (
    "email,name\n"
    f"nina@example.org,{evil('csv-name').replace(chr(34), '')}\n"
    "not-an-email,Nobody\n"
    "nina@example.org,Nina again\n"
    "alice@example.org,Alice\n"
    ",No address\n"
    "omar@example.org,Omar\n"
)


def seed(services: Services) -> dict[str, Any]:
    """An operator, a hostile reviewer account, a blind cohort with a hostile name and two
    invited applicants (one hostile), and a hostile audit entry."""
    from sqlalchemy import select

    from api import accounts
    from api.core.db import transaction
    from api.models import Applicant
    from api.reviewing import audit

    with transaction(services.sessions) as s:
        cohort = accounts.get_or_create_cohort(s, "spring " + evil("cohort"), blind=True)
        accounts.set_tasks(s, cohort, ["py-exec"])
        accounts.create_user(s, "ops", PASSWORD, "operator", hasher=CHEAP)
        accounts.create_user(s, evil("username"), PASSWORD, "reviewer", hasher=CHEAP)
        accounts.invite(s, cohort, "alice@example.org", "Alice Smith", 1)
        accounts.invite(s, cohort, evil("email") + "@example.org", evil("applicant-name"), 1)
        audit(s, actor=evil("actor"), action="hostile", submission_id=None,
              before={"x": evil("before")}, after={"x": evil("after")})  # fmt: skip
        cohort_id = cohort.id
    with services.sessions() as s:
        alice = s.scalar(select(Applicant).where(Applicant.email == "alice@example.org"))
        assert alice is not None
        return {"cohort_id": cohort_id, "alice_id": alice.id}


def login(browser: Any, url: str, width: int = 1280, **kw: Any) -> Any:
    page = browser.new_context(viewport={"width": width, "height": 900}, **kw).new_page()
    page.goto(url + "/login")
    page.fill("input[name=username]", "ops")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/review*")
    return page


def inert(page: Any, where: str) -> None:
    """Hostile text stayed text: no element built from it."""
    assert page.locator("x-evil").count() == 0, f"{where}: markup from data"


def no_sideways_scroll(page: Any, width: int, where: str) -> None:
    scroll = page.evaluate("document.documentElement.scrollWidth")
    assert scroll <= width, f"{where} at {width}px scrolls sideways ({scroll}px)"


def shoot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    inert(page, name)
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        no_sideways_scroll(page, width, name)
        page.screenshot(path=SHOTS / f"console-{name}-{width}.png", full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})


def test_operator_walks_the_console(tmp_path: Path) -> None:
    _need_browser()
    from playwright.sync_api import expect, sync_playwright

    settings = make_settings(tmp_path, f"sqlite:///{tmp_path}/db.sqlite", (PY_EXEC,))
    app = create_app(settings, grade_fn=fake_grade)
    csv_path = tmp_path / "people.csv"
    csv_path.write_text(CSV_TEXT)
    with running(app) as url, sync_playwright() as p:
        ids = seed(app.state.services)
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        ops = login(browser, url)
        ops.set_default_navigation_timeout(180_000)
        console: list[str] = []
        dialogs: list[str] = []
        ops.on("console", lambda m: console.append(m.text))

        def on_dialog(dialog: Any) -> None:  # a script that ran would open one
            dialogs.append(dialog.message)
            dialog.dismiss()

        ops.on("dialog", on_dialog)

        ops.goto(url + "/admin")
        expect(ops.locator("#hub")).to_contain_text("Regrade requests")
        shoot(ops, "hub")

        # Cohorts: the list, then a new cohort and its settings.
        ops.get_by_role("link", name="Cohorts", exact=True).first.click()
        expect(ops.locator("#cohort-list")).to_contain_text("<x-evil/data-f=cohort>")
        shoot(ops, "cohorts")
        ops.fill("#cohort-name", "autumn")
        ops.get_by_role("checkbox", name="py-exec").check()
        ops.click("#create-cohort button[type=submit]")
        expect(ops.locator("#status")).to_contain_text("Cohort created")
        ops.select_option("#zone", "Europe/Berlin")
        ops.fill("#opens-local", "2026-12-01T09:00")
        ops.fill("#closes-local", "2026-11-20T09:00")
        ops.get_by_label("Time budget of py-exec in minutes").fill("90")
        ops.click("#save-cohort")
        expect(ops.locator("#status .error")).to_have_text("the window closes before it opens")
        assert ops.input_value("#closes-local") == "2026-11-20T09:00"  # kept
        assert ops.input_value("#zone") == "Europe/Berlin"
        shoot(ops, "cohort-error")
        ops.fill("#closes-local", "2026-12-15T18:00")
        ops.select_option("#late-policy", "flag")
        ops.click("#save-cohort")
        expect(ops.locator("#status")).to_contain_text("Cohort settings saved")
        expect(ops.locator("#window-now")).to_contain_text("01 Dec 2026 08:00 UTC")
        expect(ops.locator("#window-now")).to_contain_text("2026-12-01 09:00 Europe/Berlin")
        shoot(ops, "cohort")

        # Invitations to the seeded cohort: check the CSV, then import its valid rows.
        ops.goto(f"{url}/admin/cohorts/{ids['cohort_id']}/invitations")
        expect(ops.locator("#applicants")).to_contain_text("<x-evil/data-f=applicant-name>")
        ops.set_input_files("#csv-file", str(csv_path))
        ops.click("#csv-form button[type=submit]")
        rows = ops.locator("#csv-rows tbody tr")
        expect(rows).to_have_count(6)
        expect(rows.nth(1)).to_contain_text("not an e-mail address")
        expect(rows.nth(2)).to_contain_text("duplicate of line 2")
        expect(rows.nth(3)).to_contain_text("already invited to this cohort")
        expect(rows.nth(4)).to_contain_text("missing e-mail")
        expect(ops.locator("#import-valid")).to_have_text("Import the 2 valid rows")
        expect(ops.locator("#applicants tbody tr")).to_have_count(2)  # nothing stored yet
        shoot(ops, "invitations-preview")
        ops.click("#import-valid")
        expect(ops.locator("#status")).to_contain_text("Imported 2 row(s)")
        expect(ops.locator("#links")).to_contain_text("omar@example.org")
        expect(ops.locator("#links")).to_contain_text("/invite/")
        expect(ops.locator("#applicants tbody tr")).to_have_count(4)
        shoot(ops, "invitations-imported")
        ops.get_by_role("button", name="Resend a new link to alice@example.org").click()
        expect(ops.locator("#status")).to_contain_text("previous one no longer works")
        ops.get_by_role("button", name="Revoke the invitation of alice@example.org").click()
        expect(ops.locator("#status")).to_contain_text("Revoked the invitation")
        row = ops.locator("#applicants tr", has_text="alice@example.org")
        expect(row).to_contain_text("revoked or expired")
        shoot(ops, "invitations")

        # Users: create one with a generated password; disable the hostile account.
        ops.goto(url + "/admin/users")
        expect(ops.locator("#users")).to_contain_text("<x-evil/data-f=username>")
        ops.fill("#new-username", "mentor.one")
        ops.select_option("#new-role", "mentor")
        ops.click("#create-user button[type=submit]")
        expect(ops.locator("#password-once")).to_contain_text("Password for mentor.one")
        assert len(ops.locator("#new-password").inner_text()) >= 16
        shoot(ops, "users-created")
        ops.get_by_role("button", name="Disable " + evil("username")).click()
        expect(ops.locator("#status")).to_contain_text("their sessions ended")
        ops.get_by_role("button", name="Disable ops").click()
        expect(ops.locator("#status .error")).to_contain_text("your own account")
        shoot(ops, "users")

        # Tasks: regrade (nothing to do) and the integrity pass.
        ops.goto(url + "/admin/tasks")
        ops.get_by_role("button", name="Regrade py-exec").click()
        expect(ops.locator("#status")).to_contain_text("already graded")
        # The pass's comparison methods load on first use: slow once, not per click.
        ops.get_by_role("button", name="Run integrity pass on py-exec").click(timeout=180_000)
        expect(ops.locator("#integrity-result")).to_contain_text("pair(s) flagged")
        shoot(ops, "tasks")

        # Audit: what this walk did, filtered; hostile values read as text.
        ops.goto(url + "/admin/audit")
        expect(ops.locator("#audit-entries")).to_contain_text("<x-evil/data-f=actor>")
        ops.select_option("#f-action", "cohort-settings")
        ops.click("#audit-filters button[type=submit]")
        expect(ops.locator("#audit-entries tbody tr")).to_have_count(1)
        expect(ops.locator("#audit-entries")).to_contain_text('"late_policy": "flag"')
        shoot(ops, "audit")
        href = ops.get_attribute("#audit-csv", "href")
        assert href == "/admin/audit.csv?action=cohort-settings"
        browser.close()
    assert not dialogs, dialogs
    assert not [m for m in console if "Content Security Policy" in m or "Refused" in m], console
