"""Walks /proc for other processes (the engine, other gradings): it sees only its own."""

from tests.adversarial.case import Case, main_py

CASE = Case(
    build=main_py(
        "import os\n"
        "ANSWER = None\n"
        "pids = [p for p in os.listdir('/proc') if p.isdigit()]\n"
        "cmds = []\n"
        "for p in pids:\n"
        "    try:\n"
        "        cmds.append(open(f'/proc/{p}/cmdline', 'rb').read().replace(b'\\0', b' '))\n"
        "    except OSError:\n"
        "        pass\n"
        "print('process count', len(pids))\n"
        "print('HOST-VISIBLE' if any(b'dockerd' in c or b'containerd' in c for c in cmds)"
        " else 'isolated')\n"
    ),
    status=("graded",),
    run_log_has=("isolated",),
    run_log_lacks=("HOST-VISIBLE",),
)
