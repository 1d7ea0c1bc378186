"""Decisions, release and a regrade request in Debian's chromium: an operator previews and
applies a bulk decision, previews and releases the results; an applicant opens their results,
asks for a regrade with a hostile reason; the operator accepts it with a response; the
applicant reads the response and the outcome. No dialog ever opens (hostile text is inert),
no page scrolls sideways at 390 px, and axe finds no serious or critical violation on the
pages (tests/api/test_accessibility_decisions.py runs axe on them as well).

Screenshots go to $ASSESS_TEST_ARTIFACTS/stage2.
"""

from __future__ import annotations

import time
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
HOSTILE = '<img src=x onerror="alert(1)"><script>alert(2)</script>'


def seed(services: Services, rubric_task: str) -> dict[str, Any]:
    """A blind cohort "spring" with both tasks, an operator, three applicants: alice and carol
    right, bob wrong (graded); returns the cohort id and the invitation tokens."""
    from sqlalchemy import select

    from api import accounts
    from api.core.db import transaction
    from api.models import Submission, TaskRow
    from api.uploads import receive

    with transaction(services.sessions) as s:
        cohort = accounts.get_or_create_cohort(s, "spring", blind=True)
        accounts.set_tasks(s, cohort, ["py-exec", rubric_task])
        accounts.create_user(s, "ops", PASSWORD, "operator", hasher=CHEAP)
        invs = [
            accounts.invite(s, cohort, f"{n}@example.org", n.title(), 1)
            for n in ("alice", "bob", "carol")
        ]
        cohort_id = cohort.id
        s.expunge_all()
    with services.sessions() as s:
        task = s.get(TaskRow, "py-exec")
        assert task is not None
        s.expunge_all()
    ids = [
        receive(services, inv.applicant, task, "s.zip", [zip_bytes(files)]).submission.id
        for inv, files in zip(invs, (RIGHT, WRONG, RIGHT), strict=True)
    ]
    deadline = time.monotonic() + 60
    while True:
        with services.sessions() as s:
            states = set(s.scalars(select(Submission.status).where(Submission.id.in_(ids))))
        if states == {"graded"}:
            break
        assert time.monotonic() < deadline, f"still {states}"
        time.sleep(0.05)
    return {"cohort": cohort_id, "tokens": {inv.applicant.name: inv.token for inv in invs}}


def no_sideways_scroll(page: Any, width: int, where: str) -> None:
    scroll = page.evaluate("document.documentElement.scrollWidth")
    assert scroll <= width, f"{where} at {width}px scrolls sideways ({scroll}px)"


def shoot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        no_sideways_scroll(page, width, name)
        page.screenshot(path=SHOTS / f"{name}-{width}.png", full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})


def login(browser: Any, url: str, name: str, dialogs: list[str]) -> Any:
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(url + "/login")
    page.fill("input[name=username]", name)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/review*")
    return page


def test_release_then_regrade_request_and_its_resolution(tmp_path: Path, rubric_task: Path) -> None:
    _need_browser()
    from playwright.sync_api import expect, sync_playwright

    settings = make_settings(tmp_path, f"sqlite:///{tmp_path}/db.sqlite", (PY_EXEC, rubric_task))
    app = create_app(settings, grade_fn=fake_grade)
    dialogs: list[str] = []
    with running(app) as url, sync_playwright() as p:
        world = seed(app.state.services, rubric_task.name)
        cid = world["cohort"]
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        ops = login(browser, url, "ops", dialogs)

        # Bulk decision: advance the top 2, reject the rest, previewed first.
        ops.goto(f"{url}/admin/cohorts/{cid}/decisions")
        expect(ops.locator("#decisions")).to_contain_text("bob@example.org")
        ops.get_by_label("K (a whole number").fill("2")
        ops.get_by_label("Reject the rest").check()
        ops.get_by_label("Reason for rejecting the rest").fill("Not this round")
        ops.click("#bulk-preview")
        expect(ops.locator("#preview-note")).to_contain_text("3 applicant(s) would change")
        expect(ops.locator("#preview-table")).to_contain_text("rejected")
        shoot(ops, "decisions-preview")
        ops.click("#confirm")
        expect(ops.locator("#message")).to_have_text("3 decision(s) changed.")
        bob_row = ops.locator("#decisions tr", has_text="bob@example.org")
        expect(bob_row).to_contain_text("rejected")
        bob_row.get_by_role("link", name="Edit").click()
        ops.get_by_label("Feedback message").fill(f"Thanks, Bob. {HOSTILE}")
        ops.click("#save")
        expect(ops.locator("#message")).to_have_text("1 decision(s) changed.")
        shoot(ops, "decisions")

        # Release: a preview of what applicants will see, then release.
        ops.goto(f"{url}/admin/cohorts/{cid}/release")
        expect(ops.locator("#counts")).to_contain_text("advanced")
        expect(ops.locator("#example")).to_contain_text("Wrote a result")
        shoot(ops, "release-preview")
        ops.click("#release")
        expect(ops.locator("#message")).to_contain_text("3 message(s) queued")
        shoot(ops, "release-done")

        # Bob reads his results and asks for a regrade with a hostile reason.
        bob = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
        bob.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        bob.goto(f"{url}/invite/{world['tokens']['Bob']}")
        bob.goto(f"{url}/portal/results")
        expect(bob.locator("#stage")).to_have_text("rejected")
        expect(bob.locator("#feedback")).to_contain_text("<img src=x")  # shown as text
        expect(bob.locator("#task-py-exec")).not_to_contain_text("HIDDEN-CHECK-DETAIL")
        bob.get_by_label("Ask for a regrade of").first.fill(f"The check is wrong {HOSTILE}")
        bob.locator("#regrade-form-py-exec button").click()
        expect(bob.locator("#message")).to_have_text("Your regrade request was sent.")
        expect(bob.locator("#regrade-py-exec .regrade-status")).to_have_text("open")
        shoot(bob, "results-requested")

        # The operator accepts with a response.
        ops.goto(f"{url}/admin/regrade-requests")
        item = ops.locator(".regrade-item", has_text="bob@example.org")
        expect(item).to_contain_text("The check is wrong <img")
        shoot(ops, "regrade-requests")
        item.get_by_label("Response to the applicant").fill("We ran the checks again.")
        item.get_by_role("button", name="Accept and regrade").click()
        expect(ops.locator("#message")).to_contain_text("resolved")
        expect(ops.locator(".regrade-item", has_text="bob@example.org")).to_contain_text("accepted")
        shoot(ops, "regrade-resolved")

        # Bob sees the response and the outcome.
        bob.reload()
        expect(bob.locator("#regrade-py-exec .regrade-status")).to_have_text("accepted")
        expect(bob.locator("#regrade-py-exec .regrade-response")).to_have_text(
            "We ran the checks again."
        )
        expect(bob.locator("#regrade-py-exec .regrade-outcome")).to_contain_text("result stands")
        shoot(bob, "results-resolved")

        # Before release, another applicant's view says so and nothing else.
        ops.goto(f"{url}/admin/cohorts/{cid}/release")
        ops.click("#withdraw")
        expect(ops.locator("#message")).to_contain_text("Messages already sent stay sent")
        bob.reload()
        expect(bob.locator("#not-released")).to_have_text(
            "Results for spring are not released yet."
        )
        expect(bob.locator("main")).not_to_contain_text("rejected")
        shoot(bob, "results-not-released")
        browser.close()
    assert dialogs == [], f"hostile text ran: {dialogs}"
