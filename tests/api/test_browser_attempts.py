"""An applicant's timed attempt in Debian's chromium: the portal guesses their time zone from
the browser, Start asks for confirmation saying what starts, the countdown runs, an on-time
upload is received; then the deadline passes on the open page (the countdown says so) and
the upload sent from it is refused with its one-line message. An operator's extensions page
is shown too. At 1280 and 390 px nothing scrolls sideways.

Screenshots go to $ASSESS_TEST_ARTIFACTS/stage2 (attempt-*.png, extensions-*.png).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from api.app import create_app
from api.services import Services
from tests.api.conftest import CHEAP, PY_EXEC, RIGHT, WRONG, fake_grade, make_settings, zip_bytes
from tests.api.live import running
from tests.api.test_browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, _need_browser

pytestmark = [pytest.mark.browser]

PASSWORD = "correct horse battery"
WIDTHS = (1280, 390)
SHOTS = ARTIFACTS / "stage2"


def _seed(services: Services) -> tuple[str, int]:
    """A cohort whose py-exec is timed (30 min + 5 grace, late uploads refused), an
    operator, and Alice; returns her invitation token and the cohort's id."""
    from api import accounts
    from api.core.db import transaction
    from api.models import CohortTask

    with transaction(services.sessions) as s:
        cohort = accounts.get_or_create_cohort(s, "spring", blind=True)
        accounts.set_tasks(s, cohort, ["py-exec"])
        cohort.grace_minutes = 5
        cohort.closes_at = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)
        s.flush()
        row = s.get(CohortTask, (cohort.id, "py-exec"))
        assert row is not None
        row.time_budget_minutes = 30
        accounts.create_user(s, "ops", PASSWORD, "operator", hasher=CHEAP)
        inv = accounts.invite(s, cohort, "alice@example.org", "Alice", 7)
        return inv.token, cohort.id


def _deadline_in(services: Services, seconds: int) -> None:
    """Move Alice's Start back so that her deadline is `seconds` from now."""
    from sqlalchemy import select

    from api.core.db import transaction
    from api.models import Attempt

    with transaction(services.sessions) as s:
        attempt = s.scalar(select(Attempt))
        assert attempt is not None
        attempt.started_at = datetime.now(UTC) + timedelta(seconds=seconds, minutes=-35)


def _shoot(page: Any, name: str) -> None:
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        scroll = page.evaluate("document.documentElement.scrollWidth")
        assert scroll <= width, f"{name} at {width}px scrolls sideways ({scroll}px)"
        page.screenshot(path=SHOTS / f"{name}-{width}.png", full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})


