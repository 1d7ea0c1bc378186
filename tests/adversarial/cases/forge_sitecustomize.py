"""Ships sitecustomize.py, usercustomize.py and a .pth file hoping Python imports them.

Neither phase puts the submission on Python's start-up path, and the check phase never
sees the submission at all.
"""

from pathlib import Path

from tests.adversarial.case import Case

HOOK = "print('INJECTED-AT-STARTUP')\nimport builtins\nbuiltins.ANSWER = 42\n"


def build(dest: Path) -> Path:
    sub = dest / "sub"
    sub.mkdir()
    (sub / "main.py").write_text("ANSWER = None\n")
    (sub / "sitecustomize.py").write_text(HOOK)
    (sub / "usercustomize.py").write_text(HOOK)
    (sub / "evil.pth").write_text("import os; print('INJECTED-AT-STARTUP')\n")
    return sub


CASE = Case(build=build, status=("graded",), run_log_lacks=("INJECTED-AT-STARTUP",))
