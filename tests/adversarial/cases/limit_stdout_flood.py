"""Floods stdout for ever: the log keeps a bounded head and tail and marks the drop."""

from tests.adversarial.case import Case, main_py

CASE = Case(
    build=main_py("import sys\nwhile True:\n    sys.stdout.write('A' * 65536)\n"),
    status=("timeout",),
    max_score=0.0,
    run_log_has=("dropped by the grader",),
)
