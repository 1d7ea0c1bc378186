"""Asks the cloud metadata service for credentials."""

from tests.adversarial.case import Case, main_py

CASE = Case(
    build=main_py(
        "import urllib.request\n"
        "ANSWER = None\n"
        "try:\n"
        "    urllib.request.urlopen('http://169.254.169.254/latest/meta-data/', timeout=3)\n"
        "    print('METADATA REACHED')\n"
        "except Exception as e:\n"
        "    print('blocked', e)\n"
    ),
    status=("graded",),
    run_log_lacks=("METADATA REACHED",),
)
