"""Pure scoring logic: task scores, tiers, kappa, composites; and the SVG plot."""

from __future__ import annotations

import pytest

from api import scoring
from api.plots import distribution_svg, histogram


def test_task_score_combines_automatic_and_manual() -> None:
    assert scoring.task_score(None, [], 0.5) is None
    assert scoring.task_score(0.8, [], 0.5) == 0.8  # no review yet: automatic alone
    assert scoring.task_score(1.0, [0.5, 0.7], 0.5) == pytest.approx(0.8)


def test_tiers() -> None:
    assert scoring.consensus_tier([]) is None
    assert scoring.consensus_tier(["Meets", "Exceeds"]) == "Meets"  # cautious median
    assert scoring.consensus_tier(["Below", "Meets", "Exceeds"]) == "Meets"
    assert scoring.suggested_tier(0.9) == "Exceeds" and scoring.suggested_tier(0.1) == "Below"
    assert scoring.disagreement(["Below", "Meets"], []) is True
    assert scoring.disagreement(["Near", "Meets"], [0.5, 0.6]) is False
    assert scoring.disagreement([], [0.1, 0.9]) is True


def test_quadratic_weighted_kappa_known_values() -> None:
    assert scoring.quadratic_weighted_kappa([], 4) is None
    assert scoring.quadratic_weighted_kappa([(0, 0), (1, 1), (3, 3)], 4) == pytest.approx(1.0)
    assert scoring.quadratic_weighted_kappa([(2, 2), (2, 2)], 4) == 1.0
    # Complete reversal on two categories is perfect disagreement.
    assert scoring.quadratic_weighted_kappa([(0, 3), (3, 0)], 4) == pytest.approx(-1.0)
    # The value sklearn.metrics.cohen_kappa_score(weights="quadratic") gives for these pairs.
    pairs = [(0, 0), (1, 2), (2, 2), (3, 2), (1, 1), (0, 1)]
    assert scoring.quadratic_weighted_kappa(pairs, 4) == pytest.approx(0.7096774, rel=1e-6)


def test_composite_weights_by_kind() -> None:
    w = {"research-taste": 0.5, "implementation": 0.35, "other": 0.15}
    assert scoring.composite({"implementation": [0.8]}, w) == pytest.approx(0.8)
    both = scoring.composite({"implementation": [1.0], "research-taste": [0.0]}, w)
    assert both == pytest.approx(0.35 / 0.85)
    assert scoring.composite({"weird-kind": [0.4]}, w) == pytest.approx(0.4)
    assert scoring.composite({}, w) == 0.0


def test_histogram_and_svg() -> None:
    assert histogram([0.0, 0.05, 0.5, 1.0], bins=10) == [2, 0, 0, 0, 0, 1, 0, 0, 0, 1]
    svg = distribution_svg('task <"x">', [0.2, 0.9])
    assert svg.startswith("<svg") and "<script" not in svg
    assert '&lt;"x"&gt;' in svg and 'aria-label="task &lt;&quot;x&quot;&gt;"' in svg
