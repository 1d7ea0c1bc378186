"""Streams in Debian's chromium: an operator creates a stream with a mentor on the cohort's
streams page, an applicant chooses it in the portal, the mentor opens My streams, sees the
ranking by pseudonym (a blind cohort), shortlists an applicant and writes a note; the
applicant then sees the stream's follow-up task open to them, and nothing of the shortlist or
the note. A hostile stream name, description and note stay text: no script runs, no dialog
opens. At 1280 and 390 px nothing scrolls sideways.

Screenshots go to $ASSESS_TEST_ARTIFACTS/stage2.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from api.app import create_app
from api.core.security import pseudonym
from api.services import Services
from tests.api.conftest import CHEAP, PY_EXEC, fake_grade, make_settings
from tests.api.live import running
from tests.api.test_browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, _need_browser
from tests.api.test_streams import FOLLOW_UP, followup_task, score

pytestmark = [pytest.mark.browser]
__all__ = ["followup_task"]  # the fixture, shared with test_streams

PASSWORD = "correct horse battery"
WIDTHS = (1280, 390)
SHOTS = ARTIFACTS / "stage2"
HOSTILE_NAME = '<img src=x onerror="window.pwned=1">Red-teaming'
HOSTILE_TEXT = "<script>window.pwned=2</script>Attack <b>models</b>\nsecond line"


def _seed(services: Services) -> dict[str, Any]:
    """A blind cohort with py-exec; an operator, a mentor; Alice and Bob with scores."""
    from api import accounts
    from api.core.db import transaction

    with transaction(services.sessions) as s:
        cohort = accounts.get_or_create_cohort(s, "spring", blind=True)
        accounts.set_tasks(s, cohort, ["py-exec"])
        accounts.create_user(s, "ops", PASSWORD, "operator", hasher=CHEAP)
        accounts.create_user(s, "men", PASSWORD, "mentor", hasher=CHEAP)
        invs = {
            n: accounts.invite(s, cohort, f"{n}@example.org", n.title(), 1)
            for n in ("alice", "bob")
        }
        s.flush()
        out = {
            "cohort": cohort.id,
            "tokens": {n: i.token for n, i in invs.items()},
            "ids": {n: i.applicant.id for n, i in invs.items()},
        }
    score(services, out["ids"]["alice"], "py-exec", 0.9)
    score(services, out["ids"]["bob"], "py-exec", 0.6)
    score(services, out["ids"]["bob"], FOLLOW_UP, 1.0)
    return out


def _no_sideways_scroll(page: Any, width: int, where: str) -> None:
    scroll = page.evaluate("document.documentElement.scrollWidth")
    assert scroll <= width, f"{where} at {width}px scrolls sideways ({scroll}px)"


def _shoot(page: Any, name: str) -> None:
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        _no_sideways_scroll(page, width, name)
        page.screenshot(path=SHOTS / f"{name}-{width}.png", full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})


def _inert(page: Any) -> None:
    assert page.evaluate("window.pwned === undefined"), "hostile text ran as script"


def test_stream_flow_operator_applicant_mentor(tmp_path: Path, followup_task: Path) -> None:
    _need_browser()
    from playwright.sync_api import expect, sync_playwright

    settings = make_settings(tmp_path, f"sqlite:///{tmp_path}/db.sqlite", (PY_EXEC, followup_task))
    app = create_app(settings, grade_fn=fake_grade)
    SHOTS.mkdir(parents=True, exist_ok=True)
    with running(app) as url, sync_playwright() as p:
        services: Services = app.state.services
        world = _seed(services)
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        dialogs: list[str] = []
        errors: list[str] = []

        def new_page() -> Any:
            page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            page.on("pageerror", lambda e: errors.append(str(e)))
            return page

        def login(name: str) -> Any:
            page = new_page()
            page.goto(url + "/login")
            page.fill("input[name=username]", name)
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_load_state()
            return page

        # 1. The operator creates two streams: one with the mentor and a follow-up task.
        ops = login("ops")
        ops.goto(f"{url}/admin/cohorts/{world['cohort']}/streams")
        expect(ops.locator("#no-streams")).to_be_visible()
        form = ops.locator("#create-stream")
        form.get_by_label("Name").fill("Interpretability")
        form.get_by_label("Description").fill("Circuits and probes.\nSecond paragraph.")
        form.get_by_role("checkbox", name="men (mentor)").check()
        form.get_by_role("checkbox", name=f"({FOLLOW_UP})").check()
        ops.click("#create")
        expect(ops.locator("#message")).to_have_text("Stream created.")
        # A second stream with the same name is refused in place, the input kept.
        form = ops.locator("#create-stream")
        form.get_by_label("Name").fill("interpretability")
        form.get_by_label("Description").fill(HOSTILE_TEXT)
        ops.click("#create")
        expect(ops.locator("#error")).to_contain_text("has a stream called")
        expect(ops.locator("#new-name")).to_have_value("interpretability")
        expect(ops.locator("#new-description")).to_have_value(HOSTILE_TEXT)
        ops.locator("#new-name").fill(HOSTILE_NAME)
        ops.click("#create")
        expect(ops.locator("#message")).to_have_text("Stream created.")
        expect(ops.get_by_role("heading", name=HOSTILE_NAME)).to_be_visible()
        _inert(ops)
        _shoot(ops, "streams-admin")

        # 2. Alice opens her invitation and chooses Interpretability; Bob chooses both.
        pages = {}
        for who in ("alice", "bob"):
            page = new_page()
            page.goto(f"{url}/invite/{world['tokens'][who]}")
            page.goto(url + "/portal/streams")
            expect(page.get_by_text("Second paragraph.")).to_be_visible()
            expect(page.get_by_text("not open to you yet")).to_be_visible()
            page.get_by_role("checkbox", name="Interpretability").check()
            if who == "bob":
                page.get_by_role("checkbox", name=HOSTILE_NAME).check()
            page.click("#save-streams")
            expect(page.locator("#message")).to_have_text("Your streams were saved.")
            expect(page.get_by_role("checkbox", name="Interpretability")).to_be_checked()
            _inert(page)
            pages[who] = page
        _shoot(pages["bob"], "streams-portal")

        # 3. The mentor's streams: the ranking by pseudonym, then shortlist and a note.
        men = login("men")
        men.goto(url + "/review/streams")
        expect(men.get_by_role("heading", name="My streams")).to_be_visible()
        expect(men.locator("#streams")).not_to_contain_text("Red-teaming")
        _shoot(men, "streams-mine")
        men.get_by_role("link", name="Interpretability").click()
        secret = services.secret
        alice, bob = (pseudonym(secret, world["ids"][n]) for n in ("alice", "bob"))
        rows = men.locator("#ranking tbody tr")
        expect(rows).to_have_count(2)
        # Bob: (0.6 + 1.0) / 2 = 80 %; Alice 90 % with no follow-up score.
        expect(rows.nth(0)).to_contain_text(alice)
        expect(rows.nth(0)).to_contain_text("no follow-up score")
        expect(rows.nth(1)).to_contain_text(bob)
        expect(rows.nth(1)).to_contain_text("80%")
        expect(men.locator("#formula")).to_contain_text("(composite + follow-up score) / 2")
        body = men.locator("main").inner_text()
        assert "example.org" not in body and "Alice" not in body and "Bob" not in body
        men.get_by_role("button", name=f"Shortlist {bob}").click()
        expect(men.locator("#message")).to_have_text("Added to the shortlist.")
        expect(men.locator(f"#rank-{bob}")).to_contain_text("shortlisted")
        expect(men.locator(f"#rank-{bob}")).to_contain_text("by men,")
        men.get_by_label(f"New note on {bob}").fill("Ask about the probe baseline. " + HOSTILE_TEXT)
        men.locator(f"#row-{bob}").get_by_role("button", name="Save note").click()
        expect(men.locator("#message")).to_have_text("Note saved.")
        expect(men.locator(f"#row-{bob} .note-body")).to_contain_text("<script>window.pwned=2")
        expect(men.locator(f"#row-{bob} .note-meta")).to_contain_text("men, ")
        _inert(men)
        _shoot(men, "streams-mentor")
        # Another stream is not the mentor's: it does not exist for them.
        other = men.goto(f"{url}/review/streams/999")
        assert other is not None and other.status == 404

        # 4. Bob sees the follow-up task open; nothing of the shortlist or the note.
        bob_page = pages["bob"]
        bob_page.goto(url + "/portal/streams")
        card = bob_page.locator("fieldset .stream-choice").filter(has_text="Interpretability")
        expect(card).to_contain_text("open to you")
        text = bob_page.locator("main").inner_text()
        assert "probe baseline" not in text and "shortlist" not in text.lower()
        _inert(bob_page)

        # 5. The operator sees identities on the same page, and the note.
        ops.goto(url + "/review/streams")
        ops.get_by_role("link", name="Interpretability").click()
        expect(ops.locator("#ranking")).to_contain_text("Bob <bob@example.org>")
        expect(ops.locator(f"#row-{bob} .note-body")).to_contain_text("probe baseline")
        _shoot(ops, "streams-operator")
        browser.close()
    assert dialogs == [], dialogs
    assert errors == [], errors
