"""In a real browser (Debian's chromium via Playwright) against a live server with the real
Docker grader: an applicant uploads and sees the status turn to graded; a reviewer filters
the dashboard, opens a report, scores the rubric, and sees the composite change.

Screenshots go to $ASSESS_TEST_ARTIFACTS/browser (default .assess/test-artifacts/browser).
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from api.app import create_app
from api.services import Services
from grader.sandbox import Sandbox
from tests.api.conftest import CHEAP, PY_EXEC, RIGHT, WRONG, make_settings, zip_bytes
from tests.conftest import IN_CI, REPO

pytestmark = [pytest.mark.browser, pytest.mark.docker, pytest.mark.slow]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
ARTIFACTS = Path(os.environ.get("ASSESS_TEST_ARTIFACTS", REPO / ".assess" / "test-artifacts"))


def _need_browser() -> None:
    reason = ""
    if shutil.which(CHROMIUM) is None:
        reason = f"{CHROMIUM} is missing (scripts/ensure-chromium.sh installs it)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            reason = "the playwright package is missing (pip install -e '.[dev]')"
    if reason:
        if IN_CI:
            pytest.fail(f"CI requires the browser tests to run: {reason}")
        pytest.skip(reason)


@dataclass
class Live:
    url: str
    services: Services
    shots: Path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
def live(
    tmp_path: Path, rubric_task: Path, sandbox: Sandbox, request: pytest.FixtureRequest
) -> Iterator[Live]:
    _need_browser()
    import uvicorn

    port = _free_port()
    settings = make_settings(
        tmp_path, f"sqlite:///{tmp_path}/db.sqlite", (PY_EXEC, rubric_task),
        base_url=f"http://127.0.0.1:{port}",
    )  # fmt: skip
    app = create_app(settings)  # the real Docker grader
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", ws="none")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    shots = ARTIFACTS / "browser" / request.node.name.replace("/", "_")
    shutil.rmtree(shots, ignore_errors=True)
    shots.mkdir(parents=True)
    try:
        yield Live(url=f"http://127.0.0.1:{port}", services=app.state.services, shots=shots)
    finally:
        server.should_exit = True
        thread.join(30)


def _seed(live: Live) -> dict[str, str]:
    """An operator's work: a blind cohort with both tasks, a reviewer, two applicants."""
    from api import accounts
    from api.core.db import transaction

    with transaction(live.services.sessions) as s:
        cohort = accounts.get_or_create_cohort(s, "browser", blind=True)
        accounts.set_tasks(s, cohort, ["py-exec", "py-rubric"])
        accounts.create_user(s, "rev", "correct horse battery", hasher=CHEAP)
        links = {
            who: accounts.invite(s, cohort, f"{who}@example.org", who.title(), 1).link(live.url)
            for who in ("alice", "bob")
        }
    return links


def _browser():  # type: ignore[no-untyped-def]
    from playwright.sync_api import sync_playwright

    return sync_playwright()


def test_applicant_uploads_and_sees_graded(live: Live, tmp_path: Path) -> None:
    links = _seed(live)
    upload = tmp_path / "my-answer.zip"
    upload.write_bytes(zip_bytes(RIGHT))
    with _browser() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.goto(links["alice"])
        assert page.url.endswith("/portal")
        page.screenshot(path=live.shots / "1-portal.png", full_page=True)
        form = page.locator("#task-py-exec form")
        form.locator("input[type=file]").set_input_files(upload)
        form.locator("button[type=submit]").click()
        page.wait_for_url("**/portal?received=*")
        status = page.locator("[data-mine]").first
        assert status.get_attribute("data-state") in ("received", "being checked", "checked")
        page.screenshot(path=live.shots / "2-received.png", full_page=True)
        # portal.js polls the state and reloads once grading is done.
        page.wait_for_selector("[data-mine][data-state=checked]", timeout=120_000)
        page.screenshot(path=live.shots / "3-graded.png", full_page=True)
        text = page.locator("#submissions").inner_text()
        assert "checked" in text and "Wrote a result" not in text  # not released yet
        _release(live)
        page.reload()
        text = page.locator("#submissions").inner_text()
        assert "Wrote a result" in text
        assert "Answer is correct" not in text  # reviewer-only checks stay hidden
        browser.close()


def _release(live: Live) -> None:
    """Release every cohort's results (what an operator does once reviews are done)."""
    from sqlalchemy import update

    from api.models import Cohort, utcnow

    with live.services.sessions() as s, s.begin():
        s.execute(update(Cohort).values(results_released_at=utcnow(), results_released_by="ops"))


def _wait_graded(live: Live, n: int) -> None:
    from sqlalchemy import func, select

    from api.models import Submission

    deadline = time.monotonic() + 120
    while True:
        with live.services.sessions() as s:
            done = s.scalar(select(func.count(Submission.id)).where(Submission.status == "graded"))
        if done == n:
            return
        assert time.monotonic() < deadline, "gradings did not finish"
        time.sleep(0.2)


def test_reviewer_filters_scores_and_composite_updates(live: Live) -> None:
    from api.models import Applicant, TaskRow
    from api.uploads import receive

    _seed(live)
    with live.services.sessions() as s:
        task = s.get(TaskRow, "py-rubric")
        people = {a.email.split("@")[0]: a for a in s.query(Applicant)}
    assert task is not None
    right = receive(live.services, people["alice"], task, "a.zip", [zip_bytes(RIGHT)])
    receive(live.services, people["bob"], task, "b.zip", [zip_bytes(WRONG)])
    _wait_graded(live, 2)
    with _browser() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.goto(live.url + "/review")
        assert "/login" in page.url
        page.fill("input[name=username]", "rev")
        page.fill("input[name=password]", "correct horse battery")
        page.click("button[type=submit]")
        page.wait_for_url("**/review")
        assert page.locator("tr.row").count() == 2
        page.screenshot(path=live.shots / "1-dashboard.png", full_page=True)
        page.select_option("select[name=task]", "py-rubric")
        page.fill("input[name=score_min]", "90")  # percent, as the table shows
        page.click("#apply")
        page.wait_for_url("**score_min=90**")
        rows = page.locator("tr.row")
        assert rows.count() == 1
        assert rows.first.get_attribute("data-id") == str(right.submission.id)
        assert "alice" not in page.content().lower()  # blind review
        page.screenshot(path=live.shots / "2-filtered.png", full_page=True)
        rows.first.locator("a").first.click()
        page.wait_for_url(f"**/review/submissions/{right.submission.id}?*")  # the filter travels
        report = page.locator("#report")  # the report's checks, inline in the page
        report.locator("text=Answer is correct").first.wait_for(timeout=30_000)
        before = page.locator("#composite").inner_text()
        page.screenshot(path=live.shots / "3-report.png", full_page=True)
        page.fill("input[name=score_clarity]", "5")
        page.fill("input[name=score_judgement]", "5")
        page.select_option("#tier-select", "Meets")
        page.check("#stay")  # saving otherwise moves on to the next in the list
        page.click("#save-review")
        page.wait_for_selector("#saved")
        after = page.locator("#composite").inner_text()
        assert before != after, (before, after)
        assert page.locator("#task-score").inner_text() == "75%"
        assert page.locator("#tier").inner_text() == "Meets"
        report.locator("text=Answer is correct").first.wait_for(timeout=30_000)
        page.screenshot(path=live.shots / "4-scored.png", full_page=True)
        browser.close()
