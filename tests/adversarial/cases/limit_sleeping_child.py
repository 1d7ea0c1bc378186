"""Starts a child in its own session that sleeps for ten minutes, then returns at once."""

from tests.adversarial.case import Case, main_py

MARKER = "assess-adv-sleeper-5501"

CASE = Case(
    build=main_py(
        "import subprocess\n"
        f"subprocess.Popen(['sleep', '600', '{MARKER}'], start_new_session=True)\n"
        "ANSWER = None\n"
    ),
    status=("graded",),
    max_seconds=30,
    marker=MARKER,
)
