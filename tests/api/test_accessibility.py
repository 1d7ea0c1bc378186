"""Every page of the service, in Debian's chromium at 1280 px and 390 px wide: zero serious or
critical axe-core violations, and no sideways scroll (issue 12 item 10). Then, on SQLite and
PostgreSQL without a browser: the layout's landmarks and navigation, forms that keep what was
typed after an error, and an audit log written for people.

One seeded site serves the whole module: a blind cohort, an operator, two reviewers, Alice's
graded submission holding every kind of file the viewer shows (tests/api/files_data), reviewed
once by the second reviewer so the audit log and the dashboard have scores in them, and Bob's;
both assigned to reviewers (one declared conflict), so queues and progress have rows.
Each page is opened by the role that uses it. A page whose route is not there yet (the
router's 404) is skipped with its URL named, never passed silently.

Screenshots of every page at 390 px go to $ASSESS_TEST_ARTIFACTS/a11y.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from api.app import create_app
from api.services import Services
from tests.api.a11y import AxeUnavailable, axe_context, axe_script, axe_violations, describe
from tests.api.conftest import (
    CHEAP,
    RIGHT,
    RUBRIC_TOML,
    WRONG,
    World,
    fake_grade,
    make_settings,
    unavailable,
)
from tests.api.files_data import TASK_ID, files, roomy_task, zipped
from tests.api.live import running
from tests.api.test_browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, _need_browser
from tests.conftest import REPO

PASSWORD = "correct horse battery"
SHOTS = ARTIFACTS / "a11y"
WIDTHS = (1280, 390)


@dataclass(frozen=True)
class Page:
    """One page to check: who opens it, its path (``{sid}``/``{cid}`` filled in), the status
    it answers with when it exists."""

    name: str
    role: str  # anonymous, applicant, reviewer, operator
    path: str
    status: int = 200


PAGES = (
    Page("login", "anonymous", "/login"),
    Page("portal-expired", "anonymous", "/portal-expired", 401),
    Page("docs", "anonymous", "/docs"),
    Page("portal", "applicant", "/portal"),
    Page("instructions", "applicant", f"/portal/tasks/{TASK_ID}/instructions"),
    Page("dashboard", "reviewer", "/review"),
    Page("submission", "reviewer", "/review/submissions/{sid}"),
    Page("file-markdown", "reviewer", "/review/submissions/{sid}/files/writeup.md"),
    Page("file-code", "reviewer", "/review/submissions/{sid}/files/main.py"),
    Page("file-notebook", "reviewer", "/review/submissions/{sid}/files/analysis.ipynb"),
    Page("file-image", "reviewer", "/review/submissions/{sid}/files/figures/plot.png"),
    Page("file-csv", "reviewer", "/review/submissions/{sid}/files/data/results.csv"),
    Page("task", "reviewer", f"/review/tasks/{TASK_ID}"),
    Page("cohort", "reviewer", "/review/cohorts/{cid}"),
    Page("not-found", "reviewer", "/review/submissions/999999", 404),
    Page("queue", "reviewer", "/review/queue"),
    Page("progress", "reviewer", "/review/progress"),
    Page("admin", "operator", "/admin"),
    Page("assignments", "operator", "/admin/assignments"),
)


def _seed(services: Services, base_url: str) -> dict[str, Any]:
    """The site's people, Alice's graded and once-reviewed submission, Bob's, and who is
    assigned to review them."""
    from sqlalchemy import select

    from api import accounts, assignment
    from api.core.db import transaction
    from api.models import Submission, TaskRow, User
    from api.reviewing import ReviewInput, save_review
    from api.uploads import receive

    with transaction(services.sessions) as s:
        cohort = accounts.get_or_create_cohort(s, "c1", blind=True)
        accounts.set_tasks(s, cohort, [TASK_ID])
        for name, role in (("ops", "operator"), ("rev", "reviewer"), ("rev2", "reviewer")):
            accounts.create_user(s, name, PASSWORD, role, hasher=CHEAP)
        inv = accounts.invite(s, cohort, "alice@example.org", "Alice Smith", 1)
        bob = accounts.invite(s, cohort, "bob@example.org", "Bob Jones", 1)
        link = inv.link(base_url)
        cid = cohort.id
        s.expunge_all()
    with services.sessions() as s:
        task = s.get(TaskRow, TASK_ID)
        assert task is not None
        s.expunge_all()
    sid = receive(services, inv.applicant, task, "alice.zip", [zipped(files())]).submission.id
    other = receive(services, bob.applicant, task, "bob.zip", [zipped({"main.py": b"A = 41\n"})])
    deadline = time.monotonic() + 60
    while True:
        with services.sessions() as s:
            done = s.scalars(select(Submission.status).where(Submission.status == "graded"))
        if len(done.all()) == 2:
            break
        assert time.monotonic() < deadline, "the two submissions are not graded yet"
        time.sleep(0.05)
    with transaction(services.sessions) as s:
        sub = s.get(Submission, sid)
        rev2 = s.scalar(select(User).where(User.username == "rev2"))
        assert sub is not None and rev2 is not None
        # Queues, progress and the assignment page with rows in them: two reviewers on each
        # counted submission, except where rev2 declared a conflict with Bob (left unfilled).
        assignment.declare_conflict(s, rev2, other.submission.applicant_id, "same lab", actor="ops")
        plan = assignment.plan_auto(
            s, cohort_id=cid, task_id=None, per_submission=2, reviewer_ids=None
        )
        assignment.apply(s, plan, actor="ops")
        review = ReviewInput(
            scores={"clarity": 7, "judgement": 6},
            tier=None,
            integrity_flag=False,
            integrity_note="",
            comment="Readable; the grid search is justified.",
        )
        save_review(s, sub, rev2, review)
    return {"sid": sid, "cid": cid, "link": link}


@dataclass
class Site:
    url: str
    ids: dict[str, Any]
    contexts: dict[str, Any]


def _sign_in(context: Any, url: str, username: str) -> None:
    page = context.new_page()
    page.goto(url + "/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/review")
    page.close()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    _need_browser()
    try:
        axe_script()
    except AxeUnavailable as e:
        unavailable("axe-core", str(e))
    from playwright.sync_api import sync_playwright

    tmp = tmp_path_factory.mktemp("a11y")
    task = roomy_task(tmp / "tasks")
    # A rubric, so the review page shows its scoring form (half the mark is the rubric's).
    (task / "rubric.toml").write_text(RUBRIC_TOML)
    toml = (task / "task.toml").read_text()
    toml = toml.replace(
        "[scoring]\nmax_score = 10", "[scoring]\nmax_score = 10\nautomatic_weight = 0.5"
    )
    assert "automatic_weight" in toml
    (task / "task.toml").write_text(toml)
    app = create_app(make_settings(tmp, f"sqlite:///{tmp}/db.sqlite", (task,)), grade_fn=fake_grade)
    SHOTS.mkdir(parents=True, exist_ok=True)
    with running(app) as url, sync_playwright() as p:
        ids = _seed(app.state.services, url)
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        contexts = {
            role: axe_context(browser)
            for role in ("anonymous", "applicant", "reviewer", "operator")
        }
        _sign_in(contexts["reviewer"], url, "rev")
        _sign_in(contexts["operator"], url, "ops")
        opener = contexts["applicant"].new_page()
        opener.goto(ids["link"])  # the invitation link signs Alice in
        assert opener.url.endswith("/portal"), opener.url
        opener.close()
        try:
            yield Site(url=url, ids=ids, contexts=contexts)
        finally:
            browser.close()


@pytest.mark.browser
@pytest.mark.parametrize("width", WIDTHS, ids=[f"{w}px" for w in WIDTHS])
@pytest.mark.parametrize("spec", PAGES, ids=[p.name for p in PAGES])
def test_page_is_accessible_and_fits(site: Site, spec: Page, width: int) -> None:
    url = site.url + spec.path.format(**site.ids)
    page = site.contexts[spec.role].new_page()
    page.set_viewport_size({"width": width, "height": 900})
    try:
        response = page.goto(url)
        assert response is not None
        if response.status == 404 and spec.status != 404:
            pytest.skip(f"{spec.path} not built yet (404 from the router)")
        assert response.status == spec.status, f"{url}: {response.status}"
        page.wait_for_load_state("networkidle")
        if spec.name == "docs":  # Swagger UI draws the page from the OpenAPI document
            page.wait_for_selector(".opblock-tag", timeout=15_000)
        if width == 390:
            page.screenshot(path=SHOTS / f"{spec.name}-390.png", full_page=True)
        _assert_accessible(page, width)
    finally:
        page.close()


def _assert_accessible(page: Any, width: int) -> None:
    """No serious or critical axe violation, and nothing wider than the viewport."""
    found = axe_violations(page)
    assert found == [], f"{page.url} at {width}px:\n{describe(found)}"
    wide = page.evaluate("document.documentElement.scrollWidth")
    assert wide <= width, (
        f"{page.url} at {width}px scrolls sideways: {wide}px wide; widest: {_widest(page)}"
    )


def _widest(page: Any) -> str:
    """The elements and text reaching furthest right, to say what makes a page scroll
    sideways (a long unbreakable word overflows its box without widening it)."""
    out: list[Any] = page.evaluate(
        """() => {
             const name = (e) => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')
               + (e.classList.length ? '.' + [...e.classList].join('.') : '');
             const found = [...document.querySelectorAll('body *')]
               .map(e => [e.getBoundingClientRect().right, name(e)]);
             const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
             for (let n = walk.nextNode(); n; n = walk.nextNode()) {
               const range = document.createRange();
               range.selectNodeContents(n);
               const text = n.textContent.trim().slice(0, 40);
               if (text) found.push([range.getBoundingClientRect().right,
                                     `text "${text}" in ${name(n.parentElement)}`]);
             }
             return found.sort((a, b) => b[0] - a[0]).slice(0, 5);
           }"""
    )
    return ", ".join(f"{name} ({right:.0f}px)" for right, name in out)


# The states a page is in after a form is sent, checked like the pages.
AFTER_FORMS = ("login-refused", "review-refused", "invite-refused-and-sent")


@pytest.mark.browser
@pytest.mark.parametrize("width", WIDTHS, ids=[f"{w}px" for w in WIDTHS])
@pytest.mark.parametrize("case", AFTER_FORMS)
def test_pages_after_a_form_is_sent(site: Site, case: str, width: int) -> None:
    role = {"login-refused": "anonymous", "review-refused": "reviewer"}.get(case, "operator")
    # A failed sign-in gets a context of its own: the shared anonymous one stays as it was.
    context = axe_context(site.contexts["anonymous"].browser) if case == "login-refused" else None
    page = (context or site.contexts[role]).new_page()
    page.set_viewport_size({"width": width, "height": 900})
    try:
        if case == "login-refused":
            page.goto(site.url + "/login")
            page.fill("input[name=username]", "nobody")  # no such account: locks nobody out
            page.fill("input[name=password]", "wrong password")
            page.click("button[type=submit]")
            page.wait_for_selector("#status .error")
            assert page.input_value("input[name=username]") == "nobody"
        elif case == "review-refused":
            page.goto(site.url + "/review/submissions/{sid}".format(**site.ids))
            page.fill("input[name=score_clarity]", "99")  # out of range: refused, not saved
            page.click("#save-review")
            page.wait_for_load_state("networkidle")
            assert page.input_value("input[name=score_clarity]") == "99"
        else:
            page.goto(site.url + "/admin")
            page.evaluate("document.getElementById('invite-form').noValidate = true")
            page.fill("input[name=email]", "not-an-email")  # the server's check this time
            page.click("#invite-form button[type=submit]")
            page.wait_for_selector("#status .error")
            assert page.input_value("input[name=email]") == "not-an-email"
            _assert_accessible(page, width)
            page.fill("input[name=email]", f"dora-{width}@example.org")
            page.fill("input[name=name]", "Dora Example")
            page.click("#invite-form button[type=submit]")
            page.wait_for_selector("#invitations")  # the links, shown once: long lines
        if width == 390:
            page.screenshot(path=SHOTS / f"{case}-390.png", full_page=True)
        _assert_accessible(page, width)
    finally:
        page.close()
        if context is not None:
            context.close()


@pytest.mark.browser
def test_axe_finds_what_it_should(site: Site) -> None:
    """The check can fail: a page with an unlabelled input and an image without alt text is
    reported with both rules, so an empty result elsewhere means something."""
    page = site.contexts["anonymous"].new_page()
    try:
        page.goto(site.url + "/login")
        page.evaluate(
            """() => {
                const main = document.querySelector('main');
                const input = document.createElement('input');
                input.id = 'unlabelled';
                main.append(input);
                const img = document.createElement('img');
                img.src = '/static/nothing.png';
                main.append(img);
            }"""
        )
        rules = {v["id"] for v in axe_violations(page)}
        assert {"label", "image-alt"} <= rules, rules
    finally:
        page.close()


@pytest.mark.browser
def test_axe_is_pinned(site: Site) -> None:
    """The engine is the version scripts/ensure-axe.sh pins (a clean clone gets the same)."""
    pinned = re.search(r"^VERSION=(\S+)$", (REPO / "scripts" / "ensure-axe.sh").read_text(), re.M)
    assert pinned is not None
    page = site.contexts["anonymous"].new_page()
    try:
        page.goto(site.url + "/login")
        axe_violations(page)
        assert page.evaluate("window.axe.version") == pinned.group(1)
    finally:
        page.close()


# ----------------------------------------------------------------- the layout, without a browser


def _html(client: Any, url: str, status: int = 200) -> str:
    r = client.get(url, headers={"Accept": "text/html"})
    assert r.status_code == status, (url, r.status_code, r.text[:300])
    text: str = r.text
    return text


def test_layout_has_skip_link_landmarks_and_role_navigation(world: World) -> None:
    from tests.api.files_data import elements

    html = _html(world.reviewer, "/review")
    found = elements(html)
    first_link = next(attrs for tag, attrs in found if tag == "a")
    assert first_link["href"] == "#main" and first_link.get("class") == "skip-link"
    assert ("main", {"id": "main", "tabindex": "-1"}) in found
    status = [attrs for tag, attrs in found if attrs.get("id") == "status"]
    assert status and status[0]["role"] == "status" and status[0]["aria-live"] == "polite"
    navs = [attrs for tag, attrs in found if tag == "nav"]
    assert {"aria-label": "Main"} in navs
    nav = html.split('<nav aria-label="Main">', 1)[1].split("</nav>", 1)[0]
    links = {attrs["href"]: attrs for tag, attrs in elements(nav) if tag == "a"}
    assert links["/review"].get("aria-current") == "page"  # the page we are on
    assert [a for a in links.values() if "aria-current" in a] == [links["/review"]]
    assert "/review/queue" in links and "/review/progress" in links
    assert "/admin" not in links and "/admin/assignments" not in links  # operators only
    ops = {
        a["href"] for t, a in elements(_html(world.operator, "/admin")) if t == "a" and "href" in a
    }
    assert {"/admin", "/admin/assignments", "/review/queue", "/review/progress"} <= ops
    for tag, attrs in elements(_html(world.operator, "/admin")):
        if tag == "th":
            assert attrs.get("scope") == "col", attrs


def test_login_error_keeps_the_username_in_the_live_region(world: World) -> None:
    c = world.svc.anonymous()
    r = c.post("/login", data={"username": "rev<b>", "password": "wrong"})
    assert r.status_code == 401
    status = r.text.split('id="status"', 1)[1].split("</div>", 1)[0]
    assert "Wrong username or password." in status
    assert 'value="rev&lt;b&gt;"' in r.text  # kept, escaped
    assert "wrong" not in r.text.split("<form", 1)[1]  # the password is never sent back


def test_admin_invite_error_keeps_the_form(world: World) -> None:
    c = world.svc.anonymous()
    c.post("/login", data={"username": "ops", "password": PASSWORD})
    token = _html(c, "/admin").split('name="csrf_token" value="')[1].split('"')[0]
    r = c.post(
        "/admin/invite",
        data={"cohort": "c1", "email": "not-an-email", "name": "Erin Example", "csrf_token": token},
        files={"csv_file": ("", b"", "text/csv")},
    )
    assert r.status_code == 422
    status = r.text.split('id="status"', 1)[1].split("</div>", 1)[0]
    assert 'class="error"' in status
    assert 'value="not-an-email"' in r.text and 'value="Erin Example"' in r.text


def test_audit_log_reads_as_people_write(world: World) -> None:
    """A review moves the task score: the admin page says 82.5%, not 0.825, and yes/no for
    flags; only what changed is listed."""
    sid = world.svc.upload(world.alice, RIGHT, task="py-rubric").json()["id"]
    world.svc.wait(world.alice, sid)
    r = world.reviewer.put(
        f"/api/v1/submissions/{sid}/review",
        json={"scores": {"clarity": 7, "judgement": 6}, "integrity_flag": True},
    )
    assert r.status_code == 200, r.text
    html = _html(world.operator, "/admin")
    audit = html.split('id="audit"', 1)[1].split("</table>", 1)[0]
    row = next(tr for tr in audit.split("<tr>") if f"#{sid}</a>" in tr and ">review<" in tr)
    # Full automatic marks and 13/20 on the rubric, half weight each: 82.5%.
    before, after = row.split("<ul", 2)[1:]
    assert re.search(r"task score: \d+\.\d%", before) and "task score: 82.5%" in after, row
    assert "integrity flag: no" in row and "integrity flag: yes" in row
    assert "review clarity: 7" in row and "reviews: 1" in row
    assert not re.search(r"\d\.\d{4,}", audit), audit  # no raw fractions anywhere
    assert "True" not in audit and "False" not in audit and "None" not in audit


@pytest.mark.parametrize(
    ("key", "value", "shown"),
    [
        ("task_score", 0.826667, "82.7%"),
        ("manual_frac", 1, "100.0%"),
        ("score", 8.0, "8"),
        ("total", 12.3456, "12.35"),
        ("integrity_flag", True, "yes"),
        ("locked", False, "no"),
        ("tier", None, "—"),
        ("sha256", "ab" * 32, "abababababab…"),
        ("path", "notes/a.md", "notes/a.md"),
    ],
)
def test_audit_values(key: str, value: object, shown: str) -> None:
    from api.routes.admin import shown_value

    assert shown_value(key, value) == shown


def test_portal_announces_the_upload_it_received(world: World) -> None:
    sid = world.svc.upload(world.alice, RIGHT, name="my-answer.zip").json()["id"]
    html = _html(world.alice, f"/portal?received={sid}")
    status = html.split('id="status"', 1)[1].split("</div>", 1)[0]
    assert f"submission #{sid}" in status and "my-answer.zip" in status
    # Another applicant's number says nothing (their file name is not ours to show).
    other = world.svc.upload(world.bob, WRONG, name="bobs.zip").json()["id"]
    html = _html(world.alice, f"/portal?received={other}")
    assert "bobs.zip" not in html and "Received" not in html.split('id="status"', 1)[1][:200]
    assert _html(world.alice, "/portal?received=x").count("Received ") == 0


@pytest.mark.browser
def test_skip_link_and_focus_are_visible(site: Site) -> None:
    """From the keyboard: the first Tab shows the skip link, Enter lands in <main>, the next
    Tab reaches the page's first control, and every focused control draws an outline."""
    page = site.contexts["reviewer"].new_page()
    page.set_viewport_size({"width": 390, "height": 700})
    try:
        page.goto(site.url + "/review")
        page.keyboard.press("Tab")
        skip = page.locator("a.skip-link")
        assert page.evaluate("document.activeElement.className") == "skip-link"
        box = skip.bounding_box()
        assert box is not None and box["y"] >= 0 and box["height"] > 0  # on screen now
        page.screenshot(path=SHOTS / "focus-skip-link-390.png")
        page.keyboard.press("Enter")
        assert page.evaluate("document.activeElement.id") == "main"
        page.keyboard.press("Tab")
        inside = page.evaluate("document.getElementById('main').contains(document.activeElement)")
        assert inside, page.evaluate("document.activeElement.outerHTML")
        for _ in range(6):  # the outline is there on whatever the keyboard reaches
            outline = page.evaluate(
                """() => { const s = getComputedStyle(document.activeElement);
                           return [s.outlineStyle, parseFloat(s.outlineWidth)]; }"""
            )
            assert outline[0] != "none" and outline[1] >= 2, (
                page.evaluate("document.activeElement.outerHTML"),
                outline,
            )
            page.keyboard.press("Tab")
        page.screenshot(path=SHOTS / "focus-control-390.png")
    finally:
        page.close()
