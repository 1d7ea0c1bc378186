"""The hidden answer key (`grading/answers/key.toml`) and the measured outcomes it cites.

One table per automatic item, named by the item's id::

    [best_support]                  # single_choice, rule exact
    correct = "b"
    why = "Only b separates lying from the inputs that cause it."   # for reviewers

    [best_next]                     # single_choice, rule option_credit
    credit = { b = 1.0, a = 0.5 }   # options not listed earn 0; the best must earn 1

    [confounds]                     # multiple_choice
    correct = ["length", "token"]

    [followups]                     # ranking: best first; a nested list is a tie
    order = ["b", "c", "a", ["d", "e"]]

    [corrections]                   # ranking by measured values (largest first)
    order_by = { leak = "no_leak.delta_headline", seeds = "study.delta_seed_mean" }

    [forecasts]                     # forecast: whether each outcome happened
    outcomes = { layer0 = "probe_controls.layer0_high", untrained = true }
    # exclusive forecast instead: happened = "outcome_id" (or a reference)

    [effect]                        # number
    value = "no_leak.asr_reduction_pp"

A value written as ``"script.name"`` is a *reference* to an outcome measured by
``grading/experiments/script.py``, recorded in ``grading/answers/outcomes/script.json``::

    {"outcomes": {"layer0_high": true, "accuracy": 0.93},
     "tolerance": {"accuracy": 0.02},        # every numeric outcome declares one
     "details": {...}}                       # free-form: plot data, per-seed numbers

`assess task validate` re-runs the scripts and fails when an outcome changed (booleans and
strings must match; numbers within their tolerance). See :mod:`grader.questions.outcomes`.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from grader.errors import TaskSpecError
from grader.questions.model import (
    Forecast,
    MultipleChoice,
    Number,
    Questions,
    Ranking,
    SingleChoice,
    Text,
)
from grader.spec import read_toml

KEY_FILE = "grading/answers/key.toml"
OUTCOMES_DIR = "grading/answers/outcomes"
OUTCOME_NAME = r"^[a-z0-9_]{1,64}$"
REFERENCE = r"^([a-z0-9_-]{1,64})\.([a-z0-9_]{1,64})$"
MAX_OUTCOME_BYTES = 5_000_000

OutcomeValue = bool | float | str


class OutcomeRecord(BaseModel):
    """What one experiment script measured (`grading/answers/outcomes/<script>.json`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    outcomes: dict[str, bool | float | str]
    tolerance: dict[str, Annotated[float, Field(ge=0)]] = {}
    details: Any = None

    @field_validator("outcomes")
    @classmethod
    def _names(cls, v: dict[str, OutcomeValue]) -> dict[str, OutcomeValue]:
        for name, value in v.items():
            if re.fullmatch(OUTCOME_NAME, name) is None:
                raise ValueError(f"outcome name {name!r} must match {OUTCOME_NAME}")
            if isinstance(value, float) and not math.isfinite(value):
                raise ValueError(f"outcome {name!r} is not a finite number")
        return v

    def numeric(self) -> dict[str, float]:
        return {
            k: float(v)
            for k, v in self.outcomes.items()
            if isinstance(v, int | float) and not isinstance(v, bool)
        }


def parse_outcome_record(text: str, where: str) -> OutcomeRecord:
    """Validate one outcome record (JSON text); every numeric outcome needs a tolerance.

    Raises:
        TaskSpecError: not JSON, wrong fields, or a numeric outcome without a tolerance.
    """
    try:
        record = OutcomeRecord.model_validate(json.loads(text))
    except (ValueError, RecursionError) as e:
        if isinstance(e, ValidationError):
            first = e.errors()[0]
            loc = ".".join(str(p) for p in first["loc"]) or "(top level)"
            raise TaskSpecError(f"{where}: field '{loc}': {first['msg']}") from None
        raise TaskSpecError(f"{where}: not valid JSON: {str(e)[:200]}") from None
    numeric = record.numeric()
    missing = sorted(set(numeric) - set(record.tolerance))
    if missing:
        raise TaskSpecError(
            f"{where}: numeric outcome {missing[0]!r} has no entry in 'tolerance' "
            "(how far a re-run may drift before validation fails)"
        )
    extra = sorted(set(record.tolerance) - set(numeric))
    if extra:
        raise TaskSpecError(f"{where}: 'tolerance' names {extra[0]!r}, not a numeric outcome")
    return record


def load_outcomes(task_root: Path) -> dict[str, OutcomeRecord]:
    """The recorded outcomes by script name (empty when the task records none).

    Raises:
        TaskSpecError: a record is too big or malformed (named).
    """
    folder = task_root / OUTCOMES_DIR
    records: dict[str, OutcomeRecord] = {}
    if not folder.is_dir():
        return records
    for path in sorted(folder.glob("*.json")):
        if path.stat().st_size > MAX_OUTCOME_BYTES:
            raise TaskSpecError(f"{path}: larger than {MAX_OUTCOME_BYTES} bytes")
        records[path.stem] = parse_outcome_record(path.read_text(encoding="utf-8"), str(path))
    return records


# ----------------------------------------------------------------------------- the key


class _RawKey(BaseModel):
    """One item's table in key.toml, before it is checked against the item."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    correct: str | list[str] | None = None
    credit: dict[str, float] | None = None
    order: list[str | list[str]] | None = None
    order_by: dict[str, str] | None = None
    descending: bool = True
    outcomes: dict[str, bool | str] | None = None
    happened: str | None = None
    value: float | str | None = None
    why: Annotated[str, Field(max_length=10_000)] = ""


@dataclass(frozen=True)
class ChoiceKey:
    """single_choice: the credit of each option (exact: 1 for the correct one)."""

    credit: dict[str, float]
    why: str = ""


@dataclass(frozen=True)
class SetKey:
    """multiple_choice: the correct set."""

    correct: frozenset[str]
    why: str = ""


@dataclass(frozen=True)
class RankKey:
    """ranking: each option's reference rank (1 = best; tied options share the mean rank)."""

    ranks: dict[str, float]
    why: str = ""
    values: dict[str, float] = field(default_factory=dict)  # measured values behind order_by


@dataclass(frozen=True)
class ForecastKey:
    """forecast: 1.0 for each outcome that happened, 0.0 otherwise."""

    happened: dict[str, float]
    why: str = ""


@dataclass(frozen=True)
class NumberKey:
    """number: the reference value."""

    value: float
    why: str = ""


KeyEntry = ChoiceKey | SetKey | RankKey | ForecastKey | NumberKey


@dataclass(frozen=True)
class Key:
    """The resolved key: an entry per automatic item, and where each measured value came from."""

    entries: dict[str, KeyEntry]
    sources: dict[str, list[str]]  # item id -> the outcome references it cites


class _Resolver:
    """Resolves references against the recorded outcomes, naming the item on any error."""

    def __init__(self, path: Path, records: dict[str, OutcomeRecord]) -> None:
        self.path = path
        self.records = records
        self.cited: list[str] = []

    def fail(self, item: str, field_name: str, msg: str) -> TaskSpecError:
        return TaskSpecError(f"{self.path}: item {item!r}, field '{field_name}': {msg}")

    def lookup(self, item: str, field_name: str, ref: str) -> tuple[OutcomeValue, float]:
        m = re.fullmatch(REFERENCE, ref)
        if m is None:
            raise self.fail(item, field_name, f"{ref!r} is not a reference 'script.outcome'")
        script, name = m.groups()
        record = self.records.get(script)
        if record is None:
            raise self.fail(
                item, field_name, f"{ref!r}: no recorded outcomes {OUTCOMES_DIR}/{script}.json"
            )
        if name not in record.outcomes:
            raise self.fail(item, field_name, f"{ref!r}: {script}.json has no outcome {name!r}")
        self.cited.append(ref)
        return record.outcomes[name], record.tolerance.get(name, 0.0)

    def boolean(self, item: str, field_name: str, value: bool | str) -> bool:
        if isinstance(value, bool):
            return value
        got, _ = self.lookup(item, field_name, value)
        if not isinstance(got, bool):
            raise self.fail(item, field_name, f"{value!r} is {got!r}, not true/false")
        return got

    def number(self, item: str, field_name: str, value: float | str) -> tuple[float, float]:
        if not isinstance(value, str):
            return float(value), 0.0
        got, tol = self.lookup(item, field_name, value)
        if isinstance(got, bool) or not isinstance(got, int | float):
            raise self.fail(item, field_name, f"{value!r} is {got!r}, not a number")
        return float(got), tol

    def string(self, item: str, field_name: str, value: str) -> str:
        if re.fullmatch(REFERENCE, value) is None:
            return value
        got, _ = self.lookup(item, field_name, value)
        if not isinstance(got, str):
            raise self.fail(item, field_name, f"{value!r} is {got!r}, not an id")
        return got


def _only(raw: _RawKey, allowed: set[str]) -> str | None:
    """The first field set in `raw` that this kind does not use."""
    for name in ("correct", "credit", "order", "order_by", "outcomes", "happened", "value"):
        if getattr(raw, name) is not None and name not in allowed:
            return name
    return None


def _ranks(order: list[list[str]]) -> dict[str, float]:
    ranks: dict[str, float] = {}
    position = 1
    for group in order:
        mean = position + (len(group) - 1) / 2
        for option in group:
            ranks[option] = mean
        position += len(group)
    return ranks


def _resolve_item(
    item: SingleChoice | MultipleChoice | Ranking | Forecast | Number,
    raw: _RawKey,
    r: _Resolver,
) -> KeyEntry:
    iid = item.id
    if isinstance(item, SingleChoice):
        wanted = "correct" if item.rule == "exact" else "credit"
        stray = _only(raw, {wanted})
        if stray:
            raise r.fail(iid, stray, f"not used by a single_choice item with rule {item.rule!r}")
        if item.rule == "exact":
            if not isinstance(raw.correct, str):
                raise r.fail(iid, "correct", "required: the id of the correct option")
            correct = r.string(iid, "correct", raw.correct)
            if correct not in item.options:
                raise r.fail(iid, "correct", f"{correct!r} is not an option of the item")
            return ChoiceKey(credit={correct: 1.0}, why=raw.why)
        if not raw.credit:
            raise r.fail(iid, "credit", "required: option id -> credit in [0, 1]")
        for option, credit in raw.credit.items():
            if option not in item.options:
                raise r.fail(iid, "credit", f"{option!r} is not an option of the item")
            if not 0 <= credit <= 1:
                raise r.fail(iid, "credit", f"credit {credit:g} for {option!r} is outside [0, 1]")
        if max(raw.credit.values()) != 1:
            raise r.fail(iid, "credit", "the best option must earn 1 (full marks must be possible)")
        return ChoiceKey(credit=dict(raw.credit), why=raw.why)
    if isinstance(item, MultipleChoice):
        stray = _only(raw, {"correct"})
        if stray:
            raise r.fail(iid, stray, "not used by a multiple_choice item")
        if not isinstance(raw.correct, list):
            raise r.fail(iid, "correct", "required: the list of correct option ids")
        unknown = [o for o in raw.correct if o not in item.options]
        if unknown:
            raise r.fail(iid, "correct", f"{unknown[0]!r} is not an option of the item")
        if len(set(raw.correct)) != len(raw.correct):
            raise r.fail(iid, "correct", "an option is listed twice")
        if not raw.correct:  # an empty list of choices is unanswered: no one could earn it
            raise r.fail(iid, "correct", "needs at least one correct option")
        return SetKey(correct=frozenset(raw.correct), why=raw.why)
    if isinstance(item, Ranking):
        return _resolve_ranking(item, raw, r)
    if isinstance(item, Forecast):
        if item.exclusive:
            stray = _only(raw, {"happened"})
            if stray:
                raise r.fail(iid, stray, "an exclusive forecast's key is 'happened'")
            if raw.happened is None:
                raise r.fail(iid, "happened", "required: the id of the outcome that happened")
            happened = r.string(iid, "happened", raw.happened)
            if happened not in item.outcomes:
                raise r.fail(iid, "happened", f"{happened!r} is not an outcome of the item")
            return ForecastKey(
                happened={o: 1.0 if o == happened else 0.0 for o in item.outcomes}, why=raw.why
            )
        stray = _only(raw, {"outcomes"})
        if stray:
            raise r.fail(iid, stray, "a forecast's key is 'outcomes' (or 'happened' if exclusive)")
        if raw.outcomes is None:
            raise r.fail(iid, "outcomes", "required: outcome id -> true/false or a reference")
        missing = [o for o in item.outcomes if o not in raw.outcomes]
        if missing:
            raise r.fail(iid, "outcomes", f"no entry for outcome {missing[0]!r}")
        unknown = [o for o in raw.outcomes if o not in item.outcomes]
        if unknown:
            raise r.fail(iid, "outcomes", f"{unknown[0]!r} is not an outcome of the item")
        return ForecastKey(
            happened={
                o: 1.0 if r.boolean(iid, f"outcomes.{o}", v) else 0.0
                for o, v in raw.outcomes.items()
            },
            why=raw.why,
        )
    stray = _only(raw, {"value"})
    if stray:
        raise r.fail(iid, stray, "a number's key is 'value'")
    if raw.value is None:
        raise r.fail(iid, "value", "required: the reference number or a reference")
    value, _ = r.number(iid, "value", raw.value)
    if not math.isfinite(value):
        raise r.fail(iid, "value", "must be a finite number")
    if item.relative and value == 0:
        raise r.fail(iid, "value", "relative bands need a non-zero reference value")
    return NumberKey(value=value, why=raw.why)


def _resolve_ranking(item: Ranking, raw: _RawKey, r: _Resolver) -> RankKey:
    iid = item.id
    stray = _only(raw, {"order", "order_by"})
    if stray:
        raise r.fail(iid, stray, "a ranking's key is 'order' or 'order_by'")
    if (raw.order is None) == (raw.order_by is None):
        raise r.fail(iid, "order", "give exactly one of 'order' and 'order_by'")
    values: dict[str, float] = {}
    if raw.order is not None:
        groups = [[g] if isinstance(g, str) else list(g) for g in raw.order]
        where = "order"
    else:
        assert raw.order_by is not None
        where = "order_by"
        measured = {o: r.number(iid, f"order_by.{o}", ref) for o, ref in raw.order_by.items()}
        values = {o: v for o, (v, _) in measured.items()}
        sign = -1.0 if raw.descending else 1.0
        ordered = sorted(measured, key=lambda o: sign * measured[o][0])
        groups = []
        for prev, cur in zip([None, *ordered], ordered, strict=False):
            if prev is not None:
                (va, ta), (vb, tb) = measured[prev], measured[cur]
                if va == vb:
                    groups[-1].append(cur)
                    continue
                if abs(va - vb) <= ta + tb:
                    raise r.fail(
                        iid,
                        "order_by",
                        f"{prev!r} ({va:g}) and {cur!r} ({vb:g}) differ by less than their "
                        f"tolerances ({ta:g} + {tb:g}): a re-run could swap them; use 'order' "
                        "with the two tied instead",
                    )
            groups.append([cur])
    flat = [o for g in groups for o in g]
    unknown = [o for o in flat if o not in item.options]
    if unknown:
        raise r.fail(iid, where, f"{unknown[0]!r} is not an option of the item")
    if len(set(flat)) != len(flat):
        dup = next(o for o in flat if flat.count(o) > 1)
        raise r.fail(iid, where, f"{dup!r} appears twice")
    missing = [o for o in item.options if o not in flat]
    if missing:
        raise r.fail(iid, where, f"option {missing[0]!r} is missing")
    if len(groups) < 2:
        raise r.fail(iid, where, "every option is tied: nothing to rank")
    return RankKey(ranks=_ranks(groups), why=raw.why, values=values)


def parse_key(
    data: Any, questions: Questions, records: dict[str, OutcomeRecord], path: Path
) -> Key:
    """Check the key's data against the items and resolve its references.

    Raises:
        TaskSpecError: an entry is missing, unknown, of the wrong shape, or cites an outcome
            that is not recorded; the message names the file, the item and the field.
    """
    if not isinstance(data, dict):
        raise TaskSpecError(f"{path}: expected a table per item")
    r = _Resolver(path, records)
    entries: dict[str, KeyEntry] = {}
    sources: dict[str, list[str]] = {}
    by_id = {i.id: i for i in questions.items}
    for name in data:
        if name not in by_id:
            raise TaskSpecError(f"{path}: item {name!r} is not in questions.toml")
        if isinstance(by_id[name], Text):
            raise TaskSpecError(f"{path}: item {name!r} is a text item: reviewers score it")
    for item in questions.scored():
        raw_data = data.get(item.id)
        if raw_data is None:
            raise TaskSpecError(f"{path}: item {item.id!r} has no key entry")
        try:
            raw = _RawKey.model_validate(raw_data)
        except ValidationError as e:
            first = e.errors()[0]
            loc = ".".join(str(p) for p in first["loc"] if not isinstance(p, int)) or "(table)"
            raise TaskSpecError(
                f"{path}: item {item.id!r}, field '{loc.split('.')[0]}': {first['msg']}"
            ) from None
        r.cited = []
        entries[item.id] = _resolve_item(item, raw, r)
        sources[item.id] = list(r.cited)
    return Key(entries=entries, sources=sources)


def load_key(task_root: Path, questions: Questions) -> Key:
    """Load and resolve the task's hidden key against its questions and recorded outcomes.

    Raises:
        TaskSpecError: the key or an outcome record is missing or malformed (named).
    """
    path = task_root / KEY_FILE
    if not path.is_file():
        raise TaskSpecError(f"{task_root}: missing required file {KEY_FILE}")
    return parse_key(read_toml(path), questions, load_outcomes(task_root), path)
