"""Prints one 50 MB line with no newline."""

from tests.adversarial.case import Case, main_py

CASE = Case(
    build=main_py("import sys\nsys.stdout.write('L' * (50 << 20))\nANSWER = None\n"),
    status=("graded",),
    run_log_has=("dropped by the grader",),
)
