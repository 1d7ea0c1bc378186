"""The review page in Debian's chromium: the rubric stays in view beside the evidence, the
keyboard shortcuts (j, k, n, s, ?) and their help, a refused review keeping its input, a
line number filling the comment form, and no sideways scroll at 390 px.

Screenshots go to $ASSESS_TEST_ARTIFACTS/workbench (review-*.png).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from api.app import create_app
from tests.api.conftest import make_settings
from tests.api.live import running
from tests.api.test_browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, _need_browser
from tests.api.test_browser_escaping import INJECTED
from tests.api.test_browser_session import _seed, _sign_in

pytestmark = [pytest.mark.browser]


def _scroll_width(page) -> int:  # type: ignore[no-untyped-def]
    return int(page.evaluate("document.documentElement.scrollWidth"))


def test_review_page_one_screen_shortcuts_and_narrow_layout(
    tmp_path: Path, rubric_task: Path
) -> None:
    _need_browser()
    from playwright.sync_api import expect, sync_playwright

    from tests.api.conftest import fake_grade

    settings = make_settings(tmp_path, f"sqlite:///{tmp_path}/db.sqlite", (rubric_task,))
    app = create_app(settings, grade_fn=fake_grade)
    shots = ARTIFACTS / "workbench"
    shots.mkdir(parents=True, exist_ok=True)
    console: list[str] = []
    dialogs: list[str] = []
    with running(app) as url, sync_playwright() as p:
        _, ids = _seed(app.state.services, "py-rubric")
        first, second = sorted(ids)
        query = "task=py-rubric&sort=id&order=asc"
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.on("console", lambda m: console.append(m.text))
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        _sign_in(page, url, "rev")
        page.goto(f"{url}/review/submissions/{first}?{query}")

        # One screen: the rubric form stays in view while the evidence scrolls past.
        form = page.locator("#review-form")
        expect(form).to_be_in_viewport()
        page.locator("#report").scroll_into_view_if_needed()
        expect(page.locator("#checks")).to_be_in_viewport()
        expect(page.locator("#score-clarity")).to_be_in_viewport()
        assert page.evaluate(
            "getComputedStyle(document.querySelector('.rubric-pane')).position"
        ) == ("sticky")
        page.screenshot(path=shots / "review-01-one-screen-1280.png", full_page=False)

        # The shortcuts' help: a visible button, and "?".
        help_button = page.get_by_role("button", name="Keyboard shortcuts")
        expect(help_button).to_be_visible()
        page.keyboard.press("?")
        dialog = page.get_by_role("dialog", name="Keyboard shortcuts")
        expect(dialog).to_be_visible()
        expect(dialog).to_contain_text("next unreviewed submission in my queue")
        page.screenshot(path=shots / "review-02-shortcuts.png", full_page=False)
        page.keyboard.press("Escape")
        expect(dialog).to_be_hidden()
        expect(help_button).to_be_focused()

        # Letters typed in a field stay in the field; j outside a field goes to the next.
        page.fill("#review-comment", "")
        page.locator("#review-comment").type("jks?n")
        expect(page.locator("#review-comment")).to_have_value("jks?n")
        expect(dialog).to_be_hidden()
        assert page.url.endswith(f"/review/submissions/{first}?{query}")
        page.evaluate("document.activeElement.blur()")
        page.keyboard.press("j")
        page.wait_for_url(f"**/review/submissions/{second}?{query}")
        page.keyboard.press("k")
        page.wait_for_url(f"**/review/submissions/{first}?{query}")

        # A refused review: the page again with everything typed and the reason announced.
        page.fill("#score-clarity", "12")
        page.fill("#score-judgement", "7")
        page.fill("#review-comment", "Thorough probe sweep")
        page.evaluate("document.activeElement.blur()")
        page.keyboard.press("s")
        alert = page.get_by_role("alert")
        expect(alert).to_contain_text("Clarity of the write-up: 12 is outside 0 to 10")
        expect(page.locator("#score-clarity")).to_have_value("12")
        expect(page.locator("#score-judgement")).to_have_value("7")
        expect(page.locator("#review-comment")).to_have_value("Thorough probe sweep")
        page.screenshot(path=shots / "review-03-refused.png", full_page=False)
        page.fill("#score-clarity", "9")
        page.click("#save-review")
        page.wait_for_url(f"**/review/submissions/{second}?{query}&saved={first}")
        expect(page.locator("#saved")).to_have_text(f"Review of #{first} saved.")

        # The file page: a line number fills the comment form without leaving the page.
        page.goto(f"{url}/review/submissions/{second}/files/main.py?{query}")
        before = page.evaluate("performance.getEntriesByType('navigation').length")
        page.get_by_role("link", name="line 3", exact=True).click()
        expect(page.locator("#comment-line")).to_have_value("3")
        expect(page.locator("#comment-body")).to_be_focused()
        expect(page.locator("tr#L-3")).to_have_class("selected")
        assert page.evaluate("performance.getEntriesByType('navigation').length") == before
        page.keyboard.type("<img src=x onerror=alert(1)> why 6 * 7?")
        page.click("#add-comment")
        expect(page.locator("tr.line-comments .comment-body")).to_have_text(
            "<img src=x onerror=alert(1)> why 6 * 7?"
        )
        assert page.locator(INJECTED).count() == 0 and page.locator(".comment img").count() == 0

        # 390 px: one column, no sideways scroll, on the review page and the file page.
        narrow = browser.new_page(viewport={"width": 390, "height": 844})
        narrow.on("console", lambda m: console.append(m.text))
        _sign_in(narrow, url, "rev")
        for path, name in (
            (f"/review/submissions/{second}?{query}", "review-04-narrow-390.png"),
            (f"/review/submissions/{second}/files/main.py?{query}", "review-05-file-390.png"),
        ):
            narrow.goto(url + path)
            assert _scroll_width(narrow) <= 390, (path, _scroll_width(narrow))
            narrow.screenshot(path=shots / name, full_page=True)
            if "/files/" not in path:  # one column: the rubric follows the evidence
                box = narrow.locator(".rubric-pane").bounding_box()
                evidence = narrow.locator("#evidence").bounding_box()
                assert box is not None and evidence is not None
                assert box["y"] >= evidence["y"] + evidence["height"]
        browser.close()
    assert dialogs == []
    assert not [m for m in console if "Content Security Policy" in m or "Refused" in m], console
