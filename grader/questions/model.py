"""`questions.toml`: the declarative items of a research-taste task (public: it is in the kit).

    answers_file = "answers.toml"       # what a submission fills in (default)
    intro = "Read materials/ first."    # optional, printed at the top of the answers template

    [[items]]
    id = "followups"                    # [a-z][a-z0-9_]{0,39}: a key in the answers file
    kind = "ranking"                    # see ItemKind
    title = "Rank the follow-up experiments"
    prompt = "Most informative first."
    points = 20                         # automatic items only; they add up to scoring.max_score
    rule = "spearman"                   # the scoring rule (see each kind's model)
    [items.options]                     # option id -> text, in display order
    a = "Train the probe on an untrained copy of the model."
    b = "..."

Kinds and their rules (docs/authoring-research-taste.md explains how to choose):

| kind | answer | rules |
|---|---|---|
| single_choice | one option id | exact, option_credit |
| multiple_choice | a set of option ids | partial, exact |
| ranking | every option id once, best first | spearman, kendall |
| forecast | a probability per outcome | brier, log |
| number | a number | tolerance (bands) |
| short_text, long_text | text | none: reviewers score the rubric `criteria` it names |

The hidden answer key lives in `grading/answers/key.toml` (see :mod:`grader.questions.key`).
Errors name the file, the item (by id) and the field, on one line.
"""

from __future__ import annotations

import re
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from grader.errors import TaskSpecError
from grader.rubric import Rubric
from grader.spec import Visibility, read_toml

QUESTIONS_FILE = "questions.toml"
ITEM_ID = r"^[a-z][a-z0-9_]{0,39}$"
OPTION_ID = r"^[a-z0-9][a-z0-9_-]{0,39}$"
ANSWERS_FILE = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}\.(toml|json)$"
# Default length limits for text answers, in words.
SHORT_TEXT_WORDS = 100
LONG_TEXT_WORDS = 1500
# Text answers are also capped in characters, so that a text without spaces (one "word" of a
# megabyte) cannot pass a word limit: 12 characters per allowed word, about twice what
# English prose with its spaces and punctuation needs (~6).
CHARS_PER_WORD = 12


class ItemKind(StrEnum):
    """What an item asks for."""

    single_choice = "single_choice"
    multiple_choice = "multiple_choice"
    ranking = "ranking"
    forecast = "forecast"
    number = "number"
    short_text = "short_text"
    long_text = "long_text"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _check_ids(ids: list[str], what: str, minimum: int) -> None:
    if len(ids) < minimum:
        raise ValueError(f"needs at least {minimum} {what}s, got {len(ids)}")
    bad = [i for i in ids if re.fullmatch(OPTION_ID, i) is None]
    if bad:
        raise ValueError(
            f"{what} id {bad[0]!r} must match {OPTION_ID} (lower-case letters, digits, - and _)"
        )


class _Item(_Frozen):
    id: Annotated[str, Field(pattern=ITEM_ID)]
    title: Annotated[str, Field(min_length=1, max_length=120)]
    prompt: Annotated[str, Field(min_length=1, max_length=20_000)]
    # Who sees the item's check (score and feedback). Reviewer by default: an applicant who
    # sees per-item credit can search for the key by resubmitting.
    visibility: Visibility = Visibility.reviewer

    @property
    def automatic(self) -> bool:
        return False

    @property
    def points_or_zero(self) -> float:
        return 0.0


class _Scored(_Item):
    points: Annotated[float, Field(gt=0, le=1000)]

    @property
    def automatic(self) -> bool:
        return True

    @property
    def points_or_zero(self) -> float:
        return self.points


class _WithOptions(_Scored):
    # Option id -> text shown to the applicant, in display order.
    options: dict[str, Annotated[str, Field(min_length=1, max_length=2000)]]
    min_options: ClassVar[int] = 2

    @field_validator("options")
    @classmethod
    def _option_ids(cls, v: dict[str, str]) -> dict[str, str]:
        _check_ids(list(v), "option", cls.min_options)
        return v


class SingleChoice(_WithOptions):
    """Pick one option. `exact`: full credit for the key's option; `option_credit`: the key
    gives each option a credit in [0, 1] (e.g. 1 for the best choice, 0.5 for a defensible one).
    """

    kind: Literal["single_choice"]
    rule: Literal["exact", "option_credit"] = "exact"


class MultipleChoice(_WithOptions):
    """Pick any subset. `partial`: (right picks - wrong picks) / number of right options,
    floored at 0; `exact`: full credit only for exactly the key's set."""

    kind: Literal["multiple_choice"]
    rule: Literal["partial", "exact"] = "partial"


