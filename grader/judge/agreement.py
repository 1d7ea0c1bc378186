"""Agreement between the judge and human reviewers: quadratic-weighted kappa and mean offset.

Quadratic-weighted kappa on the score scale itself:

    kappa = 1 - mean((j - h)^2) / mean over all pairs a, b of (j_a - h_b)^2
          = 1 - mean((j - h)^2) / (var(j) + var(h) + (mean(j) - mean(h))^2)

(population variances). For ratings on the categories 0..k-1 this is exactly Cohen's
quadratic-weighted kappa (observed over chance-expected squared disagreement); on a
criterion whose levels are 0, 4, 7, 10 the weights are the squared score differences, and a
human consensus that is a mean of reviewers (say 5.5) needs no rounding. 1 is perfect
agreement, 0 is what independent raters with these marginals would reach, below 0 worse.
It is undefined (None) for fewer than two items and when both raters give one same value
throughout.

Mean offset = mean(judge - human): positive when the judge is more generous.

95% intervals: percentile bootstrap over items (2,000 resamples from a fixed seed, so a
report is reproducible); resamples where kappa is undefined are dropped, and no interval
is given when fewer than 2 items or more than half the resamples are undefined.

Input (CSV with a header, or JSON: a list of objects or ``{"rows": [...]}``), one row per
rating: ``task``, ``criterion``, ``submission``, ``rater`` (``judge`` for the judge, anything
else is a human reviewer's id) and ``score``. The human consensus of an item (task,
criterion, submission) is the mean of its human scores; items without both a judge score
and a human score are left out (and counted).
"""

from __future__ import annotations

import csv
import io
import json
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from grader.errors import AssessError

JUDGE = "judge"
COLUMNS = ("task", "criterion", "submission", "rater", "score")
BOOTSTRAP = 2000


class AgreementInputError(AssessError):
    """The review-set file is unreadable or a row is malformed (one line, naming it)."""


def weighted_kappa(judge: Sequence[float], human: Sequence[float]) -> float | None:
    """Quadratic-weighted kappa of paired ratings (see the module docstring)."""
    n = len(judge)
    if n != len(human):
        raise ValueError("judge and human ratings must pair up")
    if n < 2:  # one item cannot tell agreement from chance
        return None
    mj, mh = sum(judge) / n, sum(human) / n
    vj = sum((x - mj) ** 2 for x in judge) / n
    vh = sum((y - mh) ** 2 for y in human) / n
    expected = vj + vh + (mj - mh) ** 2
    if expected <= 1e-12:
        return None
    observed = sum((x - y) ** 2 for x, y in zip(judge, human, strict=True)) / n
    return 1.0 - observed / expected


def mean_offset(judge: Sequence[float], human: Sequence[float]) -> float | None:
    if not judge:
        return None
    return sum(x - y for x, y in zip(judge, human, strict=True)) / len(judge)


