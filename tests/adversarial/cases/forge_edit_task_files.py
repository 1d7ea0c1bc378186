"""Tries to rewrite the task's driver and kit, and to chmod them writable."""

from tests.adversarial.case import Case, main_py

CASE = Case(
    build=main_py(
        "import os\n"
        "for p in ['/grading/run.py', '/kit/main.py', '/grading/inputs/note.txt']:\n"
        "    for op in (lambda: os.chmod(p, 0o777), lambda: open(p, 'a').write('#x'),\n"
        "               lambda: os.remove(p), lambda: os.rename(p, p + '.bak')):\n"
        "        try:\n"
        "            op()\n"
        "            print('CHANGED', p)\n"
        "        except OSError as e:\n"
        "            print('denied', p, e.strerror)\n"
        "ANSWER = None\n"
    ),
    status=("graded",),
    run_log_lacks=("CHANGED",),
    run_log_has=("Read-only file system",),
)
