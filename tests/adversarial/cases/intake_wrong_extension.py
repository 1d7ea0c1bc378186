"""An executable renamed to look like a notebook, then like a tarball."""

from pathlib import Path

from tests.adversarial.case import Case


def build(dest: Path) -> Path:
    f = dest / "submission.tar.gz"
    f.write_bytes(b"\x7fELF\x02\x01\x01" + b"\0" * 100)
    return f


CASE = Case(build=build, status=("invalid",), max_score=0.0, explanation_has=("unsupported",))
