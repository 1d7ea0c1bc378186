"""The answers file a submission fills in, parsed as hostile data and checked against the items.

One table per item, named by the item's id (the template from `assess bundle` has them all)::

    [best_support]            # single_choice
    choice = "b"
    [confounds]               # multiple_choice
    choices = ["length", "token"]
    [followups]               # ranking: every option id once, best first
    ranking = ["b", "c", "a", "d", "e"]
    [forecasts]               # forecast: outcome id -> probability in [0, 1]
    layer0 = 0.8
    untrained = 0.7
    [effect]                  # number
    value = 12.5
    [plan]                    # short_text / long_text: inline, or a file in the submission
    text = '''...'''          # or: file = "plan.md"

A missing table (or an empty choice, list or text) is *unanswered*: it earns 0. Anything
malformed makes the whole file invalid with one line naming the item and what is wrong, so
the applicant can fix it: unknown ids, duplicates, a partial forecast, a probability outside
[0, 1], a non-finite number, an unknown field. The file is TOML (``.toml``) or JSON
(``.json``); it is read with a size limit and never executed.
"""

from __future__ import annotations

import json
import math
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from grader.errors import AssessError
from grader.questions.model import (
    CHARS_PER_WORD,
    Forecast,
    MultipleChoice,
    Number,
    Questions,
    Ranking,
    SingleChoice,
    Text,
)

MAX_ANSWERS_BYTES = 1_000_000
MAX_TEXT_FILE_BYTES = 256_000
_FIELDS = {
    "single_choice": "choice",
    "multiple_choice": "choices",
    "ranking": "ranking",
    "number": "value",
}


class AnswersError(AssessError):
    """The answers file is malformed; the message names the file, the item and the problem."""


@dataclass(frozen=True)
class TextAnswer:
    text: str
    source: str  # the answers file, or the file it named
    words: int


AnswerValue = str | frozenset[str] | tuple[str, ...] | dict[str, float] | float | TextAnswer


@dataclass(frozen=True)
class Answers:
    """Validated answers: item id -> value, or None when the item was left unanswered."""

    file: str
    values: dict[str, AnswerValue | None]

    def answered(self) -> list[str]:
        return [k for k, v in self.values.items() if v is not None]

    def unanswered(self) -> list[str]:
        return [k for k, v in self.values.items() if v is None]


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _ids(ids: list[str] | tuple[str, ...]) -> str:
    shown = ", ".join(f'"{i}"' for i in ids[:12])
    return shown + (", ..." if len(ids) > 12 else "")


