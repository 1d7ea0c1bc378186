"""Research-taste items: `questions.toml`, the hidden key, answers files, scoring rules.

A research-taste task (``kind = "research-taste"``) is a form, not code: the applicant fills
in an answers file generated from the task's items, and the grader scores it on the host with
named rules (exact, partial credit, rank correlation, Brier/log scores, tolerance bands)
against a key whose forecast outcomes were measured by the task's own experiment scripts.
Text answers go to reviewers, scored against rubric.toml. See docs/authoring-research-taste.md.
"""

from grader.questions.answers import Answers, AnswersError, TextAnswer, parse_answers, read_answers
from grader.questions.key import KEY_FILE, OUTCOMES_DIR, Key, OutcomeRecord, load_key, load_outcomes
from grader.questions.model import QUESTIONS_FILE, ItemKind, Questions, load_questions
from grader.questions.scoring import score_answers
from grader.questions.template import answers_template

__all__ = [
    "KEY_FILE",
    "OUTCOMES_DIR",
    "QUESTIONS_FILE",
    "Answers",
    "AnswersError",
    "ItemKind",
    "Key",
    "OutcomeRecord",
    "Questions",
    "TextAnswer",
    "answers_template",
    "load_key",
    "load_outcomes",
    "load_questions",
    "parse_answers",
    "read_answers",
    "score_answers",
]
