"""axe-core on the pages that show the rubric judge, with judgments present: the review page
in blind mode before and after the reviewer's review, in assist mode (a suggestion with an
injection flag, its details open), and the task page's agreement table and stand-in form
(also after a refused form). No serious or critical violation; nothing scrolls sideways at
1280 or 390 px.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from api.app import create_app
from tests.api.a11y import AxeUnavailable, axe_context, axe_script, axe_violations, describe
from tests.api.conftest import PY_EXEC, RUBRIC_TOML, fake_grade, make_settings, unavailable
from tests.api.live import running
from tests.api.test_browser import CHROMIUM, CHROMIUM_ARGS, _need_browser
from tests.api.test_browser_judging import PASSWORD, review_blind, seed_judged

pytestmark = [pytest.mark.browser]

WIDTHS = (1280, 390)


@dataclass
class Site:
    url: str
    ids: dict[str, list[int]]
    task: str
    contexts: dict[str, Any]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    _need_browser()
    try:
        axe_script()
    except AxeUnavailable as e:
        unavailable("axe-core", str(e))
    from playwright.sync_api import sync_playwright

    tmp = tmp_path_factory.mktemp("a11y-judge")
    task = tmp / "tasks" / "py-rubric"
    shutil.copytree(PY_EXEC, task, ignore=shutil.ignore_patterns("__pycache__", "bad"))
    toml = (task / "task.toml").read_text().replace('id = "py-exec"', 'id = "py-rubric"')
    (task / "task.toml").write_text(toml)
    (task / "rubric.toml").write_text(RUBRIC_TOML)
    app = create_app(make_settings(tmp, f"sqlite:///{tmp}/db.sqlite", (task,)), grade_fn=fake_grade)
    with running(app) as url, sync_playwright() as p:
        ids = seed_judged(app.state.services, "py-rubric")
        # the second blind submission reviewed: its page shows the judge beside the review
        review_blind(app.state.services, [(ids["blind"][1], False)])
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        contexts = {role: axe_context(browser) for role in ("rev", "ops")}
        for name, context in contexts.items():
            page = context.new_page()
            page.goto(url + "/login")
            page.fill("input[name=username]", name)
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url("**/review*")
            page.close()
        try:
            yield Site(url=url, ids=ids, task="py-rubric", contexts=contexts)
        finally:
            browser.close()


def _check(page: Any, width: int) -> None:
    found = axe_violations(page)
    assert found == [], f"{page.url} at {width}px:\n{describe(found)}"
    wide = page.evaluate("document.documentElement.scrollWidth")
    assert wide <= width, f"{page.url} at {width}px scrolls sideways: {wide}px"


CASES = ("blind-before", "blind-after", "assist", "task", "task-refused")


@pytest.mark.parametrize("width", WIDTHS, ids=[f"{w}px" for w in WIDTHS])
@pytest.mark.parametrize("case", CASES)
def test_judge_pages_are_accessible(site: Site, case: str, width: int) -> None:
    role = "ops" if case.startswith("task") else "rev"
    page = site.contexts[role].new_page()
    page.set_viewport_size({"width": width, "height": 900})
    try:
        if case == "blind-before":
            page.goto(f"{site.url}/review/submissions/{site.ids['blind'][0]}")
            assert page.locator("#judge-note").count() == 1
        elif case == "blind-after":
            page.goto(f"{site.url}/review/submissions/{site.ids['blind'][1]}")
            page.locator("#judge-clarity summary").click()
        elif case == "assist":
            page.goto(f"{site.url}/review/submissions/{site.ids['assist'][0]}")
            page.locator("#judge-clarity summary").click()
            assert page.locator("#judge-clarity-flags").count() == 1
            page.click("#judge-copy-clarity")
        else:
            page.goto(f"{site.url}/review/tasks/{site.task}")
            assert page.locator("#judge-agreement").count() == 1
            if case == "task-refused":
                page.fill("#stand-in-n", "50")
                page.click("#stand-in-submit")
                assert page.locator("#stand-in-error").count() == 1
        page.wait_for_load_state("networkidle")
        _check(page, width)
    finally:
        page.close()