class _Parser:
    def __init__(self, file: str, root: Path | None) -> None:
        self.file = file
        self.root = root

    def fail(self, item: str, msg: str) -> AnswersError:
        return AnswersError(f"{self.file}: item '{item}': {msg}")

    def table(self, item: str, raw: Any, allowed: set[str]) -> dict[str, Any]:
        if not isinstance(raw, dict):
            raise self.fail(item, f"expected a table [{item}], got {type(raw).__name__}")
        unknown = [k for k in raw if k not in allowed]
        if unknown:
            raise self.fail(
                item, f"unknown field {_show(unknown[0])} (expected {_ids(sorted(allowed))})"
            )
        return raw

    def string_list(self, item: str, field: str, raw: Any) -> list[str]:
        if not isinstance(raw, list) or not all(isinstance(x, str) for x in raw):
            raise self.fail(item, f"'{field}' must be a list of option ids (strings)")
        return list(raw)

    def options(self, item: SingleChoice | MultipleChoice | Ranking, chosen: list[str]) -> None:
        unknown = [c for c in chosen if c not in item.options]
        if unknown:
            raise self.fail(
                item.id,
                f"unknown option id {_show(unknown[0])} (allowed: {_ids(list(item.options))})",
            )
        dups = sorted({c for c in chosen if chosen.count(c) > 1})
        if dups:
            raise self.fail(item.id, f"option id {_show(dups[0])} is given more than once")

    def number(self, item: str, what: str, raw: Any) -> float:
        if isinstance(raw, bool) or not isinstance(raw, int | float):
            raise self.fail(item, f"{what} must be a number, got {_show(raw)}")
        try:
            value = float(raw)
        except OverflowError:
            raise self.fail(item, f"{what} is too large") from None
        if not math.isfinite(value):
            raise self.fail(item, f"{what} must be a finite number, got {_show(raw)}")
        return value

    # ------------------------------------------------------------------ kinds

    def single(self, item: SingleChoice, raw: dict[str, Any]) -> str | None:
        choice = raw.get("choice", "")
        if not isinstance(choice, str):
            raise self.fail(item.id, "'choice' must be one option id (a string)")
        if choice == "":
            return None
        self.options(item, [choice])
        return choice

    def multiple(self, item: MultipleChoice, raw: dict[str, Any]) -> frozenset[str] | None:
        if "choices" not in raw:
            return None
        chosen = self.string_list(item.id, "choices", raw["choices"])
        if not chosen:  # the template's `choices = []`: unanswered, like an empty choice
            return None
        self.options(item, chosen)
        return frozenset(chosen)

    def ranking(self, item: Ranking, raw: dict[str, Any]) -> tuple[str, ...] | None:
        order = self.string_list(item.id, "ranking", raw.get("ranking", []))
        if not order:
            return None
        self.options(item, order)
        missing = [o for o in item.options if o not in order]
        if missing:
            raise self.fail(
                item.id, f"the ranking must list every option once; missing {_ids(missing)}"
            )
        return tuple(order)

    def forecast(self, item: Forecast, raw: dict[str, Any]) -> dict[str, float] | None:
        if not raw:
            return None
        probs: dict[str, float] = {}
        for outcome, value in raw.items():
            p = self.number(item.id, f"the probability for {_show(outcome)}", value)
            if not 0.0 <= p <= 1.0:
                hint = " (write 0.7, not 70)" if 1 < p <= 100 else ""
                raise self.fail(
                    item.id, f"probability {p:g} for '{outcome}' is outside [0, 1]{hint}"
                )
            probs[outcome] = p
        missing = [o for o in item.outcomes if o not in probs]
        if missing:
            raise self.fail(item.id, f"no probability for {_ids(missing)}: give one for each")
        if item.exclusive:
            total = sum(probs.values())
            if abs(total - 1.0) > 0.01:
                raise self.fail(
                    item.id,
                    f"the outcomes are exclusive: probabilities must sum to 1, not {total:.3g}",
                )
            probs = {o: p / total for o, p in probs.items()} if total > 0 else probs
        return probs

    def value(self, item: Number, raw: dict[str, Any]) -> float | None:
        if "value" not in raw:
            return None
        v = self.number(item.id, "'value'", raw["value"])
        if item.min is not None and v < item.min:
            raise self.fail(item.id, f"value {v:g} is below the allowed minimum {item.min:g}")
        if item.max is not None and v > item.max:
            raise self.fail(item.id, f"value {v:g} is above the allowed maximum {item.max:g}")
        return v

    def text(self, item: Text, raw: dict[str, Any]) -> TextAnswer | None:
        if "text" in raw and "file" in raw:
            raise self.fail(item.id, "give 'text' or 'file', not both")
        source = self.file
        if "file" in raw:
            name = raw["file"]
            if not isinstance(name, str) or not name:
                raise self.fail(item.id, "'file' must be a file name (a string)")
            content = self.read_text_file(item.id, name)
            source = name
        else:
            content = raw.get("text", "")
            if not isinstance(content, str):
                raise self.fail(item.id, "'text' must be a string")
        if not content.strip():
            return None
        words = len(content.split())
        if words > item.word_limit:
            raise self.fail(item.id, f"{words} words; at most {item.word_limit} are allowed")
        if len(content) > item.char_limit:
            raise self.fail(
                item.id,
                f"{len(content)} characters; at most {item.char_limit} are allowed "
                f"({CHARS_PER_WORD} per allowed word, spaces included)",
            )
        return TextAnswer(text=content, source=source, words=words)

    def read_text_file(self, item: str, name: str) -> str:
        rel = PurePosixPath(name)
        if rel.is_absolute() or ".." in rel.parts or "\\" in name:
            raise self.fail(
                item, f"'file' {_show(name)} must be a relative path inside the submission"
            )
        if self.root is None:
            raise self.fail(item, "'file' is not supported here: write the text inline")
        path = self.root / rel
        if path.is_symlink() or not path.is_file():
            raise self.fail(item, f"'file' {_show(name)} is not in the submission")
        if path.stat().st_size > MAX_TEXT_FILE_BYTES:
            raise self.fail(
                item, f"'file' {_show(name)} is larger than {MAX_TEXT_FILE_BYTES} bytes"
            )
        try:
            return path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise self.fail(item, f"'file' {_show(name)} is not UTF-8 text") from None


