"""The rubric judge in Debian's chromium.

A reviewer in a blind-mode cohort sees no model pre-score until they save their own review,
then sees it beside their form; in an assist-mode cohort they see the labelled suggestion
(with the injection flag on a write-up that addresses the grader) and copy it into their
score with one click. An operator is refused a stand-in below N, then grants one on the
task page. At 1280 and 390 px nothing scrolls sideways; the CSP refuses nothing.

Screenshots go to $ASSESS_TEST_ARTIFACTS/stage2 (judge-*.png).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from api import judging
from api.app import create_app
from api.services import Services
from tests.api.conftest import CHEAP, PY_EXEC, RIGHT, fake_grade, make_settings, zip_bytes
from tests.api.live import running
from tests.api.test_browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, _need_browser
from tests.api.test_judging import GOOD, INJECTION, LABEL, scripted

pytestmark = [pytest.mark.browser]

PASSWORD = "correct horse battery"
WIDTHS = (1280, 390)
SHOTS = ARTIFACTS / "stage2"


def seed_judged(services: Services, task_id: str) -> dict[str, list[int]]:
    """Two cohorts, judge in blind and in assist mode; an operator and a reviewer; graded
    and judged submissions: blind ones (GOOD, plain, GOOD, plain), assist ones (injection,
    GOOD). The scripted judge gives GOOD 10 and plain 0 on both criteria."""
    from api import accounts
    from api.core.db import transaction
    from api.models import Job, TaskRow
    from api.uploads import receive

    scripted(services)
    writeups = {
        "blind": [GOOD, "A plain write-up.", GOOD, "A plain write-up."],
        "assist": [INJECTION, GOOD],
    }
    with transaction(services.sessions) as s:
        accounts.create_user(s, "ops", PASSWORD, "operator", hasher=CHEAP)
        accounts.create_user(s, "rev", PASSWORD, "reviewer", hasher=CHEAP)
        invites: dict[str, list[Any]] = {}
        for mode, texts in writeups.items():
            cohort = accounts.get_or_create_cohort(s, f"cohort-{mode}", blind=True)
            accounts.set_tasks(s, cohort, [task_id])
            cohort.judge_mode = mode
            invites[mode] = [
                accounts.invite(s, cohort, f"{mode}{i}@example.org", f"{mode.title()} {i}", 1)
                for i in range(len(texts))
            ]
        s.expunge_all()
    with services.sessions() as s:
        task = s.get(TaskRow, task_id)
        assert task is not None
        s.expunge_all()
    ids: dict[str, list[int]] = {}
    for mode, texts in writeups.items():
        ids[mode] = [
            receive(
                services,
                inv.applicant,
                task,
                "s.zip",
                [zip_bytes({**RIGHT, "writeup.md": text + "\n"})],
            ).submission.id
            for inv, text in zip(invites[mode], texts, strict=True)
        ]
    every = ids["blind"] + ids["assist"]
    deadline = time.monotonic() + 90
    while True:
        with services.sessions() as s:
            done = s.scalars(
                select(Job.submission_id).where(Job.queue == judging.QUEUE, Job.state == "done")
            ).all()
        if set(done) >= set(every):
            return ids
        assert time.monotonic() < deadline, f"judged only {sorted(done)} of {every}"
        time.sleep(0.1)


def review_blind(services: Services, reviews: list[tuple[int, bool]]) -> None:
    """rev's reviews of blind submissions (id, GOOD write-up), agreeing with the judge on
    clarity, and giving judgement 10 throughout."""
    from api.core.db import transaction
    from api.models import Submission, User
    from api.reviewing import ReviewInput, save_review

    with transaction(services.sessions) as s:
        user = s.scalar(select(User).where(User.username == "rev"))
        assert user is not None
        for sid, good in reviews:
            sub = s.get(Submission, sid)
            assert sub is not None
            score = 10.0 if good else 0.0
            data = ReviewInput(
                scores={"clarity": score, "judgement": 10.0}, tier="Meets",
                integrity_flag=False, integrity_note="", comment="",
            )  # fmt: skip
            save_review(s, sub, user, data)


def _no_sideways_scroll(page: Any, width: int, where: str) -> None:
    scroll = page.evaluate("document.documentElement.scrollWidth")
    assert scroll <= width, f"{where} at {width}px scrolls sideways ({scroll}px)"


def _shoot(page: Any, name: str) -> None:
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        _no_sideways_scroll(page, width, name)
        page.screenshot(path=SHOTS / f"{name}-{width}.png", full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})


def test_reviewer_sees_the_judge_after_their_review_and_copies_a_suggestion(
    tmp_path: Path, rubric_task: Path
) -> None:
    _need_browser()
    from playwright.sync_api import expect, sync_playwright

    settings = make_settings(tmp_path, f"sqlite:///{tmp_path}/db.sqlite", (PY_EXEC, rubric_task))
    app = create_app(settings, grade_fn=fake_grade)
    SHOTS.mkdir(parents=True, exist_ok=True)
    with running(app) as url, sync_playwright() as p:
        ids = seed_judged(app.state.services, rubric_task.name)
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        console: list[str] = []

        def login(name: str) -> Any:
            page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
            page.on("console", lambda m: console.append(m.text))
            page.goto(url + "/login")
            page.fill("input[name=username]", name)
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url("**/review*")
            return page

        rev = login("rev")
        first = ids["blind"][0]
        rev.goto(f"{url}/review/submissions/{first}")
        expect(rev.locator("#judge-note")).to_contain_text("once you have saved your own review")
        expect(rev.get_by_text(LABEL)).to_have_count(0)
        expect(rev.locator("#score-clarity")).to_have_value("")
        _shoot(rev, "judge-blind-before")
        rev.fill("#score-clarity", "10")
        rev.fill("#score-judgement", "10")
        rev.check("#stay")
        rev.click("#save-review")
        rev.wait_for_url(f"**/review/submissions/{first}?saved={first}")
        expect(rev.locator("#saved")).to_contain_text(f"Review of #{first} saved")
        box = rev.locator("#judge-clarity")
        expect(box).to_contain_text(LABEL)
        expect(rev.locator("#judge-clarity-score")).to_have_text("10 / 10")
        expect(rev.locator("#judge-copy-clarity")).to_have_count(0)  # blind: nothing to copy
        box.locator("summary").click()
        expect(box).to_contain_text(GOOD)
        _shoot(rev, "judge-blind-after")

        flagged = ids["assist"][0]
        rev.goto(f"{url}/review/submissions/{flagged}")
        expect(rev.locator("#judge-note")).to_contain_text("Model suggestions")
        expect(rev.locator("#judge-clarity")).to_contain_text(LABEL)
        expect(rev.locator("#judge-clarity-flags")).to_contain_text("mirrors injected instructions")
        expect(rev.locator("#score-clarity")).to_have_value("")  # never pre-filled
        rev.click("#judge-copy-clarity")
        expect(rev.locator("#score-clarity")).to_have_value("10")
        expect(rev.locator("#score-clarity")).to_be_focused()
        expect(rev.locator("#status")).to_contain_text("Copied the model's suggestion 10")
        _shoot(rev, "judge-assist-copied")

        review_blind(
            app.state.services, list(zip(ids["blind"][1:], (False, True, False), strict=True))
        )
        ops = login("ops")
        ops.goto(f"{url}/review/tasks/{rubric_task.name}")
        row = ops.locator("#judge-clarity")
        expect(row.locator("td").nth(0)).to_have_text("4")
        expect(row).to_contain_text("1.00")
        ops.fill("#stand-in-n", "9")
        ops.fill("#stand-in-threshold", "0.5")
        ops.click("#stand-in-submit")
        expect(ops.locator("#stand-in-error")).to_contain_text(
            "only 4 blind-reviewed submission(s)"
        )
        expect(ops.locator("#stand-in-n")).to_have_value("9")  # the input is kept
        _shoot(ops, "judge-stand-in-refused")
        ops.fill("#stand-in-n", "4")
        ops.click("#stand-in-submit")
        expect(ops.locator("#message")).to_contain_text("The judge now stands in")
        expect(row).to_contain_text("yes")
        _shoot(ops, "judge-task-agreement")
        ops.click("#withdraw-clarity")
        expect(ops.locator("#message")).to_contain_text("humans score")
        expect(ops.locator("#judge-clarity td").nth(4)).to_have_text("no")
        browser.close()
    assert not [m for m in console if "Content Security Policy" in m or "Refused" in m], console