def test_timed_attempt_start_countdown_on_time_then_late_refused(
    tmp_path: Path, rubric_task: Path
) -> None:
    _need_browser()
    from playwright.sync_api import expect, sync_playwright

    settings = make_settings(tmp_path, f"sqlite:///{tmp_path}/db.sqlite", (PY_EXEC, rubric_task))
    app = create_app(settings, grade_fn=fake_grade)
    SHOTS.mkdir(parents=True, exist_ok=True)
    right, wrong = tmp_path / "right.zip", tmp_path / "wrong.zip"
    right.write_bytes(zip_bytes(RIGHT))
    wrong.write_bytes(zip_bytes(WRONG))
    with running(app) as url, sync_playwright() as p:
        token, cohort_id = _seed(app.state.services)
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        console: list[str] = []
        context = browser.new_context(
            viewport={"width": 1280, "height": 900}, timezone_id="America/New_York"
        )
        page = context.new_page()
        page.on("console", lambda m: console.append(m.text))
        page.goto(f"{url}/invite/{token}")
        page.wait_for_url("**/portal")

        # The browser's zone is pre-selected, not saved until Save is pressed.
        expect(page.locator("#timezone")).to_have_value("America/New_York")
        expect(page.locator("#timezone-hint")).to_contain_text("Your browser says America/New_York")
        expect(page.locator("#zone-note")).to_contain_text("Times are shown in UTC")
        page.get_by_role("button", name="Save time zone").click()
        expect(page.locator("#zone-saved")).to_contain_text("America/New_York")

        card = page.locator("#task-py-exec")
        expect(card).to_contain_text("Time budget: 30 min, plus 5 min grace")
        expect(card).to_contain_text("open when you press Start")
        expect(card.get_by_role("link", name="Instructions")).to_have_count(0)
        expect(card.locator("input[type=file]")).to_have_count(0)
        _shoot(page, "attempt-before-start")

        card.get_by_role("link", name="Start Fixture: compute the answer").click()
        page.wait_for_url("**/portal/tasks/py-exec/start")
        confirm = page.locator("#confirm")
        expect(confirm).to_contain_text("time budget of 30 min plus 5 min grace")
        expect(confirm).to_contain_text("cannot be paused")
        expect(page.locator("#planned-deadline")).to_contain_text("(America/New_York, UTC-0")
        _shoot(page, "attempt-confirm")
        page.get_by_role("button", name="Start now").click()
        page.wait_for_url("**/portal?started=py-exec*")
        expect(page.locator("#started")).to_contain_text("your deadline is")
        countdown = page.locator("#task-py-exec-countdown")
        expect(countdown).to_contain_text("34 min")
        expect(countdown).to_contain_text("s left")
        # It ticks: the text changes within a few seconds (polled, so a busy machine that
        # delays a timer does not fail the test; a countdown that never ticks still does).
        first = countdown.inner_text()
        expect(countdown).not_to_have_text(first, timeout=10_000)
        expect(card.get_by_role("link", name="Instructions")).to_be_visible()

        # On time: received.
        card.locator("input[type=file]").set_input_files(str(right))
        card.get_by_role("button", name="Submit").click()
        expect(page.locator("#received")).to_contain_text("Received right.zip for py-exec")
        expect(page.locator("#submissions")).to_contain_text("right.zip")
        _shoot(page, "attempt-countdown")

        # The deadline passes while the page is open: the countdown says so, and the
        # upload sent from the page anyway is refused with its message.
        _deadline_in(app.state.services, 3)
        page.reload()
        card.locator("input[type=file]").set_input_files(str(wrong))
        expect(countdown).to_have_text("The deadline has passed.", timeout=10_000)
        card.get_by_role("button", name="Submit").click()
        error = page.locator("#upload-error")
        expect(error).to_contain_text("The deadline for Fixture: compute the answer passed at")
        expect(error).to_contain_text("(America/New_York, UTC-0")
        expect(error).to_contain_text("uploads are closed.")
        expect(page.locator("#submissions")).not_to_contain_text("wrong.zip")
        expect(page.locator("#task-py-exec-closed")).to_contain_text("uploads are closed")
        _shoot(page, "attempt-late-refused")

        ops = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
        ops.goto(url + "/login")
        ops.fill("input[name=username]", "ops")
        ops.fill("input[name=password]", PASSWORD)
        ops.click("button[type=submit]")
        ops.wait_for_url("**/review*")
        ops.goto(f"{url}/admin/cohorts/{cohort_id}/extensions")
        ops.get_by_label("Applicant").select_option(label="Alice <alice@example.org>")
        ops.get_by_label("Task").select_option("py-exec")
        ops.get_by_label("Extra minutes").fill("20")
        ops.get_by_label("Reason (kept in the audit log)").fill("Upload failed at the deadline")
        ops.get_by_role("button", name="Grant extension").click()
        expect(ops.locator("#extension-done")).to_contain_text("Extended Alice by 20 min")
        expect(ops.locator("#extensions-table")).to_contain_text("Upload failed at the deadline")
        _shoot(ops, "extensions")

        # With the extension, the upload is on time again.
        page.reload()
        card.locator("input[type=file]").set_input_files(str(wrong))
        card.get_by_role("button", name="Submit").click()
        expect(page.locator("#received")).to_contain_text("Received wrong.zip")
        browser.close()
    assert not [m for m in console if "Content Security Policy" in m or "Refused" in m], console
