"""One whole review session in Debian's chromium: an operator assigns the submissions, the
reviewer opens My queue, starts, reads the write-up (rendered Markdown) and the code
(highlighted) on the submission's page, comments on a code line, scores every criterion,
saves, and lands on the next submission of the queue with the saved message.

Screenshots go to $ASSESS_TEST_ARTIFACTS/workbench (session-01-assign.png ...).
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from api.app import create_app
from api.services import Services
from tests.api.conftest import CHEAP, fake_grade, make_settings, zip_bytes
from tests.api.live import running
from tests.api.test_browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, _need_browser

pytestmark = [pytest.mark.browser]

PASSWORD = "correct horse battery"
WRITEUP = """# How I probed the model

I trained a **linear probe** on each layer and kept the best one.

| layer | accuracy |
|---|---|
| 6 | 0.91 |
"""
CODE = '''"""Probe each layer."""

ANSWER = 6 * 7


def best_layer(scores):
    return max(scores, key=scores.get)
'''


def _seed(services: Services, task_id: str) -> tuple[int, list[int]]:
    """A blind cohort with the rubric task, an operator, a reviewer, two graded submissions."""
    from sqlalchemy import select

    from api import accounts
    from api.core.db import transaction
    from api.models import Submission, TaskRow
    from api.uploads import receive

    with transaction(services.sessions) as s:
        cohort = accounts.get_or_create_cohort(s, "c1", blind=True)
        accounts.set_tasks(s, cohort, [task_id])
        accounts.create_user(s, "ops", PASSWORD, "operator", hasher=CHEAP)
        accounts.create_user(s, "rev", PASSWORD, "reviewer", hasher=CHEAP)
        invited = [
            accounts.invite(s, cohort, f"{n}@example.org", n.title(), 1) for n in ("ann", "ben")
        ]
        cohort_id = cohort.id
        s.expunge_all()
    with services.sessions() as s:
        task = s.get(TaskRow, task_id)
        assert task is not None
        s.expunge_all()
    files = {"writeup.md": WRITEUP, "main.py": CODE}
    ids = [
        receive(services, inv.applicant, task, "s.zip", [zip_bytes(files)]).submission.id
        for inv in invited
    ]
    deadline = time.monotonic() + 60
    while True:
        with services.sessions() as s:
            states = set(s.scalars(select(Submission.status).where(Submission.id.in_(ids))))
        if states == {"graded"}:
            return cohort_id, ids
        assert time.monotonic() < deadline, f"submissions still {states}"
        time.sleep(0.05)


def _sign_in(page, url: str, username: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(url + "/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/review")


def test_a_whole_review_session(tmp_path: Path, rubric_task: Path) -> None:
    _need_browser()
    from playwright.sync_api import expect, sync_playwright

    settings = make_settings(tmp_path, f"sqlite:///{tmp_path}/db.sqlite", (rubric_task,))
    app = create_app(settings, grade_fn=fake_grade)
    shots = ARTIFACTS / "workbench"
    shots.mkdir(parents=True, exist_ok=True)
    console: list[str] = []
    with running(app) as url, sync_playwright() as p:
        cohort_id, ids = _seed(app.state.services, "py-rubric")
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)

        # 1. The operator assigns every submission to the reviewer (one reviewer each).
        ops = browser.new_page(viewport={"width": 1280, "height": 900})
        _sign_in(ops, url, "ops")
        ops.goto(f"{url}/admin/assignments?cohort={cohort_id}")
        ops.get_by_role("checkbox", name=re.compile(r"^\s*ops\b")).uncheck()
        ops.fill("#auto-k", "1")
        ops.click("#assign")
        expect(ops.locator("#result")).to_contain_text("2")
        ops.screenshot(path=shots / "session-01-assign.png", full_page=True)
        ops.close()

        # 2. The reviewer's queue: two to do; Start opens the first.
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.on("console", lambda m: console.append(m.text))
        _sign_in(page, url, "rev")
        page.get_by_role("link", name="My queue").click()
        page.wait_for_url("**/review/queue")
        expect(page.locator("#count-assigned")).to_have_text("2")
        expect(page.locator("#count-remaining")).to_have_text("2")
        page.screenshot(path=shots / "session-02-queue.png", full_page=True)
        page.click("#start")
        page.wait_for_url(f"**/review/submissions/{ids[0]}?queue=mine")

        # 3. One screen: the write-up rendered and the code highlighted beside the rubric.
        evidence = page.locator("#evidence")
        expect(evidence.get_by_role("heading", name="How I probed the model")).to_be_visible()
        expect(evidence.locator("table td", has_text="0.91")).to_be_visible()
        expect(evidence.locator(".highlight span.k", has_text="def")).to_be_visible()
        expect(page.locator("#review-form")).to_be_in_viewport()
        expect(page.get_by_role("link", name="Next →")).to_have_attribute(
            "href", f"/review/submissions/{ids[1]}?queue=mine"
        )
        page.screenshot(path=shots / "session-03-submission.png", full_page=False)

        # 4. A comment on a code line: its number opens the file at that line.
        page.get_by_role("link", name="line 6 of main.py").click()
        page.wait_for_url(re.compile(r".*/files/main\.py\?queue=mine&line=6#L-6$"))
        expect(page.locator("#comment-line")).to_have_value("6")
        page.fill("#comment-body", "Why the max over layers, not a held-out choice?")
        page.click("#add-comment")
        page.wait_for_url(re.compile(r".*/files/main\.py\?queue=mine#comment-\d+$"))
        comment = page.locator("tr.line-comments .comment-body")
        expect(comment).to_have_text("Why the max over layers, not a held-out choice?")
        # The comment sits right under line 6.
        assert page.evaluate(
            "document.getElementById('L-6').nextElementSibling.classList.contains('line-comments')"
        )
        page.screenshot(path=shots / "session-04-comment.png", full_page=True)
        page.click("#back")
        page.wait_for_url(f"**/review/submissions/{ids[0]}?queue=mine")
        expect(page.locator("#all-comments")).to_contain_text("line 6")

        # 5. Score every criterion, choose a tier, save: on to the next in the queue.
        page.fill("#score-clarity", "8")
        page.fill("#score-judgement", "7")
        page.select_option("#tier-select", "Meets")
        page.screenshot(path=shots / "session-05-scored.png", full_page=False)
        page.click("#save-review")
        page.wait_for_url(f"**/review/submissions/{ids[1]}?queue=mine&saved={ids[0]}")
        expect(page.locator("#status")).to_contain_text(f"Review of #{ids[0]} saved.")
        expect(page.locator(".review-top h1")).to_contain_text(f"Submission {ids[1]}")
        expect(page.locator("#nav-next-none")).to_have_text("Last in this list")
        page.screenshot(path=shots / "session-06-next.png", full_page=False)

        # The queue counts the review.
        page.goto(f"{url}/review/queue")
        expect(page.locator("#count-reviewed")).to_have_text("1")
        browser.close()
    assert not [m for m in console if "Content Security Policy" in m or "Refused" in m], console
