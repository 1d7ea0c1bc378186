"""What an adversarial case declares. Each file in cases/ defines ``CASE = Case(...)``.

A case builds a submission (usually main.py for the fixture task py-exec, whose starter
earns 2 of 10) and states the outcome it expects. The runner asserts, for every case:
the status, a score no higher than the starter's, a bounded grading time, nothing of ours
left in the engine, no marker process left on the host, the task folder unchanged, and
the host's disk use not grown.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

STARTER_SCORE = 2.0


def main_py(code: str) -> Callable[[Path], Path]:
    """A builder for a folder submission holding one main.py."""

    def build(dest: Path) -> Path:
        sub = dest / "sub"
        sub.mkdir()
        (sub / "main.py").write_text(code)
        return sub

    return build


@dataclass(frozen=True)
class Case:
    """One hostile submission and the behaviour it must produce."""

    build: Callable[[Path], Path]
    status: tuple[str, ...]  # acceptable statuses
    max_seconds: float = 60.0  # whole grading, wall clock
    max_score: float = STARTER_SCORE
    explanation_has: tuple[str, ...] = ()  # substrings of the report's explanation
    run_log_has: tuple[str, ...] = ()  # substrings of the run log
    run_log_lacks: tuple[str, ...] = ()  # must never appear in the run log
    html_lacks: tuple[str, ...] = ()  # must never appear in the rendered HTML report
    marker: str = ""  # a process whose args hold this must not survive
    extra: dict[str, object] = field(default_factory=dict)
