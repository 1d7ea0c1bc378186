"""Trusted check-phase harness. Runs inside the check container; stdlib only.

Mounted read-only at /assess and run as ``python /assess/assess_check.py``. It imports the
task's ``/grading/check.py`` and calls its ``check(ctx)``, which returns a list of checks.
Task authors import the types from here::

    from assess_check import Check, Context

    def check(ctx: Context) -> list[Check]:
        ...

The result goes to ``/result/checks.json``; a failure of check.py itself goes to
``/result/error.json`` with its traceback (the grader reports it as a task error, never as
the applicant's fault). No submission code runs in this container: ``ctx.output`` holds only
the data the run phase wrote, to be read with json / numpy (allow_pickle=False) / safetensors.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import sys
from pathlib import Path

# Every check container starts this file: traceback is imported for a failure only, typing
# only by type checkers, and dataclasses never (it imports inspect: ~8 ms of CPU in every
# check container, a fifth of what the harness adds to `python -c pass`). Check and Context
# are therefore plain classes below, with what their dataclass versions offered.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

RESULT_DIR = Path(os.environ.get("ASSESS_RESULT", "/result"))
# Submission-controlled text quoted in feedback is clipped to this by default.
MAX_QUOTED_CHARS = 200


class _Record:
    """What a dataclass gives its instances: a repr and equality by FIELDS, in order."""

    __slots__ = ()
    FIELDS: tuple[str, ...] = ()

    def _values(self) -> tuple[object, ...]:
        return tuple(getattr(self, name) for name in self.FIELDS)

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.FIELDS)
        return f"{type(self).__name__}({fields})"

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._values() == other._values()  # type: ignore[attr-defined]


class Context(_Record):
    """What check.py may read; its attributes cannot be set. All paths are read-only.

    - ``output``: what the untrusted run phase wrote (data only)
    - ``answers``: hidden answers (grading/answers/)
    - ``inputs``: hidden inputs the run phase also saw (grading/inputs/)
    - ``grading``: the whole grading/ folder
    - ``kit``: the applicant kit (starter/)
    - ``run_exit_code``: None when the run phase timed out
    - ``run_timed_out``
    """

    FIELDS = ("output", "answers", "inputs", "grading", "kit", "run_exit_code", "run_timed_out")
    __slots__ = FIELDS
    output: Path
    answers: Path
    inputs: Path
    grading: Path
    kit: Path
    run_exit_code: int | None
    run_timed_out: bool

    def __init__(
        self,
        output: Path,
        answers: Path,
        inputs: Path,
        grading: Path,
        kit: Path,
        run_exit_code: int | None,
        run_timed_out: bool,
    ) -> None:
        values = (output, answers, inputs, grading, kit, run_exit_code, run_timed_out)
        for name, value in zip(self.FIELDS, values, strict=True):
            object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"Context is read-only: cannot set {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"Context is read-only: cannot delete {name!r}")

    def __hash__(self) -> int:
        return hash(self._values())

    def read_json(self, name: str, max_bytes: int = 10_000_000) -> Any:
        """Read a JSON file the run phase wrote.

        Returns None if it is missing; raises ValueError if it is too big, not UTF-8, not
        JSON or nested too deeply (all of which hostile outputs do).
        """
        p = self.output / name
        if not p.is_file():
            return None
        if p.stat().st_size > max_bytes:
            raise ValueError(f"{name} is larger than {max_bytes} bytes")
        try:
            return json.loads(p.read_text(encoding="utf-8"))
        except RecursionError:
            # Hostile nesting ("[[[[...") must read as bad data, not crash the check.
            raise ValueError(f"{name} is nested too deeply") from None
        except UnicodeDecodeError as e:
            raise ValueError(f"{name} is not UTF-8: {e.reason}") from None


class Check(_Record):
    """One scored check. `score` is clamped by the grader to [0, max_score] only if valid;
    `visibility` is "applicant" or "reviewer". Its attributes may be changed until
    check() returns."""

    FIELDS = ("id", "name", "score", "max_score", "visibility", "feedback")
    id: str
    name: str
    score: float
    max_score: float
    visibility: str
    feedback: str

    def __init__(
        self,
        id: str,
        name: str,
        score: float,
        max_score: float,
        visibility: str = "reviewer",
        feedback: str = "",
    ) -> None:
        self.id, self.name, self.score, self.max_score = id, name, score, max_score
        self.visibility, self.feedback = visibility, feedback

    __hash__ = None  # type: ignore[assignment]  # mutable, like a dataclass with eq

    def as_row(self) -> dict[str, Any]:
        """The check as checks.json holds it."""
        return dict(zip(self.FIELDS, self._values(), strict=True))


def _row(check: object) -> dict[str, Any]:
    """One of check()'s results as a row of checks.json: a Check, a dataclass of check.py's
    own with the same fields, or a mapping."""
    if isinstance(check, Check):
        return check.as_row()
    dataclasses = sys.modules.get("dataclasses")  # only check.py's own dataclasses need it
    if dataclasses is not None and dataclasses.is_dataclass(check) and not isinstance(check, type):
        return dict(dataclasses.asdict(check))
    row: dict[str, Any] = dict(check)  # type: ignore[call-overload]
    return row


def credit(value: float, zero_at: float, full_at: float) -> float:
    """Linear partial credit in [0, 1]: 0 at `zero_at`, 1 at `full_at` (either order)."""
    if not math.isfinite(value):
        return 0.0
    if full_at == zero_at:
        return 1.0 if value >= full_at else 0.0
    frac = (value - zero_at) / (full_at - zero_at)
    return max(0.0, min(1.0, frac))


def clip(text: object, limit: int = MAX_QUOTED_CHARS) -> str:
    """Submission-controlled text for feedback: one line of at most `limit` characters."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def as_number(value: object) -> float | None:
    """A JSON number as a finite float; None for anything else (bool, str, NaN, 10**400)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:  # a JSON integer too large for a float
        return None
    return number if math.isfinite(number) else None


def import_kit(ctx: Context, filename: str, name: str | None = None) -> Any:
    """Import one of the kit's Python files (e.g. the model's code in starter/model.py),
    trusted code shipped with the task, as module `name` (default: from the file name)."""
    path = ctx.kit / filename
    module_name = name or "kit_" + Path(filename).stem.replace("-", "_")
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise RuntimeError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def _load_check_module(path: Path) -> Any:
    spec = importlib.util.spec_from_file_location("task_check", path)
    if spec is None or spec.loader is None:
        raise RuntimeError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules["task_check"] = module
    spec.loader.exec_module(module)
    return module


def _gate() -> None:
    """Started ahead of need (``ASSESS_GATE=1``, while the run phase still runs): wait for
    the grader's one line on stdin, the run's result as environment variables, before
    anything else (grader.sandbox.base.GATE_ENV)."""
    if os.environ.pop("ASSESS_GATE", "") != "1":
        return
    line = sys.stdin.readline()
    if not line.strip():
        raise SystemExit("the grader closed the gate without starting the check")
    os.environ.update({str(k): str(v) for k, v in json.loads(line).items()})


def main() -> int:
    _gate()
    grading = Path(os.environ.get("ASSESS_GRADING", "/grading"))
    exit_code = os.environ.get("ASSESS_RUN_EXIT_CODE", "")
    ctx = Context(
        output=Path(os.environ.get("ASSESS_OUTPUT", "/output")),
        answers=grading / "answers",
        inputs=grading / "inputs",
        grading=grading,
        kit=Path(os.environ.get("ASSESS_KIT", "/kit")),
        run_exit_code=int(exit_code) if exit_code else None,
        run_timed_out=os.environ.get("ASSESS_RUN_TIMED_OUT") == "1",
    )
    RESULT_DIR.mkdir(parents=True, exist_ok=True)
    sys.path.insert(0, str(grading))
    try:
        module = _load_check_module(grading / "check.py")
        checks = module.check(ctx)
        rows = [_row(c) for c in checks]
        (RESULT_DIR / "checks.json").write_text(json.dumps({"checks": rows}), encoding="utf-8")
    except Exception:
        import traceback

        (RESULT_DIR / "error.json").write_text(
            json.dumps({"error": traceback.format_exc(limit=20)}), encoding="utf-8"
        )
        traceback.print_exc()
        return 1
    return 0


if __name__ == "__main__":
    # check.py's `from assess_check import ...` gets this module, not a second copy of it
    # (another import, and other Check and Context classes).
    sys.modules.setdefault("assess_check", sys.modules[__name__])
    sys.exit(main())
