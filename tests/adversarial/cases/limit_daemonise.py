"""Double-forks a daemon that closes its descriptors and outlives the main process."""

from tests.adversarial.case import Case, main_py

MARKER = "assess-adv-daemon-5502"

CASE = Case(
    build=main_py(
        "import os\n"
        "if os.fork() == 0:\n"
        "    os.setsid()\n"
        "    if os.fork() == 0:\n"
        "        os.closerange(0, 3)\n"
        f"        os.execvp('sleep', ['sleep', '600', '{MARKER}'])\n"
        "    os._exit(0)\n"
        "ANSWER = None\n"
    ),
    status=("graded",),
    max_seconds=30,
    marker=MARKER,
)
