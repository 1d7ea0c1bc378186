"""Pure scoring logic: task scores, tiers, agreement (weighted kappa), composites.

* A submission's **task score** (0..1) combines the automatic fraction and the mean of its
  reviewers' rubric fractions with the task's ``scoring.automatic_weight``. While no reviewer
  has scored a task that has a rubric, the task score is the automatic fraction alone (and
  is marked provisional where shown).
* **Tiers** are ordinal (Below < Near < Meets < Exceeds); the consensus is the median
  reviewer tier (rounded down: the cautious reading).
* **Agreement** per task is Cohen's quadratic-weighted kappa over every pair of reviewers
  who rated the same submission, on tiers.
* The **composite** of an applicant weights the mean task score per task kind by the
  cohort's weights (renormalised over the kinds the applicant was assigned).
"""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Collection, Mapping, Sequence

from api.models import TIERS

DEFAULT_WEIGHTS: dict[str, float] = {"research-taste": 0.50, "implementation": 0.35, "other": 0.15}
# A tier gap this large between two reviewers, or rubric totals this far apart (as a
# fraction of the rubric's maximum), is flagged for adjudication.
TIER_GAP = 2
TOTAL_GAP = 0.30


def task_score(
    auto_frac: float | None, manual_fracs: Sequence[float], automatic_weight: float
) -> float | None:
    """The 0..1 score of one submission; None before it has an automatic score."""
    if auto_frac is None:
        return None
    if not manual_fracs:
        return auto_frac
    manual = statistics.fmean(manual_fracs)
    return automatic_weight * auto_frac + (1 - automatic_weight) * manual


def review_total(
    scores: Mapping[str, float],
    judge_scores: Mapping[str, float],
    stand_ins: Collection[str],
) -> float:
    """A review's rubric total where the judge stands in on some criteria.

    A criterion the judge stands in for takes the judge's valid score only when the
    reviewer left it unscored; a reviewer's own score always wins, and a criterion with
    neither adds nothing. Without stand-ins this is the plain sum of the reviewer's scores
    (what every review's total is)."""
    total = float(sum(scores.values()))
    for criterion in stand_ins:
        if criterion not in scores and criterion in judge_scores:
            total += judge_scores[criterion]
    return total


def tier_index(tier: str | None) -> int | None:
    return TIERS.index(tier) if tier in TIERS else None


def consensus_tier(tiers: Sequence[str | None]) -> str | None:
    """The median of the reviewers' tiers (lower median), or None if none chose one."""
    levels = sorted(i for t in tiers if (i := tier_index(t)) is not None)
    if not levels:
        return None
    return TIERS[levels[(len(levels) - 1) // 2]]


def disagreement(tiers: Sequence[str | None], totals_frac: Sequence[float]) -> bool:
    """Whether reviewers disagree enough that someone should adjudicate."""
    levels = [i for t in tiers if (i := tier_index(t)) is not None]
    if len(levels) >= 2 and max(levels) - min(levels) >= TIER_GAP:
        return True
    return len(totals_frac) >= 2 and max(totals_frac) - min(totals_frac) > TOTAL_GAP


def suggested_tier(score: float | None) -> str | None:
    """A starting point for reviewers from the task score (they decide)."""
    if score is None:
        return None
    for cut, tier in ((0.85, "Exceeds"), (0.65, "Meets"), (0.45, "Near")):
        if score >= cut:
            return tier
    return "Below"


def quadratic_weighted_kappa(pairs: Sequence[tuple[int, int]], categories: int) -> float | None:
    """Cohen's kappa with quadratic weights for paired ordinal ratings in 0..categories-1.

    Returns None with no pairs, and 1.0 when both raters used one identical category only
    (perfect agreement with no variance: the statistic is undefined, agreement is total).
    """
    if not pairs:
        return None
    n = len(pairs)
    k = categories
    observed = [[0.0] * k for _ in range(k)]
    for a, b in pairs:
        observed[a][b] += 1
    row = [sum(observed[i]) for i in range(k)]
    col = [sum(observed[i][j] for i in range(k)) for j in range(k)]
    num = den = 0.0
    for i in range(k):
        for j in range(k):
            w = (i - j) ** 2 / (k - 1) ** 2
            num += w * observed[i][j]
            den += w * row[i] * col[j] / n
    if den == 0:
        return 1.0 if num == 0 else 0.0
    return 1.0 - num / den


def tier_pairs(tiers_by_submission: Mapping[int, Sequence[str | None]]) -> list[tuple[int, int]]:
    """Every pair of tier ratings given to the same submission, as level indices."""
    pairs: list[tuple[int, int]] = []
    for tiers in tiers_by_submission.values():
        levels = [i for t in tiers if (i := tier_index(t)) is not None]
        pairs.extend(itertools.combinations(levels, 2))
    return pairs


def composite(scores_by_kind: Mapping[str, Sequence[float]], weights: Mapping[str, float]) -> float:
    """Weighted mean of per-kind mean task scores; kinds without a weight count as "other"."""
    merged: dict[str, list[float]] = {}
    for kind, values in scores_by_kind.items():
        key = kind if kind in weights else "other"
        merged.setdefault(key, []).extend(values)
    total_w = sum(weights.get(k, 0.0) for k, v in merged.items() if v)
    if total_w <= 0:
        flat = [x for v in merged.values() for x in v]
        return statistics.fmean(flat) if flat else 0.0
    return sum(weights.get(k, 0.0) * statistics.fmean(v) for k, v in merged.items() if v) / total_w
