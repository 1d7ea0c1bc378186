"""A fork bomb that keeps forking at the pids limit until the wall clock stops it."""

from tests.adversarial.case import Case, main_py

CASE = Case(
    build=main_py(
        "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n"
    ),
    status=("timeout",),
    max_score=0.0,
)
