"""The answers template that `assess bundle` puts in a research-taste kit.

TOML with a comment block per item: the prompt, how it is scored, the allowed ids with their
text, and the line to fill in. Unfilled, every item parses as unanswered, so the template
itself passes `assess check` (with a list of what is still open) and grades to 0.
"""

from __future__ import annotations

import json
import textwrap

from grader.questions.model import (
    Forecast,
    MultipleChoice,
    Number,
    Questions,
    Ranking,
    SingleChoice,
    Text,
)

__all__ = ["answers_template"]

_WIDTH = 96
_RULE_TEXT = {
    "exact": "full credit for the right option only",
    "option_credit": "the best option earns full credit, defensible ones part of it",
    "partial": "credit = (right picks - wrong picks) / number of right options, at least 0",
    "spearman": "Spearman rank correlation with a reference ranking (no credit below 0)",
    "kendall": "Kendall rank correlation with a reference ranking (no credit below 0)",
    "brier": "Brier score against what was measured: honest probabilities score best",
    "log": "log score against what was measured: honest probabilities score best",
    "tolerance": "full credit close to the measured value, less further away, 0 beyond",
}
_EXACT_SET_TEXT = "full credit only for exactly the right set of options"


def _comment(text: str, indent: str = "") -> list[str]:
    out: list[str] = []
    for paragraph in text.strip().splitlines():
        if not paragraph.strip():
            out.append("#")
            continue
        wrapped = textwrap.wrap(
            paragraph.strip(),
            width=_WIDTH - 2 - len(indent),
            break_long_words=False,
            break_on_hyphens=False,
        )
        out += [f"# {indent}{w}".rstrip() for w in wrapped]
    return out


def _options(options: dict[str, str]) -> list[str]:
    width = max(len(o) for o in options) + 2
    out: list[str] = []
    for option, text in options.items():
        lines = textwrap.wrap(
            " ".join(text.split()), width=_WIDTH - 6 - width, break_long_words=False
        )
        label = f'"{option}"'.ljust(width)
        out.append(f"#   {label} {lines[0] if lines else ''}".rstrip())
        out += [f"#   {' ' * width} {line}" for line in lines[1:]]
    return out


def _kind_text(item: SingleChoice | MultipleChoice | Ranking | Forecast | Number | Text) -> str:
    if isinstance(item, Text):
        names = ", ".join(item.criteria)
        scored = f"scored by reviewers ({names})" if names else "read by reviewers"
        limit = f"at most {item.word_limit} words and {item.char_limit} characters"
        return f"{item.kind.replace('_', ' ')}, {limit}, {scored}"
    points = f"{item.points:g} point{'s' if item.points != 1 else ''}"
    rule = _RULE_TEXT.get(item.rule, item.rule)
    if isinstance(item, MultipleChoice) and item.rule == "exact":
        rule = _EXACT_SET_TEXT
    return f"{item.kind.replace('_', ' ')}, {points}; {rule}"


def _item_block(
    item: SingleChoice | MultipleChoice | Ranking | Forecast | Number | Text,
) -> list[str]:
    lines = ["", "# " + "-" * (_WIDTH - 2)]
    lines += _comment(f"{item.id}: {item.title}")
    lines += _comment(f"({_kind_text(item)})")
    lines.append("#")
    lines += _comment(item.prompt)
    lines.append("#")
    if isinstance(item, SingleChoice):
        lines.append("# Pick exactly one option id:")
        lines += _options(item.options)
        lines += [f"[{item.id}]", 'choice = ""']
    elif isinstance(item, MultipleChoice):
        example = ", ".join(f'"{o}"' for o in list(item.options)[:2])
        lines.append(f"# Pick every option that applies (any number), e.g. choices = [{example}]:")
        lines += _options(item.options)
        lines += [f"[{item.id}]", "choices = []"]
    elif isinstance(item, Ranking):
        lines.append("# List ALL option ids, each exactly once, first = ranked highest:")
        lines += _options(item.options)
        lines += [f"[{item.id}]", "ranking = []"]
    elif isinstance(item, Forecast):
        if item.exclusive:
            lines.append(
                "# Exactly one of these happened. Give each a probability; they must sum to 1."
            )
        else:
            lines.append("# For each statement, the probability (0 to 1) that it is true.")
        lines.append("# Uncomment every line and replace the value:")
        lines.append(f"[{item.id}]")
        for outcome, text in item.outcomes.items():
            lines += _comment(text, indent="  ")
            lines.append(f"# {outcome} = 0.5")
    elif isinstance(item, Number):
        bounds = []
        if item.min is not None:
            bounds.append(f"at least {item.min:g}")
        if item.max is not None:
            bounds.append(f"at most {item.max:g}")
        unit = f" in {item.unit}" if item.unit else ""
        rng = f" ({', '.join(bounds)})" if bounds else ""
        lines.append(f"# A number{unit}{rng}. Uncomment and replace:")
        lines += [f"[{item.id}]", "# value = 0"]
    else:
        lines.append(
            "# Write between the ''' marks (no escaping needed; do not use ''' inside), or put"
        )
        lines.append('# the text in a Markdown file next to this one and write file = "name.md".')
        lines += [f"[{item.id}]", "text = '''", "'''"]
    return lines


def answers_template(questions: Questions, *, task_id: str, version: str, title: str) -> str:
    """The answers file to fill in, as text (TOML with comments; JSON without them)."""
    if questions.answers_file.endswith(".json"):
        skeleton: dict[str, object] = {}
        for item in questions.items:
            if isinstance(item, SingleChoice):
                skeleton[item.id] = {"choice": ""}
            elif isinstance(item, MultipleChoice):
                skeleton[item.id] = {"choices": []}
            elif isinstance(item, Ranking):
                skeleton[item.id] = {"ranking": []}
            elif isinstance(item, Text):
                skeleton[item.id] = {"text": ""}
            else:
                skeleton[item.id] = {}
        return json.dumps(skeleton, indent=2) + "\n"
    head = [
        f"# {questions.answers_file}: your answers to {title!r} ({task_id} {version}).",
        "#",
    ]
    head += _comment(
        "Fill in every item below and keep the structure. `assess check`, run in the kit folder, "
        "validates this file's format (never whether an answer is right). An item left as it is "
        "counts as unanswered and earns nothing. Submit this file (plus any Markdown files it "
        "names) or the whole kit folder."
    )
    if questions.intro.strip():
        head.append("#")
        head += _comment(questions.intro)
    lines = head
    for item in questions.items:
        lines += _item_block(item)
    return "\n".join(lines) + "\n"