class Ranking(_WithOptions):
    """Order every option, best first. Credit max(0, r) / r_max, where r is Spearman's rho or
    Kendall's tau-b against the key's order (ties allowed there) and r_max what an order
    consistent with the key earns (1 unless the key has ties)."""

    kind: Literal["ranking"]
    rule: Literal["spearman", "kendall"] = "spearman"
    min_options: ClassVar[int] = 3


class Forecast(_Scored):
    """A probability for each outcome. Independent yes/no outcomes by default; `exclusive`
    outcomes form one distribution (exactly one happened; the probabilities sum to 1).

    `brier`: credit 1 - (p - o)^2 per outcome (exclusive: 1 - sum_k (p_k - o_k)^2 / 2), averaged.
    `log`: probabilities clipped to [clip, 1 - clip], credit the log score scaled so that the
    clipped extremes earn 0 and 1. Both are affine in a strictly proper score: the expected
    credit is highest when the stated probability is the forecaster's belief.
    """

    kind: Literal["forecast"]
    rule: Literal["brier", "log"] = "brier"
    outcomes: dict[str, Annotated[str, Field(min_length=1, max_length=2000)]]
    exclusive: bool = False
    clip: Annotated[float, Field(gt=0, lt=0.5)] = 0.01

    @field_validator("outcomes")
    @classmethod
    def _outcome_ids(cls, v: dict[str, str]) -> dict[str, str]:
        _check_ids(list(v), "outcome", 1)
        return v

    # Field validators (not a model validator) so that errors name the field.
    @field_validator("exclusive")
    @classmethod
    def _exclusive_needs_two(cls, v: bool, info: ValidationInfo) -> bool:
        outcomes = info.data.get("outcomes")
        if v and outcomes is not None and len(outcomes) < 2:
            raise ValueError("an exclusive forecast needs at least 2 outcomes")
        return v


class Band(_Frozen):
    """Credit for an answer within `within` of the key (absolute, or a fraction of it)."""

    within: Annotated[float, Field(ge=0)]
    credit: Annotated[float, Field(gt=0, le=1)]


class Number(_Scored):
    """A number, credited by tolerance bands around the key: the first band (narrowest first)
    that contains the answer gives the credit; outside every band, 0."""

    kind: Literal["number"]
    rule: Literal["tolerance"] = "tolerance"
    unit: Annotated[str, Field(max_length=40)] = ""
    min: float | None = None  # answers outside [min, max] are malformed (e.g. a % above 100)
    max: float | None = None
    relative: bool = False  # band widths are fractions of |key| instead of absolute
    bands: Annotated[tuple[Band, ...], Field(min_length=1, max_length=10)]

    # Field validators (not a model validator) so that errors name the field.
    @field_validator("max")
    @classmethod
    def _min_below_max(cls, v: float | None, info: ValidationInfo) -> float | None:
        low = info.data.get("min")
        if v is not None and low is not None and low >= v:
            raise ValueError("min must be below max")
        return v

    @field_validator("bands")
    @classmethod
    def _bands_nest(cls, v: tuple[Band, ...]) -> tuple[Band, ...]:
        widths = [b.within for b in v]
        credits = [b.credit for b in v]
        if widths != sorted(set(widths)):
            raise ValueError("'within' must strictly increase (narrowest band first)")
        if credits != sorted(set(credits), reverse=True):
            raise ValueError("'credit' must strictly decrease (narrowest band first)")
        return v


class Text(_Item):
    """Free text that reviewers score against the rubric criteria it names."""

    kind: Literal["short_text", "long_text"]
    criteria: tuple[str, ...] = ()
    max_words: Annotated[int, Field(ge=1, le=20_000)] | None = None

    @property
    def word_limit(self) -> int:
        if self.max_words is not None:
            return self.max_words
        return SHORT_TEXT_WORDS if self.kind == "short_text" else LONG_TEXT_WORDS

    @property
    def char_limit(self) -> int:
        """The most characters an answer may hold (spaces and newlines included)."""
        return self.word_limit * CHARS_PER_WORD


Item = Annotated[
    SingleChoice | MultipleChoice | Ranking | Forecast | Number | Text,
    Field(discriminator="kind"),
]
ScoredItem = SingleChoice | MultipleChoice | Ranking | Forecast | Number


