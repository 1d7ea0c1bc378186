"""File names with terminal escapes and right-to-left overrides, to spoof a reviewer's view."""

import zipfile
from pathlib import Path

from tests.adversarial.case import Case


def build(dest: Path) -> Path:
    z = dest / "names.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("main.py", "ANSWER = None\n")
        zf.writestr("report\u202egnp.py", "x = 1\n")
        zf.writestr("\x1b]0;pwned\x07.txt", "x")
    return z


CASE = Case(
    build=build, status=("invalid",), max_score=0.0, explanation_has=("control or invisible",)
)
