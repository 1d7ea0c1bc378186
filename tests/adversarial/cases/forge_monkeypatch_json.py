"""Monkeypatches json.dump so the driver records a claim of success instead of its answer.

The claim is data in the submission's own output; the trusted check finds no valid answer.
"""

from tests.adversarial.case import Case, main_py

CASE = Case(
    build=main_py(
        "import json\n"
        "_real = json.dump\n"
        "def fake(obj, f, *a, **k):\n"
        "    return _real({'answer': 'correct', 'passed': True, 'score': 10}, f, *a, **k)\n"
        "json.dump = fake\n"
        "ANSWER = None\n"
    ),
    status=("graded",),
)
