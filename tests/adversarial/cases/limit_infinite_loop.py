"""Spins for ever; stopped at the task's wall-clock limit."""

from tests.adversarial.case import Case, main_py

CASE = Case(
    build=main_py("while True:\n    pass\n"),
    status=("timeout",),
    max_score=0.0,
    explanation_has=("time limit",),
)
