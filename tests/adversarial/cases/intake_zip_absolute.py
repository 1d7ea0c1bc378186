"""A zip with an absolute path entry."""

import zipfile
from pathlib import Path

from tests.adversarial.case import Case


def build(dest: Path) -> Path:
    z = dest / "abs.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("main.py", "ANSWER = None\n")
        zf.writestr("/etc/cron.d/assess-pwned", "* * * * * root true\n")
    return z


CASE = Case(build=build, status=("invalid",), max_score=0.0, explanation_has=("absolute",))
