"""A zip with 100,000 tiny files: refused from the listing, without extracting them."""

import zipfile
from pathlib import Path

from tests.adversarial.case import Case


def build(dest: Path) -> Path:
    z = dest / "many.zip"
    with zipfile.ZipFile(z, "w", compression=zipfile.ZIP_STORED) as zf:
        zf.writestr("main.py", "ANSWER = None\n")
        for i in range(100_000):
            zf.writestr(f"f/{i}", b"")
    return z


CASE = Case(
    build=build, status=("invalid",), max_score=0.0, max_seconds=30, explanation_has=("too many",)
)
