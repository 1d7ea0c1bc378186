"""Writes 200 MB to stderr, then exits: bounded, marked, and graded."""

from tests.adversarial.case import Case, main_py

CASE = Case(
    build=main_py(
        "import sys\nfor _ in range(200 * 16):\n    sys.stderr.write('E' * 65536)\nANSWER = None\n"
    ),
    status=("graded",),
    run_log_has=("dropped by the grader",),
)