def _percentile(sorted_values: list[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default)."""
    pos = (len(sorted_values) - 1) * q
    lo, hi = math.floor(pos), math.ceil(pos)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


def bootstrap_ci(
    judge: Sequence[float],
    human: Sequence[float],
    statistic: str,
    *,
    resamples: int = BOOTSTRAP,
    seed: int = 0,
) -> tuple[float, float] | None:
    """95% percentile-bootstrap interval of ``kappa`` or ``offset`` over the items."""
    n = len(judge)
    if n < 2:
        return None
    fn = weighted_kappa if statistic == "kappa" else mean_offset
    rng = random.Random(seed)
    values: list[float] = []
    for _ in range(resamples):
        idx = [rng.randrange(n) for _ in range(n)]
        v = fn([judge[i] for i in idx], [human[i] for i in idx])
        if v is not None:
            values.append(v)
    if len(values) < resamples / 2:
        return None
    values.sort()
    return (_percentile(values, 0.025), _percentile(values, 0.975))


@dataclass(frozen=True)
class Agreement:
    """Judge against human consensus on one task's criterion."""

    task: str
    criterion: str
    n: int  # items with both a judge score and a human score
    unpaired: int  # items with only one of the two
    kappa: float | None
    kappa_ci: tuple[float, float] | None
    offset: float | None
    offset_ci: tuple[float, float] | None
    exact: float | None  # share of items where the judge equals the (mean) consensus

    def as_dict(self) -> dict[str, object]:
        return {
            "task": self.task,
            "criterion": self.criterion,
            "n": self.n,
            "unpaired": self.unpaired,
            "kappa": _r(self.kappa),
            "kappa_ci": [_r(v) for v in self.kappa_ci] if self.kappa_ci else None,
            "mean_offset": _r(self.offset),
            "mean_offset_ci": [_r(v) for v in self.offset_ci] if self.offset_ci else None,
            "exact_agreement": _r(self.exact),
        }


def _r(v: float | None) -> float | None:
    return None if v is None else round(v, 4)


@dataclass(frozen=True)
class Rating:
    task: str
    criterion: str
    submission: str
    rater: str
    score: float


def read_ratings(path: Path) -> list[Rating]:
    """The rows of a review-set file (CSV or JSON, by its suffix; see the module docstring)."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as e:
        raise AgreementInputError(f"{path}: cannot read ({e})") from None
    rows: list[dict[str, object]]
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise AgreementInputError(f"{path}: not JSON (line {e.lineno}: {e.msg})") from None
        if isinstance(data, dict):
            data = data.get("rows")
        if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
            raise AgreementInputError(f'{path}: expected a list of rows or {{"rows": [...]}}')
        rows = data
    elif path.suffix.lower() == ".csv":
        reader = csv.DictReader(io.StringIO(text))
        missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise AgreementInputError(f"{path}: missing column(s) {', '.join(missing)}")
        rows = [dict(r) for r in reader]
    else:
        raise AgreementInputError(f"{path}: expected a .csv or .json file")
    out: list[Rating] = []
    seen: set[tuple[str, str, str, str]] = set()
    for i, row in enumerate(rows, start=1):
        where = f"{path}: row {i}"
        values: dict[str, str] = {}
        for column in COLUMNS[:4]:
            value = row.get(column)
            if not isinstance(value, str | int) or not str(value).strip():
                raise AgreementInputError(f"{where}: column {column!r} is missing or empty")
            values[column] = str(value).strip()
        raw = row.get("score")
        try:
            score = float(raw) if isinstance(raw, str | int | float) else math.nan
        except ValueError:
            score = math.nan
        if not math.isfinite(score):
            raise AgreementInputError(f"{where}: column 'score' is not a number: {raw!r}")
        key = (values["task"], values["criterion"], values["submission"], values["rater"])
        if key in seen:
            raise AgreementInputError(f"{where}: a second score by {values['rater']!r}")
        seen.add(key)
        out.append(Rating(*key, score=score))
    return out


def agreement(ratings: list[Rating], *, seed: int = 0) -> list[Agreement]:
    """Per (task, criterion): kappa and mean offset with their intervals."""
    judged: dict[tuple[str, str], dict[str, float]] = {}
    humans: dict[tuple[str, str], dict[str, list[float]]] = {}
    for r in ratings:
        group = (r.task, r.criterion)
        if r.rater == JUDGE:
            judged.setdefault(group, {})[r.submission] = r.score
        else:
            humans.setdefault(group, {}).setdefault(r.submission, []).append(r.score)
    results = []
    for group in sorted(set(judged) | set(humans)):
        j_items, h_items = judged.get(group, {}), humans.get(group, {})
        both = sorted(set(j_items) & set(h_items))
        j = [j_items[s] for s in both]
        h = [sum(h_items[s]) / len(h_items[s]) for s in both]
        unpaired = len(set(j_items) ^ set(h_items))
        exact = sum(abs(a - b) < 1e-9 for a, b in zip(j, h, strict=True)) / len(j) if j else None
        results.append(
            Agreement(
                task=group[0],
                criterion=group[1],
                n=len(both),
                unpaired=unpaired,
                kappa=weighted_kappa(j, h),
                kappa_ci=bootstrap_ci(j, h, "kappa", seed=seed),
                offset=mean_offset(j, h),
                offset_ci=bootstrap_ci(j, h, "offset", seed=seed),
                exact=exact,
            )
        )
    return results
