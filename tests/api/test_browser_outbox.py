"""The outbox in Debian's chromium: an operator opens /admin/outbox, filters it, reads a
message as plain text, exports the CSV, previews and confirms "retry failed" and "send now"
(a real SMTP server on loopback receives the mail). At 1280 and 390 px nothing scrolls
sideways; the page's CSP holds (no console complaint).

Screenshots go to $ASSESS_TEST_ARTIFACTS/stage2 (outbox-*.png).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest

from api.app import create_app
from api.services import Services
from tests.api.conftest import CHEAP, PY_EXEC, fake_grade, make_settings
from tests.api.live import running
from tests.api.test_browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, _need_browser
from tests.api.test_notifications import Inbox, smtp_server  # noqa: F401 (a fixture)

pytestmark = [pytest.mark.browser]

PASSWORD = "correct horse battery"
WIDTHS = (1280, 390)
SHOTS = ARTIFACTS / "stage2"
LONG_ADDRESS = (
    "maximilian.alexander.longname-of-the-applicant@a-very-long-university-domain.example.org"
)


def seed(services: Services) -> dict[str, int]:
    """An operator and messages of every status: a queued invitation with markup and a
    formula in it, a sent result, a failed reminder with the server's error."""
    from api import accounts
    from api.core.db import transaction
    from api.models import OutboxMessage
    from api.notifications import MAX_ATTEMPTS, queue_message

    with transaction(services.sessions) as db:
        accounts.create_user(db, "ops", PASSWORD, "operator", hasher=CHEAP)
        specs = [
            ("invitation", LONG_ADDRESS, "Your invitation to the assessment (spring)",
             "Hello Maximilian,\n\n<b>not bold</b> =SUM(A1:A9)\nhttps://assess.example/invite/abc\n"),
            ("results", "bob@example.org", "Your assessment results are available",
             "Hello Bob,\n\nRead them at https://assess.example/portal/results\n"),
            ("reminder", "carol@example.org", "Reminder: Fixture is due 2026-07-01 12:00 UTC",
             "Hello Carol,\n\nYour attempt is due soon.\n"),
        ]  # fmt: skip
        ids: dict[str, int] = {}
        for kind, to, subject, body in specs:
            msg = queue_message(db, kind=kind, to=to, subject=subject, body=body)
            assert msg is not None
            ids[kind] = msg.id
        sent = db.get(OutboxMessage, ids["results"])
        failed = db.get(OutboxMessage, ids["reminder"])
        assert sent is not None and failed is not None
        sent.status, sent.attempts = "sent", 1
        failed.status, failed.attempts = "failed", MAX_ATTEMPTS
        failed.error = (
            "SMTPRecipientsRefused: recipient refused: 550 5.1.1 carol@example.org: "
            "mailbox unavailable"
        )
    return ids


def sign_in(context: Any, url: str) -> Any:
    page = context.new_page()
    page.goto(url + "/login")
    page.fill("input[name=username]", "ops")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(lambda u: not u.endswith("/login"))
    return page


def shoot(page: Any, name: str) -> None:
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        scroll = page.evaluate("document.documentElement.scrollWidth")
        assert scroll <= width, f"{name} at {width}px scrolls sideways ({scroll}px)"
        page.screenshot(path=SHOTS / f"{name}-{width}.png", full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})


def test_operator_filters_reads_exports_retries_and_sends(
    tmp_path: Path,
    smtp_server: Inbox,  # noqa: F811 (the fixture)
) -> None:
    _need_browser()
    from playwright.sync_api import expect, sync_playwright

    settings = make_settings(
        tmp_path, f"sqlite:///{tmp_path}/db.sqlite", (PY_EXEC,), workers=0,
        smtp_host="127.0.0.1", smtp_port=smtp_server.port, smtp_starttls=False,
        smtp_from="assess@assess.example", smtp_timeout_s=5,
    )  # fmt: skip
    app = create_app(settings, grade_fn=fake_grade)
    SHOTS.mkdir(parents=True, exist_ok=True)
    with running(app) as url, sync_playwright() as p:
        ids = seed(app.state.services)
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(
            viewport={"width": 1280, "height": 900}, accept_downloads=True
        )
        console: list[str] = []
        page = sign_in(context, url)
        page.on("console", lambda m: console.append(m.text))

        page.goto(url + "/admin/outbox")
        expect(page.locator("#smtp-on")).to_contain_text("Sending by SMTP through")
        expect(page.locator("#count-queued")).to_have_text("1")
        expect(page.locator("#count-failed")).to_have_text("1")
        expect(page.locator("#messages tbody tr")).to_have_count(3)
        shoot(page, "outbox")

        page.get_by_label("Status").select_option("failed")
        page.get_by_role("button", name="Show").click()
        page.wait_for_url("**/admin/outbox?status=failed*")
        expect(page.locator("#messages tbody tr")).to_have_count(1)
        expect(page.locator("#messages")).to_contain_text("550 5.1.1")
        shoot(page, "outbox-failed")

        with page.expect_download() as got:
            page.click("#export-csv")
        path = got.value.path()
        assert got.value.suggested_filename == "outbox-failed.csv"
        rows = list(csv.DictReader(io.StringIO(Path(path).read_text())))
        assert [int(r["id"]) for r in rows] == [ids["reminder"]]

        page.goto(url + "/admin/outbox")
        page.get_by_role("link", name=f"Message {ids['invitation']}").click()
        body = page.locator("#body")
        expect(body).to_contain_text("<b>not bold</b> =SUM(A1:A9)")  # text, not markup
        expect(page.locator("#body b")).to_have_count(0)
        expect(page.locator("#to")).to_have_text(LONG_ADDRESS)
        shoot(page, "outbox-message")

        page.goto(url + "/admin/outbox")
        page.click("#retry-failed")
        preview = page.locator("#preview")
        expect(preview).to_contain_text("Preview, nothing changed yet")
        expect(preview).to_contain_text("1 failed message(s) would be queued again")
        expect(page.locator("#count-failed")).to_have_text("1")
        shoot(page, "outbox-retry-preview")
        page.click("#confirm")
        expect(page.locator("#message")).to_have_text("1 failed message(s) queued again.")
        expect(page.locator("#count-failed")).to_have_text("0")
        expect(page.locator("#count-queued")).to_have_text("2")

        page.click("#send-now")
        expect(page.locator("#preview")).to_contain_text("2 queued message(s) would be sent now")
        assert smtp_server.messages == []
        page.click("#confirm")
        expect(page.locator("#message")).to_contain_text("Send now: 2 sent, 0 to retry")
        expect(page.locator("#count-sent")).to_have_text("3")
        shoot(page, "outbox-sent")
        assert sorted(m["To"] for m in smtp_server.messages) == sorted(
            [LONG_ADDRESS, "carol@example.org"]
        )
        browser.close()
    assert not [m for m in console if "Content Security Policy" in m or "Refused" in m], console
