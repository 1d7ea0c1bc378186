"""A 4,000-character file name."""

import zipfile
from pathlib import Path

from tests.adversarial.case import Case


def build(dest: Path) -> Path:
    z = dest / "long.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("main.py", "ANSWER = None\n")
        zf.writestr("a" * 4000 + ".py", "x = 1\n")
    return z


CASE = Case(build=build, status=("invalid",), max_score=0.0, explanation_has=("longer than",))
