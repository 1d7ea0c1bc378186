"""Ignores SIGTERM/SIGINT/SIGHUP and spins in several threads: only SIGKILL stops it."""

from tests.adversarial.case import Case, main_py

CASE = Case(
    build=main_py(
        "import signal, threading\n"
        "for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):\n"
        "    signal.signal(s, signal.SIG_IGN)\n"
        "def spin():\n"
        "    while True:\n"
        "        pass\n"
        "for _ in range(4):\n"
        "    threading.Thread(target=spin).start()\n"
        "spin()\n"
    ),
    status=("timeout",),
    max_score=0.0,
)
