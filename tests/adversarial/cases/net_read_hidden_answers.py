"""Searches the whole file system for the hidden answers and the check code."""

from tests.adversarial.case import Case, main_py

CASE = Case(
    build=main_py(
        "import os\n"
        "ANSWER = None\n"
        "found = []\n"
        "for root, dirs, files in os.walk('/', onerror=lambda e: None):\n"
        "    if root.startswith(('/proc', '/sys')):\n"
        "        dirs[:] = []\n"
        "        continue\n"
        "    for f in files:\n"
        "        if f in ('expected.json', 'assess_check.py'):\n"
        "            found.append(os.path.join(root, f))\n"
        "print('FOUND' if found else 'nothing found', found)\n"
    ),
    status=("graded",),
    run_log_has=("nothing found",),
)
