"""A binary renamed .ipynb for a task that does not take notebooks."""

from pathlib import Path

from tests.adversarial.case import Case


def build(dest: Path) -> Path:
    f = dest / "work.ipynb"
    f.write_bytes(b"\x7fELF\x02\x01\x01" + b"\0" * 100)
    return f


CASE = Case(build=build, status=("invalid",), max_score=0.0, explanation_has=("notebook",))