class Questions(_Frozen):
    """The parsed questions.toml."""

    answers_file: Annotated[str, Field(pattern=ANSWERS_FILE)] = "answers.toml"
    intro: Annotated[str, Field(max_length=20_000)] = ""
    items: Annotated[tuple[Item, ...], Field(min_length=1, max_length=200)]

    @model_validator(mode="after")
    def _unique_ids(self) -> Questions:
        seen: set[str] = set()
        for item in self.items:
            if item.id in seen:
                raise ValueError(f"item id {item.id!r} is used twice")
            seen.add(item.id)
        return self

    @property
    def max_score(self) -> float:
        """Points of the automatic items together."""
        return sum(i.points_or_zero for i in self.items)

    def scored(self) -> list[ScoredItem]:
        """The automatic items, in order."""
        return [i for i in self.items if not isinstance(i, Text)]

    def texts(self) -> list[Text]:
        """The text items (scored by reviewers), in order."""
        return [i for i in self.items if isinstance(i, Text)]

    def item(
        self, item_id: str
    ) -> SingleChoice | MultipleChoice | Ranking | Forecast | Number | Text:
        for i in self.items:
            if i.id == item_id:
                return i
        raise KeyError(item_id)


def item_error(path: Path, data: Any, err: ValidationError) -> str:
    """One line naming the file, the item (by id when it has one) and the field."""
    everything = err.errors()
    # A tuple whose items all failed also reports "too short": an echo, not another problem.
    inner = [tuple(e["loc"]) for e in everything]
    errors = [
        e
        for e in everything
        if not (
            e["type"] == "too_short"
            and any(len(o) > len(e["loc"]) and o[: len(e["loc"])] == tuple(e["loc"]) for o in inner)
        )
    ] or everything
    first = errors[0]
    loc = list(first["loc"])
    msg = first["msg"]
    if first["type"] == "missing":
        msg = "required field is missing"
    elif first["type"] == "extra_forbidden":
        msg = "unknown field (check the spelling; see docs/authoring-research-taste.md)"
    elif first["type"] == "union_tag_invalid":
        msg = f"unknown kind; expected one of {', '.join(k.value for k in ItemKind)}"
    elif first["type"] == "union_tag_not_found":
        msg = "required field 'kind' is missing"
    elif msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    where = ""
    if len(loc) >= 2 and loc[0] == "items" and isinstance(loc[1], int):
        index = loc[1]
        raw = data.get("items") if isinstance(data, dict) else None
        item_id = None
        if isinstance(raw, list) and index < len(raw) and isinstance(raw[index], dict):
            item_id = raw[index].get("id")
        where = (
            f"item {item_id!r} (items[{index}])" if isinstance(item_id, str) else f"items[{index}]"
        )
        loc = loc[2:]
        if loc and loc[0] in {k.value for k in ItemKind}:
            loc = loc[1:]  # the discriminator's tag, not a field
        field = ".".join(str(p) for p in loc)
        return f"{path}: {where}, field '{field or 'kind'}': {msg}{more}"
    field = ".".join(str(p) for p in loc) or "(top level)"
    return f"{path}: field '{field}': {msg}{more}"


def parse_questions(data: Any, path: Path) -> Questions:
    """Validate questions.toml's data.

    Raises:
        TaskSpecError: a field is wrong; the message names the file, item and field.
    """
    try:
        return Questions.model_validate(data)
    except ValidationError as e:
        raise TaskSpecError(item_error(path, data, e)) from None


def load_questions(
    path: Path, *, max_score: float | None = None, rubric: Rubric | None = None
) -> Questions:
    """Load a questions.toml and check it against the task's other files.

    Args:
        path: the questions.toml.
        max_score: the task's scoring.max_score; the automatic items' points must add up to it.
        rubric: the task's rubric; every criterion a text item names must exist in it.

    Raises:
        TaskSpecError: malformed file or inconsistent with task.toml / rubric.toml (named).
    """
    questions = parse_questions(read_toml(path), path)
    if max_score is not None:
        total = questions.max_score
        if abs(total - max_score) > 1e-6 * max(1.0, max_score):
            raise TaskSpecError(
                f"{path}: the automatic items' points add up to {total:g}, but task.toml "
                f"declares scoring.max_score = {max_score:g}"
            )
    known = {c.id for c in rubric.criteria} if rubric else set()
    for item in questions.texts():
        for criterion in item.criteria:
            if criterion not in known:
                raise TaskSpecError(
                    f"{path}: item {item.id!r}, field 'criteria': {criterion!r} is not a "
                    f"criterion in rubric.toml"
                    + ("" if rubric else " (the task has no rubric.toml)")
                )
    return questions
