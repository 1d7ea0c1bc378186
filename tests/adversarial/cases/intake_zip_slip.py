"""A zip whose entry climbs out of the extraction folder."""

import zipfile
from pathlib import Path

from tests.adversarial.case import Case


def build(dest: Path) -> Path:
    z = dest / "slip.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("main.py", "ANSWER = None\n")
        zf.writestr("../../../../tmp/assess-zip-slip-pwned", "pwned")
    return z


CASE = Case(build=build, status=("invalid",), max_score=0.0, explanation_has=("'..'",))
