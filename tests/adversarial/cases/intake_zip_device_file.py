"""A zip whose entry claims to be a character device."""

import stat
import zipfile
from pathlib import Path

from tests.adversarial.case import Case


def build(dest: Path) -> Path:
    z = dest / "dev.zip"
    info = zipfile.ZipInfo("null")
    info.create_system = 3
    info.external_attr = (stat.S_IFCHR | 0o666) << 16
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("main.py", "ANSWER = None\n")
        zf.writestr(info, "")
    return z


CASE = Case(build=build, status=("invalid",), max_score=0.0, explanation_has=("not a regular",))
