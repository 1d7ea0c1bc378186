"""Assignment and my queue in Debian's chromium: an operator previews and runs an assignment
on /admin/assignments, a reviewer opens My queue, presses Start and lands on a submission
from their queue; progress shows both. At 1280 and 390 px nothing scrolls sideways.

Screenshots go to $ASSESS_TEST_ARTIFACTS/workbench (docs/service.md shows them).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from api.app import create_app
from api.services import Services
from tests.api.conftest import CHEAP, PY_EXEC, RIGHT, WRONG, fake_grade, make_settings, zip_bytes
from tests.api.live import running
from tests.api.test_browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, _need_browser

pytestmark = [pytest.mark.browser]

PASSWORD = "correct horse battery"
WIDTHS = (1280, 390)


def _seed(services: Services, rubric_task: str) -> list[int]:
    """A blind cohort, an operator, two reviewers, three applicants' graded submissions."""
    from sqlalchemy import select

    from api import accounts
    from api.core.db import transaction
    from api.models import Submission, TaskRow
    from api.uploads import receive

    with transaction(services.sessions) as s:
        cohort = accounts.get_or_create_cohort(s, "spring", blind=True)
        accounts.set_tasks(s, cohort, ["py-exec", rubric_task])
        accounts.create_user(s, "ops", PASSWORD, "operator", hasher=CHEAP)
        for name in ("rev", "rev2"):
            accounts.create_user(s, name, PASSWORD, "reviewer", hasher=CHEAP)
        invs = [
            accounts.invite(s, cohort, f"{n}@example.org", n.title(), 1)
            for n in ("alice", "bob", "carol")
        ]
        s.expunge_all()
    with services.sessions() as s:
        task = s.get(TaskRow, rubric_task)
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
            return ids
        assert time.monotonic() < deadline, f"still {states}"
        time.sleep(0.05)


def _review_two_each(services: Services, ids: list[int]) -> None:
    """rev scores both submissions 90 %, rev2 40 %: a disagreement on each."""
    from sqlalchemy import select

    from api.core.db import transaction
    from api.models import Submission, User
    from api.reviewing import ReviewInput, save_review

    with transaction(services.sessions) as s:
        for name, score, tier in (("rev", 9.0, "Exceeds"), ("rev2", 4.0, "Near")):
            user = s.scalar(select(User).where(User.username == name))
            assert user is not None
            for sid in ids:
                sub = s.get(Submission, sid)
                assert sub is not None
                data = ReviewInput(
                    scores={"clarity": score, "judgement": score}, tier=tier,
                    integrity_flag=False, integrity_note="", comment="",
                )  # fmt: skip
                save_review(s, sub, user, data)


def _no_sideways_scroll(page: object, width: int, where: str) -> None:
    scroll = page.evaluate("document.documentElement.scrollWidth")  # type: ignore[attr-defined]
    assert scroll <= width, f"{where} at {width}px scrolls sideways ({scroll}px)"


def _shoot(page: object, shots: Path, name: str) -> None:
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})  # type: ignore[attr-defined]
        _no_sideways_scroll(page, width, name)
        page.screenshot(path=shots / f"{name}-{width}.png", full_page=True)  # type: ignore[attr-defined]
    page.set_viewport_size({"width": 1280, "height": 900})  # type: ignore[attr-defined]


def test_operator_assigns_and_reviewer_starts_from_my_queue(
    tmp_path: Path, rubric_task: Path
) -> None:
    _need_browser()
    from playwright.sync_api import expect, sync_playwright

    settings = make_settings(tmp_path, f"sqlite:///{tmp_path}/db.sqlite", (PY_EXEC, rubric_task))
    app = create_app(settings, grade_fn=fake_grade)
    shots = ARTIFACTS / "workbench"
    shots.mkdir(parents=True, exist_ok=True)
    with running(app) as url, sync_playwright() as p:
        ids = _seed(app.state.services, rubric_task.name)
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        console: list[str] = []

        def login(name: str) -> object:
            page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
            page.on("console", lambda m: console.append(m.text))
            page.goto(url + "/login")
            page.fill("input[name=username]", name)
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url("**/review*")
            return page

        ops = login("ops")
        ops.goto(url + "/admin/assignments")  # type: ignore[attr-defined]
        ops.get_by_label("Reviewers per submission").fill("2")  # type: ignore[attr-defined]
        ops.get_by_role("checkbox", name="ops (operator").uncheck()  # type: ignore[attr-defined]
        ops.click("#preview")  # type: ignore[attr-defined]
        result = ops.locator("#result")  # type: ignore[attr-defined]
        expect(result).to_contain_text("Preview, nothing stored yet")
        expect(result).to_contain_text("6 new assignment(s) would be created")
        ops.click("#assign")  # type: ignore[attr-defined]
        expect(ops.locator("#result")).to_contain_text("6 new assignment(s) were created")  # type: ignore[attr-defined]
        expect(ops.locator("#per-reviewer")).to_contain_text("rev: +3")  # type: ignore[attr-defined]
        _shoot(ops, shots, "assignments")

        rev = login("rev")
        rev.goto(url + "/review/queue")  # type: ignore[attr-defined]
        expect(rev.locator("#count-assigned")).to_have_text("3")  # type: ignore[attr-defined]
        expect(rev.locator("#queue")).not_to_contain_text("example.org")  # type: ignore[attr-defined]
        _shoot(rev, shots, "queue")
        rev.get_by_role("link", name="Start reviewing").click()  # type: ignore[attr-defined]
        rev.wait_for_url(f"**/review/submissions/{ids[0]}?queue=mine")  # type: ignore[attr-defined]
        rev.screenshot(path=shots / "queue-start-lands.png", full_page=True)  # type: ignore[attr-defined]

        ops.goto(url + "/review/progress")  # type: ignore[attr-defined]
        row = ops.locator("#by-reviewer tr", has_text="rev2")  # type: ignore[attr-defined]
        expect(row).to_contain_text("no pace yet")
        _review_two_each(app.state.services, ids[:2])
        ops.reload()  # type: ignore[attr-defined]
        expect(row).to_contain_text("2.0 per hour")
        expect(row).to_contain_text("about 30 min")
        task_row = ops.locator("#by-task tr", has_text=rubric_task.name)  # type: ignore[attr-defined]
        expect(task_row.locator("td").nth(2)).to_have_text("2")  # needs adjudication
        _shoot(ops, shots, "progress")
        ops.goto(f"{url}/review/tasks/{rubric_task.name}")  # type: ignore[attr-defined]
        expect(ops.locator("#calibration-table")).to_contain_text("+50 points")  # type: ignore[attr-defined]
        _shoot(ops, shots, "task-calibration")
        browser.close()
    assert not [m for m in console if "Content Security Policy" in m or "Refused" in m], console
