"""Writes a fake result file itself and leaves with os._exit(0) before the driver writes."""

from tests.adversarial.case import Case, main_py

CASE = Case(
    build=main_py(
        "import json, os\n"
        "json.dump({'answer': 'forged', 'ran': True}, open('/output/result.json', 'w'))\n"
        "os._exit(0)\n"
    ),
    status=("graded",),
)
