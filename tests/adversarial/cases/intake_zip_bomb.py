"""A 60 KB zip that inflates to 100 MB of zeros, over the task's 100 KB limit."""

import zipfile
from pathlib import Path

from tests.adversarial.case import Case


def build(dest: Path) -> Path:
    z = dest / "bomb.zip"
    with zipfile.ZipFile(z, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        zf.writestr("main.py", "ANSWER = None\n")
        with zf.open("zeros.bin", "w", force_zip64=True) as f:
            block = b"\0" * (1 << 20)
            for _ in range(100):
                f.write(block)
    assert z.stat().st_size < 1_000_000
    return z


CASE = Case(
    build=build, status=("invalid",), max_score=0.0, max_seconds=20, explanation_has=("too large",)
)
