"""A zip holding a symlink to the host's password file."""

import stat
import zipfile
from pathlib import Path

from tests.adversarial.case import Case


def build(dest: Path) -> Path:
    z = dest / "link.zip"
    info = zipfile.ZipInfo("data.txt")
    info.create_system = 3
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("main.py", "ANSWER = None\n")
        zf.writestr(info, "/etc/shadow")
    return z


CASE = Case(build=build, status=("invalid",), max_score=0.0, explanation_has=("symlinks",))
