"""Writes a fake perfect result into every place it can reach, then exits cleanly."""

from tests.adversarial.case import Case, main_py

CASE = Case(
    build=main_py(
        "import json, os\n"
        "fake = json.dumps({'checks': [{'id': 'answer', 'name': 'x', 'score': 10,"
        " 'max_score': 10}], 'score': 10, 'status': 'graded'})\n"
        "for p in ['/output/checks.json', '/output/report.json', '/result/checks.json',\n"
        "          '/grading/check.py', '/grading/answers/expected.json', '/kit/main.py',\n"
        "          '/assess/assess_check.py', '/submission/checks.json', '/tmp/checks.json',\n"
        "          os.path.expanduser('~/checks.json'), '/checks.json', '/etc/checks.json']:\n"
        "    try:\n"
        "        open(p, 'w').write(fake)\n"
        "        print('wrote', p)\n"
        "    except OSError as e:\n"
        "        print('denied', p, e.strerror)\n"
        "ANSWER = None\n"
    ),
    status=("graded",),
    run_log_lacks=("wrote /result", "wrote /grading", "wrote /kit", "wrote /assess", "wrote /etc"),
)
