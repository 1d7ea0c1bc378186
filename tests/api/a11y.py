"""axe-core in a Playwright page: the serious and critical accessibility violations on it.

``axe_violations(page)`` injects the axe-core engine that scripts/ensure-axe.sh installs
(a pinned npm package) and runs it over the whole page. Any browser test can call it::

    from tests.api.a11y import axe_violations, describe
    found = axe_violations(page)
    assert found == [], describe(found)

The pages' CSP is ``script-src 'self'``, and Playwright's ``add_script_tag`` adds an inline
script, which that CSP refuses. A context that runs axe must therefore be opened with
``browser.new_context(bypass_csp=True)`` (:func:`axe_context`): the CSP itself is tested by
the other browser tests, which keep it on.
"""

from __future__ import annotations

import functools
import subprocess
from pathlib import Path
from typing import Any

from tests.conftest import REPO

# Only these impacts fail a page (issue 12 item 10); moderate and minor ones are reported by
# describe() when a caller wants them, never asserted.
FAILING = ("serious", "critical")


class AxeUnavailable(RuntimeError):
    """scripts/ensure-axe.sh could not provide axe.min.js (its one-line reason)."""


@functools.cache
def axe_script() -> Path:
    """The path of axe.min.js, installed by scripts/ensure-axe.sh on first use."""
    proc = subprocess.run(
        ["bash", str(REPO / "scripts" / "ensure-axe.sh")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    if proc.returncode != 0:
        raise AxeUnavailable((proc.stderr.strip().splitlines() or ["ensure-axe.sh failed"])[-1])
    path = Path(proc.stdout.strip().splitlines()[-1])
    if not path.is_file():
        raise AxeUnavailable(f"ensure-axe.sh printed {path}, which is not a file")
    return path


def axe_context(browser: Any, **kw: Any) -> Any:
    """A browser context in which axe can be injected (see the module's docstring)."""
    return browser.new_context(bypass_csp=True, **kw)


def axe_results(page: Any) -> dict[str, Any]:
    """axe-core's full result for the page as it is now (WCAG 2.x A and AA, best practices)."""
    if not page.evaluate("typeof window.axe === 'object'"):
        page.add_script_tag(path=str(axe_script()))
    result: dict[str, Any] = page.evaluate(
        """async () => await window.axe.run(document, {
             runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa',
                                              'wcag22aa', 'best-practice']},
             resultTypes: ['violations'],
           })"""
    )
    return result


def axe_violations(page: Any) -> list[dict[str, Any]]:
    """The serious and critical violations on the page: axe's own dicts (id, impact, help,
    helpUrl, nodes with their target selectors and failure summaries)."""
    return [v for v in axe_results(page)["violations"] if v.get("impact") in FAILING]


def describe(violations: list[dict[str, Any]], per_rule: int = 3) -> str:
    """One line per rule and up to `per_rule` offending elements: for assertion messages."""
    lines = []
    for v in violations:
        lines.append(f"{v['impact']} {v['id']}: {v['help']} ({len(v['nodes'])} elements)")
        for node in v["nodes"][:per_rule]:
            summary = " ".join(str(node.get("failureSummary", "")).split())
            lines.append(f"  {' '.join(map(str, node['target']))} :: {summary[:300]}")
    return "\n".join(lines)
