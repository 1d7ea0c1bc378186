"""Leaves a symlink in its outputs pointing at where the answers live in the check phase.

Exported outputs never include links, so the check cannot be made to read its own answers
back as the submission's result.
"""

from tests.adversarial.case import Case, main_py

CASE = Case(
    build=main_py(
        "import os\n"
        "os.symlink('/grading/answers/expected.json', '/output/result.json')\n"
        "os._exit(0)\n"
    ),
    status=("graded",),
    max_score=0.0,
)
