"""The dashboard in Debian's chromium: a reviewer searches by pseudonym, sorts by a column
header, picks a page size, walks the keyset pages (next, last), filters the automatic
integrity flags, meets an error page in the site's layout, and the page fits 390 px; an
applicant reads hostile Markdown instructions, rendered and inert.

Screenshots go to $ASSESS_TEST_ARTIFACTS/workbench (default .assess/test-artifacts/workbench).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from api.app import create_app
from api.core.security import pseudonym
from api.services import Services
from tests.api.conftest import CHEAP, fake_grade, make_settings
from tests.api.live import running
from tests.api.test_browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, _need_browser
from tests.api.test_dashboard import hostile_instructions_task
from tests.conftest import IN_CI

pytestmark = [pytest.mark.browser]

PASSWORD = "correct horse battery"
APPLICANTS = 40  # each with two uploads of one task: 40 counted rows, two pages of 25
FLAGGED = {3, 17}  # applicants whose py-exec submission the automatic pass flagged


def _seed(services: Services) -> tuple[dict[int, int], str]:
    """A blind cohort, a reviewer, 40 applicants with two graded uploads each (the first
    superseded); returns {applicant number: applicant id} and an invitation link."""
    from sqlalchemy import insert

    from api import accounts
    from api.core.db import transaction
    from api.models import Applicant, Submission, TaskRow, utcnow

    now = utcnow()
    with transaction(services.sessions) as s:
        cohort = accounts.get_or_create_cohort(s, "c1", blind=True)
        tasks = [t.id for t in s.query(TaskRow).all()]
        accounts.set_tasks(s, cohort, tasks)
        accounts.create_user(s, "rev", PASSWORD, "reviewer", hasher=CHEAP)
        inv = accounts.invite(s, cohort, "reader@example.org", "Reader", 1)
        link = inv.link("")  # the path; the live server's address goes in front
        people = {}
        for n in range(1, APPLICANTS + 1):
            a = Applicant(
                cohort_id=cohort.id,
                email=f"person{n}@example.org",
                name=f"Person {n}",
                token_hash=f"{n:064d}",
                token_expires_at=now + timedelta(days=1),
            )
            s.add(a)
            s.flush()
            people[n] = a.id
        rows = []
        for n, aid in people.items():
            for k in (0, 1):  # an earlier upload (superseded), then the one that counts
                score = (n * 7 + k * 3) % 11
                rows.append(
                    {"applicant_id": aid, "task_id": tasks[0],
                     "cohort_id": cohort.id, "blob_sha256": f"{n:032x}{k:032x}",
                     "filename": "s.zip", "size": 10, "content_sha256": f"{n}-{k}",
                     "files": 1, "received_at": now - timedelta(minutes=n * 2 + k),
                     "status": "graded", "score": score, "max_score": 10,
                     "task_score": score / 10, "review_count": 0, "counted": k == 1,
                     "integrity_auto": k == 1 and n in FLAGGED}
                )  # fmt: skip
        s.execute(insert(Submission), rows)
    return people, link


def test_reviewer_searches_sorts_pages_and_filters_the_dashboard(tmp_path: Path) -> None:
    _need_browser()
    from playwright.sync_api import expect, sync_playwright

    task = hostile_instructions_task(tmp_path / "tasks")
    settings = make_settings(tmp_path, f"sqlite:///{tmp_path}/db.sqlite", (task,))
    app = create_app(settings, grade_fn=fake_grade)
    shots = ARTIFACTS / "workbench"
    shots.mkdir(parents=True, exist_ok=True)
    with running(app) as url, sync_playwright() as p:
        services: Services = app.state.services
        people, link = _seed(services)
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
        rows = page.locator("#submissions tbody tr.row")
        # Counted only: one row per applicant (the superseded uploads are left out).
        expect(page.locator("h1")).to_contain_text(f"({APPLICANTS})")
        expect(rows).to_have_count(APPLICANTS)
        page.screenshot(path=shots / "dashboard-1280.png", full_page=False)

        # Search by (part of) a pseudonym: that applicant's row only; never by e-mail.
        label = pseudonym(services.secret, people[12])
        page.get_by_label("Search").fill(label[:6].lower() + label[6:])
        page.click("#apply")
        expect(rows.first.locator(".applicant")).to_have_text(label)
        assert all(t == label for t in rows.locator(".applicant").all_inner_texts())
        page.get_by_label("Search").fill("person12@example.org")
        page.click("#apply")
        expect(rows).to_have_count(0)
        expect(page.locator("#submissions tbody")).to_contain_text("No submissions match")
        page.get_by_role("link", name="Clear").click()

        # Sort by a header: the column says so (aria-sort) and the scores descend.
        page.get_by_role("link", name="Task score").click()
        header = page.locator('th[data-sort="score"]')
        expect(header).to_have_attribute("aria-sort", "descending")
        scores = [int(t.rstrip("%")) for t in rows.locator(".task-score").all_inner_texts()]
        assert scores == sorted(scores, reverse=True) and len(scores) == APPLICANTS
        page.get_by_role("link", name="Task score").click()
        expect(header).to_have_attribute("aria-sort", "ascending")

        # Page size 25, then the keyset pages: next, then last.
        page.get_by_label("Rows per page").select_option("25")
        page.click("#apply")
        expect(rows).to_have_count(25)
        expect(page.locator("#page-number")).to_have_text("1")
        expect(page.locator("#page-count")).to_have_text("2")
        first_ids = rows.evaluate_all("rs => rs.map(r => r.dataset.id)")
        page.locator("#next-page").click()
        expect(page.locator("#page-number")).to_have_text("2")
        expect(rows).to_have_count(APPLICANTS - 25)
        assert not set(first_ids) & set(rows.evaluate_all("rs => rs.map(r => r.dataset.id)"))
        assert "after=" in page.url
        expect(header).to_have_attribute("aria-sort", "ascending")  # the order is kept
        page.locator("#first-page").click()
        expect(page.locator("#page-number")).to_have_text("1")
        page.locator("#last-page").click()
        expect(page.locator("#page-number")).to_have_text("2")
        page.screenshot(path=shots / "dashboard-last-page.png", full_page=True)
        # A row link carries the filter for the review page's previous / next.
        href = rows.first.locator("a").first.get_attribute("href") or ""
        assert "sort=score" in href and "order=asc" in href and "per_page=25" in href

        # The automatic integrity flags, visible to a reviewer who has reviewed nothing.
        page.goto(url + "/review")
        page.get_by_label("Integrity flag").select_option("auto")
        page.click("#apply")
        expect(rows).to_have_count(len(FLAGGED))
        expect(rows.first.locator(".flags")).to_contain_text("similarity (automatic)")
        page.screenshot(path=shots / "dashboard-flagged.png", full_page=False)

        # Superseded uploads on request, marked.
        page.get_by_label("Uploads").select_option("only")
        page.get_by_label("Integrity flag").select_option("")
        page.click("#apply")
        expect(rows).to_have_count(APPLICANTS)
        expect(rows.first).to_contain_text("superseded by #")

        # A bad filter is named in the page, the input kept.
        page.goto(url + "/review?score_min=150")
        expect(page.locator("#filter-errors")).to_contain_text(
            "minimum score must be a percentage from 0 to 100"
        )
        expect(page.get_by_label("Score from (%)")).to_have_value("150")
        page.screenshot(path=shots / "dashboard-bad-filter.png", full_page=False)

        # An error page in the site's layout with a way back.
        response = page.goto(url + "/review/submissions/99999")
        assert response is not None and response.status == 404
        expect(page.locator("#error-message")).to_have_text("no submission #99999")
        page.screenshot(path=shots / "error-404.png", full_page=False)
        page.get_by_role("link", name="Back to the dashboard").click()
        page.wait_for_url("**/review")

        # 390 px wide: nothing scrolls sideways but the table's own box.
        narrow = browser.new_page(viewport={"width": 390, "height": 844})
        narrow.context.add_cookies(page.context.cookies())
        for path, name in (
            ("/review", "dashboard-390.png"),
            ("/review/submissions/99999", "error-390.png"),
        ):
            narrow.goto(url + path)
            width = narrow.evaluate("document.documentElement.scrollWidth")
            assert width <= 390, f"{path}: {width} px wide"
            narrow.screenshot(path=shots / name, full_page=True)

        # An applicant's instructions: Markdown rendered; script, handlers, javascript: links
        # and remote images inert.
        applicant = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
        applicant.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        requests: list[str] = []
        applicant.on("request", lambda r: requests.append(r.url))
        applicant.goto(url + link)
        applicant.goto(url + "/portal/tasks/py-exec/instructions")
        body = applicant.locator("#instructions")
        expect(body.get_by_role("heading", name="Linear probe")).to_be_visible()
        expect(body.locator("table td", has_text="fit")).to_be_visible()
        expect(body).to_contain_text("<script>alert('instructions')</script>")  # as text
        expect(body).to_contain_text("[image: remote figure]")
        assert body.locator("img, script, iframe").count() == 0
        assert body.locator("a[href^='javascript']").count() == 0
        expect(body.get_by_role("link", name="the docs")).to_have_attribute(
            "rel", "noopener nofollow"
        )
        applicant.screenshot(path=shots / "instructions.png", full_page=True)
        browser.close()
    assert dialogs == []
    assert not [r for r in requests if "evil.example" in r], requests
    assert not [m for m in console if "Content Security Policy" in m or "Refused" in m], console


def test_dashboard_error_and_instructions_pages_pass_axe(tmp_path: Path) -> None:
    """axe-core finds no serious or critical violation on the dashboard (plain, sorted and
    paged, with a bad filter), an error page, and an applicant's instructions."""
    _need_browser()
    from playwright.sync_api import sync_playwright

    from tests.api.a11y import AxeUnavailable, axe_context, axe_script, axe_violations, describe

    try:
        axe_script()
    except AxeUnavailable as e:
        if IN_CI:
            pytest.fail(f"CI requires axe-core: {e}")
        pytest.skip(f"axe-core unavailable: {e}")
    task = hostile_instructions_task(tmp_path / "tasks")
    settings = make_settings(tmp_path, f"sqlite:///{tmp_path}/db.sqlite", (task,))
    app = create_app(settings, grade_fn=fake_grade)
    with running(app) as url, sync_playwright() as p:
        _, link = _seed(app.state.services)
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        found: dict[str, str] = {}
        for width in (1280, 390):
            context = axe_context(browser, viewport={"width": width, "height": 900})
            page = context.new_page()
            page.goto(url + "/login")
            page.fill("input[name=username]", "rev")
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url("**/review")
            for path in (
                "/review",
                "/review?sort=score&order=asc&per_page=25&last=1&flagged=auto&superseded=include",
                "/review?score_min=150",
                "/review/submissions/99999",
            ):
                page.goto(url + path)
                violations = axe_violations(page)
                if violations:
                    found[f"{width} {path}"] = describe(violations)
            applicant = axe_context(browser, viewport={"width": width, "height": 900}).new_page()
            applicant.goto(url + link)
            applicant.goto(url + "/portal/tasks/py-exec/instructions")
            violations = axe_violations(applicant)
            if violations:
                found[f"{width} instructions"] = describe(violations)
        browser.close()
    assert found == {}, "\n".join(f"{k}:\n{v}" for k, v in found.items())
