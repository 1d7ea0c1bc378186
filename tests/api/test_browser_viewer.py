"""The submission viewer in Debian's chromium: a reviewer opens a submission, follows its
file tree to the write-up and the code, and reads them rendered; nothing in the hostile
files runs or injects an element, and the page's CSP refuses nothing it needs.

Screenshots go to $ASSESS_TEST_ARTIFACTS/browser/viewer (docs/service.md shows them).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from api.app import create_app
from api.services import Services
from tests.api.conftest import CHEAP, fake_grade, make_settings
from tests.api.files_data import TASK_ID, files, roomy_task, zipped
from tests.api.live import running
from tests.api.test_browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, _need_browser
from tests.api.test_browser_escaping import INJECTED

pytestmark = [pytest.mark.browser]

PASSWORD = "correct horse battery"


def _seed(services: Services) -> int:
    """A blind cohort, a reviewer, and Alice's graded submission holding files_data.files."""
    from sqlalchemy import select

    from api import accounts
    from api.core.db import transaction
    from api.models import Submission, TaskRow
    from api.uploads import receive

    with transaction(services.sessions) as s:
        cohort = accounts.get_or_create_cohort(s, "c1", blind=True)
        accounts.set_tasks(s, cohort, [TASK_ID])
        accounts.create_user(s, "rev", PASSWORD, "reviewer", hasher=CHEAP)
        inv = accounts.invite(s, cohort, "alice@example.org", "Alice Smith", 1)
        s.expunge_all()
    with services.sessions() as s:
        task = s.get(TaskRow, TASK_ID)
        assert task is not None
        s.expunge_all()
    sid = receive(services, inv.applicant, task, "alice.zip", [zipped(files())]).submission.id
    deadline = time.monotonic() + 60
    while True:
        with services.sessions() as s:
            status = s.scalar(select(Submission.status).where(Submission.id == sid))
        if status == "graded":
            return sid
        assert time.monotonic() < deadline, f"submission {sid} still {status}"
        time.sleep(0.05)


def test_reviewer_reads_the_write_up_and_the_code_from_the_file_tree(tmp_path: Path) -> None:
    _need_browser()
    from playwright.sync_api import expect, sync_playwright

    settings = make_settings(
        tmp_path, f"sqlite:///{tmp_path}/db.sqlite", (roomy_task(tmp_path / "tasks"),)
    )
    app = create_app(settings, grade_fn=fake_grade)
    shots = ARTIFACTS / "browser" / "viewer"
    shots.mkdir(parents=True, exist_ok=True)
    with running(app) as url, sync_playwright() as p:
        sid = _seed(app.state.services)
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        dialogs: list[str] = []
        console: list[str] = []
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.on("console", lambda m: console.append(m.text))
        page.goto(url + "/login")
        page.fill("input[name=username]", "rev")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url("**/review")

        page.goto(f"{url}/review/submissions/{sid}")
        tree = page.locator("#file-tree")
        expect(tree.get_by_role("link", name="writeup.md")).to_be_visible()
        page.screenshot(path=shots / "1-submission-file-tree.png", full_page=True)

        tree.get_by_role("link", name="writeup.md").click()
        page.wait_for_url(f"**/review/submissions/{sid}/files/writeup.md")
        rendered = page.locator("#rendered")
        expect(rendered.get_by_role("heading", name="Search method")).to_be_visible()
        expect(rendered.locator("table td", has_text="0.93")).to_be_visible()
        expect(rendered).to_contain_text("<script>alert('md-script')</script>")  # as text
        assert rendered.get_by_role("link", name="an honest link").get_attribute("rel") == (
            "noopener nofollow"
        )
        assert page.locator(INJECTED).count() == 0
        page.screenshot(path=shots / "2-writeup-md.png", full_page=True)

        page.locator("#file-tree").get_by_role("link", name="main.py").click()
        page.wait_for_url(f"**/review/submissions/{sid}/files/main.py")
        code = page.locator("#rendered .highlight")
        expect(code).to_contain_text("def search(triggers):")
        expect(code).to_contain_text("# <b>not bold</b>")
        expect(code.locator("span.k", has_text="def")).to_be_visible()  # highlighted
        assert page.locator("#rendered b").count() == 0
        page.screenshot(path=shots / "3-main-py.png", full_page=True)

        for path, name in (("analysis.ipynb", "4-notebook"), ("figures/plot.png", "5-image")):
            page.goto(f"{url}/review/submissions/{sid}/files/{path}")
            assert page.locator(INJECTED).count() == 0, path
            page.screenshot(path=shots / f"{name}.png", full_page=True)
        expect(page.locator("img#image")).to_be_visible()
        assert page.evaluate("document.querySelector('img#image').naturalWidth") == 16
        page.goto(f"{url}/review/submissions/{sid}/files/analysis.ipynb")
        expect(page.locator("#notebook")).to_contain_text("hello from the notebook")
        browser.close()
    assert dialogs == []
    assert not [m for m in console if "Content Security Policy" in m or "Refused" in m], console
