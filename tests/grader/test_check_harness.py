"""The check harness as a process (as the check container starts it), on this machine's
Python without site-packages: what it loads, that check.py shares its module, and a
failure's traceback."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from grader.pipeline import HARNESS_DIR

CHECK_PY = textwrap.dedent(
    """
    import sys

    import assess_check
    from assess_check import Check

    def check(ctx):
        heavy = ("typing", "traceback", "dataclasses", "inspect")
        loaded = [m for m in heavy if m in sys.modules]
        one_module = assess_check is sys.modules["__main__"]
        return [Check("shared", " ".join(loaded) or "-", 1.0 if one_module else 0.0, 1.0)]
    """
)


def _run_harness(tmp_path: Path, check_py: str) -> tuple[int, Path]:
    grading, result = tmp_path / "grading", tmp_path / "result"
    grading.mkdir()
    (grading / "check.py").write_text(check_py)
    env = {
        "ASSESS_GRADING": str(grading),
        "ASSESS_OUTPUT": str(tmp_path / "output"),
        "ASSESS_KIT": str(tmp_path / "kit"),
        "ASSESS_RESULT": str(result),
        "ASSESS_RUN_EXIT_CODE": "0",
    }
    harness = HARNESS_DIR / "assess_check.py"
    done = subprocess.run(
        [sys.executable, "-S", "-E", str(harness)], env=env, capture_output=True, timeout=60
    )
    return done.returncode, result


def test_check_py_gets_the_harness_module_and_the_harness_loads_little(tmp_path: Path) -> None:
    # Every check container starts the harness: it loads traceback only for a failure, and
    # typing, dataclasses and inspect never; check.py's `import assess_check` is the running
    # harness itself (not a second copy with other Check and Context classes).
    code, result = _run_harness(tmp_path, CHECK_PY)
    assert code == 0
    rows = json.loads((result / "checks.json").read_text())["checks"]
    assert [(r["id"], r["name"], r["score"]) for r in rows] == [("shared", "-", 1.0)]


def test_a_failing_check_py_still_leaves_its_traceback(tmp_path: Path) -> None:
    code, result = _run_harness(tmp_path, "def check(ctx):\n    raise KeyError('no answer')\n")
    assert code == 1
    error = json.loads((result / "error.json").read_text())["error"]
    assert "KeyError: 'no answer'" in error and "check.py" in error


def _harness_module() -> Any:
    spec = importlib.util.spec_from_file_location(
        "harness_under_test", HARNESS_DIR / "assess_check.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_check_behaves_as_the_record_authors_write() -> None:
    h = _harness_module()
    a = h.Check("acc", "Accuracy", 3.0, 5)
    b = h.Check(id="acc", name="Accuracy", score=3.0, max_score=5, visibility="reviewer")
    assert a == b and a != h.Check("acc", "Accuracy", 4.0, 5) and a != ("acc",)
    assert (a.visibility, a.feedback) == ("reviewer", "")
    assert repr(a) == (
        "Check(id='acc', name='Accuracy', score=3.0, max_score=5, visibility='reviewer', "
        "feedback='')"
    )
    a.feedback += " more"  # a task adds to a check's feedback after making it
    assert a.as_row() == {
        "id": "acc",
        "name": "Accuracy",
        "score": 3.0,
        "max_score": 5,
        "visibility": "reviewer",
        "feedback": " more",
    }
    with pytest.raises(TypeError):
        h.Check("acc", "Accuracy", 3.0)  # max_score is required
    with pytest.raises(TypeError):
        h.Check("acc", "Accuracy", 3.0, 5, points=1)  # no such field
    with pytest.raises(TypeError):
        hash(a)  # mutable: not hashable


def test_context_cannot_be_changed_by_check_py(tmp_path: Path) -> None:
    h = _harness_module()
    args = [tmp_path / n for n in ("output", "answers", "inputs", "grading", "kit")]
    ctx = h.Context(*args, run_exit_code=0, run_timed_out=False)
    assert ctx.answers == tmp_path / "answers" and ctx.run_exit_code == 0
    assert ctx == h.Context(*args, 0, False) and hash(ctx) == hash(h.Context(*args, 0, False))
    assert ctx != h.Context(*args, None, True)
    assert repr(ctx).startswith(f"Context(output={tmp_path / 'output'!r}, answers=")
    for name in ("answers", "extra"):
        with pytest.raises(AttributeError):
            setattr(ctx, name, tmp_path)
    with pytest.raises(AttributeError):
        del ctx.answers
    assert ctx.answers == tmp_path / "answers"


def test_check_py_may_return_its_own_dataclasses_or_mappings(tmp_path: Path) -> None:
    own = textwrap.dedent(
        """
        from dataclasses import dataclass

        from assess_check import Check

        @dataclass
        class Mine:
            id: str
            name: str
            score: float
            max_score: float
            visibility: str = "applicant"
            feedback: str = ""

        def check(ctx):
            return [
                Check("a", "A", 1.0, 1.0),
                Mine("b", "B", 0.5, 2.0),
                {"id": "c", "name": "C", "score": 0, "max_score": 3},
            ]
        """
    )
    code, result = _run_harness(tmp_path, own)
    assert code == 0
    rows = json.loads((result / "checks.json").read_text())["checks"]
    assert rows == [
        {"id": "a", "name": "A", "score": 1.0, "max_score": 1.0, "visibility": "reviewer",
         "feedback": ""},
        {"id": "b", "name": "B", "score": 0.5, "max_score": 2.0, "visibility": "applicant",
         "feedback": ""},
        {"id": "c", "name": "C", "score": 0, "max_score": 3},
    ]  # fmt: skip
