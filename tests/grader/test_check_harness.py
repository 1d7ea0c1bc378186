"""The check harness as a process (as the check container starts it), on this machine's
Python without site-packages: what it loads, that check.py shares its module, and a
failure's traceback."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

from grader.pipeline import HARNESS_DIR

CHECK_PY = textwrap.dedent(
    """
    import sys

    import assess_check
    from assess_check import Check

    def check(ctx):
        loaded = [m for m in ("typing", "traceback") if m in sys.modules]
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
    # Every check container starts the harness: it loads traceback only for a failure and
    # typing never, and check.py's `import assess_check` is the running harness itself
    # (not a second copy with other Check and Context classes).
    code, result = _run_harness(tmp_path, CHECK_PY)
    assert code == 0
    rows = json.loads((result / "checks.json").read_text())["checks"]
    assert [(r["id"], r["name"], r["score"]) for r in rows] == [("shared", "-", 1.0)]


def test_a_failing_check_py_still_leaves_its_traceback(tmp_path: Path) -> None:
    code, result = _run_harness(tmp_path, "def check(ctx):\n    raise KeyError('no answer')\n")
    assert code == 1
    error = json.loads((result / "error.json").read_text())["error"]
    assert "KeyError: 'no answer'" in error and "check.py" in error