def parse_answers(
    data: Any, questions: Questions, *, file: str = "answers.toml", root: Path | None = None
) -> Answers:
    """Check parsed answers data against the items.

    Args:
        data: the parsed file (a dict from TOML or JSON).
        questions: the task's items.
        file: the file's name, used in messages.
        root: the submission folder, for text answers given as `file = "..."`.

    Raises:
        AnswersError: malformed; the message names the item and what is wrong.
    """
    if not isinstance(data, dict):
        raise AnswersError(f"{file}: expected a table per item at the top level")
    known = {i.id for i in questions.items}
    unknown = [k for k in data if k not in known]
    if unknown:
        items = _ids([i.id for i in questions.items])
        raise AnswersError(f"{file}: unknown item {_show(unknown[0])} (items: {items})")
    p = _Parser(file, root)
    values: dict[str, AnswerValue | None] = {}
    for item in questions.items:
        raw = data.get(item.id)
        if raw is None:
            values[item.id] = None
            continue
        value: AnswerValue | None
        if isinstance(item, Forecast):
            value = p.forecast(item, p.table(item.id, raw, set(item.outcomes)))
        elif isinstance(item, Text):
            value = p.text(item, p.table(item.id, raw, {"text", "file"}))
        else:
            table = p.table(item.id, raw, {_FIELDS[item.kind]})
            if isinstance(item, SingleChoice):
                value = p.single(item, table)
            elif isinstance(item, MultipleChoice):
                value = p.multiple(item, table)
            elif isinstance(item, Ranking):
                value = p.ranking(item, table)
            else:
                value = p.value(item, table)
        values[item.id] = value
    return Answers(file=file, values=values)


def load_answers_data(path: Path, *, max_bytes: int = MAX_ANSWERS_BYTES) -> Any:
    """Read an answers file as data (TOML or JSON by its suffix), with a size limit.

    Raises:
        AnswersError: missing, too big, not UTF-8, or not valid TOML/JSON.
    """
    name = path.name
    if path.is_symlink() or not path.is_file():
        raise AnswersError(f"{name}: not found in the submission")
    size = path.stat().st_size
    if size > max_bytes:
        raise AnswersError(f"{name}: {size} bytes, more than the {max_bytes} allowed")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise AnswersError(f"{name}: not UTF-8 text") from None
    kind = "JSON" if path.suffix == ".json" else "TOML"
    try:
        return json.loads(text) if kind == "JSON" else tomllib.loads(text)
    except RecursionError:
        raise AnswersError(f"{name}: not valid {kind}: nested too deeply") from None
    except ValueError as e:  # TOMLDecodeError and JSONDecodeError are ValueErrors
        raise AnswersError(f"{name}: not valid {kind}: {_parse_problem(e)}") from None


def _parse_problem(error: ValueError) -> str:
    """A parser's complaint as one short line. Python's limit on integer digits (4300),
    which both parsers hit, is said plainly rather than with its advice to change it."""
    text = str(error)
    if "integer string conversion" in text:
        return f"a number has more than {sys.get_int_max_str_digits()} digits"
    line = " ".join(text.split())
    return line if len(line) <= 200 else line[:197] + "..."


def read_answers(root: Path, questions: Questions) -> Answers:
    """Read and validate the answers file in a submission (or kit) folder.

    Raises:
        AnswersError: missing or malformed; the message names the item and the problem.
    """
    data = load_answers_data(root / questions.answers_file)
    return parse_answers(data, questions, file=questions.answers_file, root=root)
