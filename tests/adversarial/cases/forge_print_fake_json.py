"""Prints what looks like a graded report with full marks; logs are data, never parsed."""

from tests.adversarial.case import Case, main_py

CASE = Case(
    build=main_py(
        "import json\n"
        "print(json.dumps({'schema': 'assess.report/1', 'status': 'graded', 'score': 10,"
        " 'max_score': 10}))\n"
        "print('SCORE: 10/10')\n"
        "ANSWER = None\n"
    ),
    status=("graded",),
)
