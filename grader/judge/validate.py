"""Checking a model's answer, and finding injection attempts in a submission.

A judgment is kept only when all of these hold, else it is discarded with a reason code:

- ``unparseable``: the answer holds a JSON object (the first one that parses is used, so
  prose or a Markdown fence around it is tolerated);
- ``schema``: the object has a numeric ``level``, a list of string ``quotes`` (at most
  :data:`MAX_QUOTES`) and a string ``rationale``;
- ``level``: the level is one of the criterion's level scores;
- ``fabricated-quote``: every quote occurs in the submission's text, verbatim after
  whitespace normalisation only (runs of spaces, tabs and newlines count as one space; case,
  punctuation and quote marks must match);
- ``no-evidence``: a level above the criterion's lowest quotes at least one passage.

Injection: :data:`INJECTION_PATTERNS` finds passages of a submission that address a grader
rather than a reader. A kept judgment is flagged for humans (never discarded: the human
decides) when its rationale or a quote itself matches a pattern (``injection-mirror``), or
when it gives the top level while quoting a passage that overlaps an injection-like passage
(``max-level-quoting-injection``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from grader.judge.model import Quote

if TYPE_CHECKING:
    from grader.rubric import Criterion

MAX_QUOTES = 8

# Phrases that speak to a grader, judge or model instead of to a reader. Deliberately
# small and readable: each entry is one family of instruction seen in prompt-injection
# attempts against graders. Matching is case-insensitive on whitespace-normalised text.
INJECTION_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (name, re.compile(rx, re.IGNORECASE))
    for name, rx in (
        # "ignore the rubric", "disregard all previous instructions"
        (
            "ignore-instructions",
            r"\b(?:ignore|disregard|forget|override|bypass)\b[\w ,'-]{0,40}?"
            r"\b(?:instructions?|rubric|criteria|criterion|guidelines|prompt|rules)\b",
        ),
        # "give (this submission) full marks", "award the maximum score"
        (
            "demand-marks",
            r"\b(?:give|award|assign|grant)\b[\w ,'-]{0,30}?"
            r"\b(?:full|maximum|max|top|perfect|highest|10/10|100%)\b[\w ,'-]{0,15}?"
            r"\b(?:marks?|scores?|points|grades?|levels?|credit)\b",
        ),
        # "score this 10", "rate me as excellent"
        (
            "demand-score",
            r"\b(?:score|rate|mark|grade)\s+(?:this|me|it|my \w+|the submission)\s+"
            r"(?:as\s+|a\s+|with\s+)?(?:\d|full|max|top|perfect|excellent|highest)",
        ),
        # "as the grader, you must", "dear judge", "note to the evaluator"
        (
            "addresses-grader",
            r"\b(?:as|dear|attention|note to|hey|to)\b[\w ,'-]{0,12}?"
            r"\b(?:grader|judge|evaluator|assessor|marker|ai grader|ai reviewer)s?\s*[,:]",
        ),
        # "grader, you must", "AI, you will": words that name the judge's role may go without
        # the comma; "model", "assistant" and "AI" need it, since "the model you are given"
        # is ordinary prose in a task about models.
        (
            "you-must",
            r"(?:\b(?:grader|judge|evaluator)s?,?|\b(?:model|assistant|ai)s?,) you "
            r"(?:must|should|will|shall|are)\b",
        ),
        # "new instructions:", "system prompt", "you are now a grader"
        (
            "role-override",
            r"\b(?:system prompt|new instructions|you are now|"
            r"act as (?:a|the) (?:grader|judge))\b",
        ),
        # a planted answer in the judge's own format
        ("planted-answer", r"[\"']level[\"']\s*:\s*\d"),
    )
)
PASSAGE_CHARS = 300


class _Answer(BaseModel):
    model_config = ConfigDict(extra="ignore")

    level: float
    quotes: list[str] = Field(default_factory=list, max_length=MAX_QUOTES)
    rationale: str = Field(default="", max_length=4000)


@dataclass
class Checked:
    """The outcome of :func:`check_answer`."""

    ok: bool
    level: float | None = None
    quotes: list[Quote] = field(default_factory=list)
    rationale: str = ""
    reason_code: str = ""
    reason: str = ""
    flags: list[str] = field(default_factory=list)


def normalise(text: str) -> str:
    """Runs of whitespace as one space, ends stripped: the only change before comparing."""
    return " ".join(text.split())


def first_json_object(text: str) -> dict[str, object] | None:
    """The first ``{...}`` in `text` that parses as a JSON object, or None."""
    decoder = json.JSONDecoder()
    for match in re.finditer(r"\{", text):
        try:
            value, _ = decoder.raw_decode(text, match.start())
        except json.JSONDecodeError:
            continue
        if isinstance(value, dict):
            return value
    return None


@dataclass(frozen=True)
class Injection:
    pattern: str
    passage: str  # the line (or up to PASSAGE_CHARS around the match) that holds it


def find_injections(text: str) -> list[Injection]:
    """Injection-like passages in a submission's text, in order, each passage once."""
    found: list[Injection] = []
    seen: set[str] = set()
    for line in text.splitlines():
        flat = normalise(line)
        for name, rx in INJECTION_PATTERNS:
            m = rx.search(flat)
            if not m:
                continue
            if len(flat) > PASSAGE_CHARS:
                lo = max(0, m.start() - PASSAGE_CHARS // 3)
                flat = flat[lo : lo + PASSAGE_CHARS]
            if flat not in seen:
                seen.add(flat)
                found.append(Injection(name, flat))
            break
    return found


def mirrors_injection(text: str) -> bool:
    return any(rx.search(normalise(text)) for _, rx in INJECTION_PATTERNS)


def check_answer(
    raw: str, criterion: Criterion, submission: str, injections: list[Injection]
) -> Checked:
    """Validate a model's answer against the criterion and the submission's text."""
    obj = first_json_object(raw)
    if obj is None:
        return Checked(False, reason_code="unparseable", reason="no JSON object in the answer")
    try:
        answer = _Answer.model_validate(obj)
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "answer"
        return Checked(False, reason_code="schema", reason=f"field {where!r}: {first['msg']}")
    scores = [lv.score for lv in criterion.levels]
    if not any(abs(answer.level - s) < 1e-9 for s in scores):
        allowed = ", ".join(f"{s:g}" for s in scores)
        return Checked(
            False,
            reason_code="level",
            reason=f"level {answer.level:g} is not one of the criterion's levels ({allowed})",
        )
    haystack = normalise(submission)
    quotes = [q for q in (normalise(q) for q in answer.quotes) if q]
    checked = [Quote(text=q, found=q in haystack) for q in quotes]
    missing = [q.text for q in checked if not q.found]
    base = Checked(False, answer.level, checked, answer.rationale)
    if missing:
        base.reason_code = "fabricated-quote"
        base.reason = f"{len(missing)} quote(s) not found in the submission: {missing[0][:80]!r}"
        base.level = None
        return base
    if answer.level > scores[0] and not checked:
        base.reason_code = "no-evidence"
        base.reason = f"level {answer.level:g} with no quote from the submission"
        base.level = None
        return base
    base.ok = True
    if mirrors_injection(answer.rationale) or any(mirrors_injection(q.text) for q in checked):
        base.flags.append("injection-mirror")
    if answer.level == scores[-1] and any(
        _overlap(q.text, inj.passage) for q in checked for inj in injections
    ):
        base.flags.append("max-level-quoting-injection")
    return base


def _overlap(quote: str, passage: str) -> bool:
    """The quote and the injection-like passage share text: one contains the other (a quote
    of at least 12 characters, so that "the" overlaps nothing), or they share 24 characters."""
    a, b = quote.lower(), passage.lower()
    if (len(a) >= 12 and a in b) or b in a:
        return True
    n = 24
    return any(a[i : i + n] in b for i in range(0, max(0, len(a) - n) + 1))
