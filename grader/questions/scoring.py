"""Turn validated answers into checks: one per automatic item, by the item's rule.

Feedback for `reviewer` items says what the key expected (reviewers may see it); feedback for
`applicant` items states only the measure (credit, coefficient, distance band), never the key.
"""

from __future__ import annotations

from grader.questions.answers import Answers, TextAnswer
from grader.questions.key import ChoiceKey, ForecastKey, Key, KeyEntry, NumberKey, RankKey, SetKey
from grader.questions.model import (
    Forecast,
    MultipleChoice,
    Number,
    Questions,
    Ranking,
    ScoredItem,
    SingleChoice,
)
from grader.questions.rules import (
    brier_binary,
    brier_exclusive,
    exact_set,
    log_binary,
    log_exclusive,
    option_credit,
    partial_set,
    rank_credit,
    tolerance_credit,
)
from grader.report import Check
from grader.spec import Visibility

__all__ = ["score_answers", "score_item"]


def _ids(ids: object) -> str:
    items = sorted(ids) if isinstance(ids, set | frozenset) else list(ids)  # type: ignore[call-overload]
    return ", ".join(str(i) for i in items) or "none"


def score_item(item: ScoredItem, key: KeyEntry, answer: object) -> tuple[float, str]:
    """The credit in [0, 1] for one validated answer, and the feedback to show.

    Raises:
        TypeError: the key or the answer does not fit the item (a grader bug, not user input).
    """
    reviewer = item.visibility == Visibility.reviewer
    if answer is None:
        return 0.0, "not answered"
    if isinstance(item, SingleChoice) and isinstance(key, ChoiceKey) and isinstance(answer, str):
        credit = option_credit(answer, key.credit)
        best = max(key.credit, key=lambda o: key.credit[o])
        detail = f" (chose {answer}; key: {best})" if reviewer else ""
        return credit, f"credit {credit:.2f}{detail}"
    if isinstance(item, MultipleChoice) and isinstance(key, SetKey):
        if not isinstance(answer, frozenset):
            raise TypeError(f"item {item.id}: expected a set of choices")
        rule = partial_set if item.rule == "partial" else exact_set
        credit = rule(answer, key.correct)
        hits, wrong = len(answer & key.correct), len(answer - key.correct)
        text = f"{hits} of {len(key.correct)} right picks, {wrong} wrong"
        if reviewer:
            text += f" (chose {_ids(answer)}; key: {_ids(key.correct)})"
        return credit, f"credit {credit:.2f}: {text}"
    if isinstance(item, Ranking) and isinstance(key, RankKey) and isinstance(answer, tuple):
        credit, r = rank_credit(answer, key.ranks, item.rule)
        name = "Spearman rho" if item.rule == "spearman" else "Kendall tau-b"
        text = f"credit {credit:.2f}: {name} {r:+.2f} against the reference ranking"
        if reviewer:
            order = sorted(key.ranks, key=lambda o: (key.ranks[o], o))
            text += f" (answer: {_ids(answer)}; reference: {_ids(order)})"
        return credit, text
    if isinstance(item, Forecast) and isinstance(key, ForecastKey) and isinstance(answer, dict):
        if item.rule == "brier":
            credit = (brier_exclusive if item.exclusive else brier_binary)(answer, key.happened)
        elif item.exclusive:
            credit = log_exclusive(answer, key.happened, item.clip)
        else:
            credit = log_binary(answer, key.happened, item.clip)
        text = f"credit {credit:.3f} ({item.rule} rule, {len(key.happened)} outcomes)"
        if reviewer:
            pairs = ", ".join(
                f"{o} {answer[o]:.2f}→{'yes' if key.happened[o] else 'no'}" for o in key.happened
            )
            text += f": {pairs}"
        return credit, text
    if isinstance(item, Number) and isinstance(key, NumberKey) and isinstance(answer, float):
        credit, distance = tolerance_credit(answer, key.value, item.bands, relative=item.relative)
        unit = f" {item.unit}" if item.unit else ""
        if reviewer:
            what = f"{distance:.1%}" if item.relative else f"{distance:.4g}{unit}"
            return credit, (
                f"credit {credit:.2f}: answered {answer:g}{unit}, reference {key.value:g}{unit} "
                f"(off by {what})"
            )
        return credit, f"credit {credit:.2f}"
    raise TypeError(f"item {item.id}: the key or the answer does not fit a {item.kind} item")


def score_answers(questions: Questions, key: Key, answers: Answers) -> list[Check]:
    """One check per automatic item, in the order of questions.toml."""
    checks: list[Check] = []
    for item in questions.scored():
        answer = answers.values.get(item.id)
        if isinstance(answer, TextAnswer):
            raise TypeError(f"item {item.id}: a text answer for a {item.kind} item")
        credit, feedback = score_item(item, key.entries[item.id], answer)
        credit = min(1.0, max(0.0, credit))
        checks.append(
            Check(
                id=item.id,
                name=item.title,
                score=round(item.points * credit, 6),
                max_score=item.points,
                visibility=item.visibility,
                feedback=feedback[:4000],
            )
        )
    return checks
