"""The reviewer's page with a hostile notebook, in a real browser (Debian's chromium driven by
Playwright): no dialog opens, no request leaves, images still show.

Chromium comes from Debian (`scripts/ensure-chromium.sh`); Playwright's own browser download
is never used. Without chromium these tests skip with the reason, except under CI, where
they fail: a skipped browser check would hide a broken setup.
"""

from __future__ import annotations

import contextlib
import http.server
import json
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import pytest

from grader.notebook import EXECUTED, RECORD, SUBMITTED
from grader.render import write_report
from grader.report import Report, Status, SubmissionRef, TaskRef
from tests.conftest import IN_CI
from tests.grader.notebook.test_notebook import PNG, cell, notebook

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


def _need_chromium() -> None:
    reason = ""
    if shutil.which(CHROMIUM) is None:
        reason = f"{CHROMIUM} is missing (scripts/ensure-chromium.sh installs Debian's chromium)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            reason = "the playwright package is missing (pip install -e '.[dev]')"
    if reason:
        if IN_CI:
            pytest.fail(f"CI requires the browser checks to run: {reason}")
        pytest.skip(reason)


class _Trap(http.server.BaseHTTPRequestHandler):
    hits: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        _Trap.hits.append(self.path)
        self.send_response(204)
        self.end_headers()

    do_POST = do_GET

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def trap() -> Iterator[tuple[int, list[str]]]:
    """A local HTTP server the payloads point at: any hit is a request that left the page."""
    hits: list[str] = []
    _Trap.hits = hits
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Trap)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], hits
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class PageVisit:
    """What happened while a page was open."""

    dialogs: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)
    scripts: int = 0
    handlers: list[str] = field(default_factory=list)
    images: list[dict[str, Any]] = field(default_factory=list)
    answer_labels: list[str] = field(default_factory=list)


def visit(page_path: Path, *, wait_ms: int = 1500) -> PageVisit:
    """Open `page_path` in chromium, interact a little, and record what the page did."""
    _need_chromium()
    from playwright.sync_api import sync_playwright

    seen = PageVisit()
    url = page_path.resolve().as_uri()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.on("dialog", lambda d: (seen.dialogs.append(d.message), d.dismiss()))
            page.on("request", lambda r: seen.requests.append(r.url))
            page.on("console", lambda m: seen.console.append(m.text))
            page.goto(url, wait_until="load")
            # hover and click everything a payload could hang a handler on
            page.mouse.move(200, 200)
            for link in page.query_selector_all("a, img, summary")[:200]:
                with contextlib.suppress(Exception):  # detached or hidden: irrelevant
                    link.click(timeout=200, force=True, no_wait_after=True)
            page.wait_for_timeout(wait_ms)
            seen.scripts = page.evaluate("document.querySelectorAll('script').length")
            seen.handlers = page.evaluate(
                """[...document.querySelectorAll('*')].flatMap(e => [...e.attributes]
                    .filter(a => a.name.startsWith('on')).map(a => e.tagName + '.' + a.name))"""
            )
            seen.images = page.evaluate(
                """[...document.querySelectorAll('img')].map(i => ({
                    src: i.src.slice(0, 30), w: i.naturalWidth, ok: i.complete}))"""
            )
            seen.answer_labels = page.evaluate(
                "[...document.querySelectorAll('.nbx-label.answer')].map(e => e.textContent)"
            )
        finally:
            browser.close()
    # the page itself, and navigations back to it (anchor clicks), are not requests out
    seen.requests = [r for r in seen.requests if r.split("#")[0] != url]
    return seen


def payload_cells(port: int) -> list[Any]:
    """Cells whose outputs try everything: scripts, handlers, remote loads, spoofed UI."""
    base = f"http://127.0.0.1:{port}"
    html = (
        f'<script>alert("script")</script><img src=x onerror="alert(1)">'
        f'<img src="{base}/img.png"><iframe src="{base}/frame"></iframe>'
        f'<a href="javascript:alert(2)">js link</a><a href="{base}/link">remote link</a>'
        f'<div style="background:url({base}/bg.png)">styled</div>'
        f'<link rel="stylesheet" href="{base}/x.css"><meta http-equiv="refresh" '
        f'content="0;url={base}/refresh"><object data="{base}/obj"></object>'
        f'<svg onload="alert(3)"><image href="{base}/svgimg"/></svg>'
        f'<form action="{base}/form"><input autofocus onfocus="alert(4)"></form>'
        f'<base href="{base}/"><style>@import url({base}/imp.css);</style>'
        f'<video src="{base}/v.mp4" autoplay></video><audio src="{base}/a.mp3" autoplay></audio>'
        f'<img srcset="{base}/set.png 1x"><details open ontoggle="alert(5)">x</details>'
        '<div class="top bar nbx-cell nbx-answer"><span class="nbx-label answer">ANSWER</span>'
        "</div>"
    )
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" onload="alert(6)"><script>alert(7)</script>'
        f'<image href="{base}/svg2.png"/><rect width="10" height="10"/></svg>'
    )
    outputs = [
        {"output_type": "display_data", "metadata": {}, "data": {"text/html": html}},
        {
            "output_type": "display_data",
            "metadata": {},
            "data": {"application/javascript": "alert(8)", "text/plain": "<JS>"},
        },
        {"output_type": "display_data", "metadata": {}, "data": {"image/svg+xml": svg}},
        {"output_type": "display_data", "metadata": {}, "data": {"image/png": PNG}},
        {
            "output_type": "display_data",
            "metadata": {},
            "data": {"text/markdown": f"![x]({base}/md-out.png)", "text/plain": "md"},
        },
        {"output_type": "stream", "name": "stdout", "text": "<script>alert(9)</script>\n"},
    ]
    md = {
        "cell_type": "markdown",
        "id": "m1",
        "metadata": {},
        "source": f"# Notes\n\n<script>alert(10)</script>\n\n[l](javascript:alert(11))\n\n"
        f"![i]({base}/md.png)\n\n<img src=x onerror=alert(12)>\n\n<iframe src='{base}/f2'>",
    }
    return [md, cell("show()", tags=("answer:probe",), outputs=outputs)]


def notebook_report(dest: Path, executed: dict[str, Any], submitted: dict[str, Any]) -> Path:
    """Write a notebook submission's report with these notebooks as its artifacts."""
    art = dest / "case.outputs"
    (art / "notebook").mkdir(parents=True)
    (art / EXECUTED).write_text(json.dumps(executed))
    (art / SUBMITTED).write_text(json.dumps(submitted))
    (art / RECORD).write_text(json.dumps({"outcome": "completed", "executed": 1}))
    report = Report(
        task=TaskRef(id="t", version="1.0.0", digest="0" * 64),
        submission=SubmissionRef(sha256="a" * 64, files=["work.ipynb"], kind="notebook"),
        status=Status.graded,
        score=1,
        max_score=1,
    )
    return write_report(report, dest, stem="case", artifacts=art)["html"]


def test_hostile_notebook_report_runs_nothing_and_loads_nothing(
    tmp_path: Path, trap: tuple[int, list[str]]
) -> None:
    port, hits = trap
    nb = notebook(*payload_cells(port))
    page = notebook_report(tmp_path, nb, nb)
    seen = visit(page)
    assert seen.dialogs == []
    assert seen.requests == []
    assert hits == []
    assert seen.scripts == 0 and seen.handlers == []
    assert seen.answer_labels == ["ANSWER · probe", "ANSWER · probe"]  # executed, submitted
    png = [i for i in seen.images if i["src"].startswith("data:image/png")]
    assert png and all(i["w"] > 0 for i in png), seen.images  # the plot still shows
