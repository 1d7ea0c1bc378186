"""Scoring rules: pure functions from an answer and its key to a credit in [0, 1].

Each rule is small enough to check by hand; tests/grader/questions/test_rules.py does, one
value at a time.
Answers reach these functions already validated (see :mod:`grader.questions.answers`):
known ids, no duplicates, probabilities in [0, 1], finite numbers.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from grader.questions.model import Band

__all__ = [
    "brier_binary",
    "brier_exclusive",
    "exact_set",
    "kendall_tau_b",
    "log_binary",
    "log_exclusive",
    "option_credit",
    "partial_set",
    "rank_credit",
    "ranks_of",
    "spearman_rho",
    "tolerance_credit",
]


def option_credit(choice: str, credit: Mapping[str, float]) -> float:
    """single_choice: the key's credit for the chosen option (0 for options it does not list)."""
    return float(credit.get(choice, 0.0))


def partial_set(chosen: frozenset[str], correct: frozenset[str]) -> float:
    """multiple_choice, `partial`: (right picks - wrong picks) / |correct|, floored at 0.

    Picking everything earns nothing unless fewer than half the options are wrong, and guessing
    is not rewarded: a wrong pick costs as much as a right pick earns.
    """
    if not correct:
        raise ValueError("partial credit needs at least one correct option")
    hits = len(chosen & correct)
    false_alarms = len(chosen - correct)
    return max(0.0, (hits - false_alarms) / len(correct))


def exact_set(chosen: frozenset[str], correct: frozenset[str]) -> float:
    """multiple_choice, `exact`: 1 for exactly the correct set, else 0."""
    return 1.0 if chosen == correct else 0.0


def ranks_of(order: Sequence[str]) -> dict[str, float]:
    """A strict order (best first) as ranks 1..n."""
    return {option: float(i + 1) for i, option in enumerate(order)}


def _pearson(x: Sequence[float], y: Sequence[float]) -> float:
    n = len(x)
    mx, my = sum(x) / n, sum(y) / n
    sxy = sum((a - mx) * (b - my) for a, b in zip(x, y, strict=True))
    sxx = sum((a - mx) ** 2 for a in x)
    syy = sum((b - my) ** 2 for b in y)
    if sxx == 0 or syy == 0:
        return 0.0
    return sxy / math.sqrt(sxx * syy)


def spearman_rho(answer: Mapping[str, float], reference: Mapping[str, float]) -> float:
    """Spearman's rho: Pearson's correlation of the ranks (ties as mean ranks), in [-1, 1]."""
    ids = sorted(reference)
    return _pearson([answer[i] for i in ids], [reference[i] for i in ids])


def kendall_tau_b(answer: Mapping[str, float], reference: Mapping[str, float]) -> float:
    """Kendall's tau-b: (concordant - discordant) pairs, corrected for ties, in [-1, 1]."""
    ids = sorted(reference)
    concordant = discordant = ties_a = ties_r = 0
    for i, a in enumerate(ids):
        for b in ids[i + 1 :]:
            da = answer[a] - answer[b]
            dr = reference[a] - reference[b]
            if da == 0 and dr == 0:
                continue
            if da == 0:
                ties_a += 1
            elif dr == 0:
                ties_r += 1
            elif (da > 0) == (dr > 0):
                concordant += 1
            else:
                discordant += 1
    denominator = math.sqrt((concordant + discordant + ties_a) * (concordant + discordant + ties_r))
    return 0.0 if denominator == 0 else (concordant - discordant) / denominator


def rank_credit(
    order: Sequence[str], reference: Mapping[str, float], rule: str
) -> tuple[float, float]:
    """ranking: credit max(0, r) / r_max and the coefficient r.

    r is Spearman's rho or Kendall's tau-b between the answer (a strict order) and the reference
    ranks. r_max is what a strict order consistent with the reference earns: 1 without ties,
    less when the reference ties options (no strict order can then reach 1). A random order
    earns about 0 on average; a reversed one earns 0.
    """
    coefficient = spearman_rho if rule == "spearman" else kendall_tau_b
    r = coefficient(ranks_of(order), reference)
    best_order = sorted(reference, key=lambda o: (reference[o], o))
    r_max = coefficient(ranks_of(best_order), reference)
    if r_max <= 0:
        raise ValueError("the reference ranking ties every option")
    return min(1.0, max(0.0, r) / r_max), r


def brier_binary(probs: Mapping[str, float], happened: Mapping[str, float]) -> float:
    """Independent yes/no outcomes: mean over outcomes of 1 - (p - o)^2.

    Affine in the Brier score, so strictly proper: for each outcome the expected credit is
    highest at p = the forecaster's belief. Saying 0.5 to everything earns 0.75.
    """
    return sum(1.0 - (probs[o] - happened[o]) ** 2 for o in happened) / len(happened)


def brier_exclusive(probs: Mapping[str, float], happened: Mapping[str, float]) -> float:
    """One distribution over exclusive outcomes: 1 - sum_k (p_k - o_k)^2 / 2, in [0, 1]."""
    return 1.0 - sum((probs[o] - happened[o]) ** 2 for o in happened) / 2.0


def log_binary(probs: Mapping[str, float], happened: Mapping[str, float], clip: float) -> float:
    """Independent outcomes, log score: p clipped to [clip, 1 - clip]; per outcome
    (ln q - ln clip) / (ln(1 - clip) - ln clip) with q the probability given to what happened.

    A 0 or 1 answer that turns out wrong earns 0 instead of minus infinity; within the clip
    range the rule is affine in the log score, hence proper.
    """
    lo, hi = math.log(clip), math.log(1.0 - clip)
    total = 0.0
    for o, y in happened.items():
        p = min(max(probs[o], clip), 1.0 - clip)
        q = p if y >= 0.5 else 1.0 - p
        total += (math.log(q) - lo) / (hi - lo)
    return total / len(happened)


def log_exclusive(probs: Mapping[str, float], happened: Mapping[str, float], clip: float) -> float:
    """Exclusive outcomes, log score: 1 - ln(max(p_h, clip)) / ln(clip) for the outcome h that
    happened; 1 for p_h = 1, 0 for p_h <= clip."""
    h = next(o for o, y in happened.items() if y >= 0.5)
    return 1.0 - math.log(max(probs[h], clip)) / math.log(clip)


def tolerance_credit(
    answer: float, value: float, bands: Sequence[Band], *, relative: bool
) -> tuple[float, float]:
    """number: the credit of the narrowest band containing the answer, and the distance.

    The distance is |answer - value|, or that divided by |value| when `relative`.
    """
    distance = abs(answer - value)
    if relative:
        distance /= abs(value)
    for band in bands:
        if distance <= band.within + 1e-12:
            return band.credit, distance
    return 0.0, distance
