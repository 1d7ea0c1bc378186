"""The pre-commit hooks are valid and check what `make lint` checks."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PRE_COMMIT = Path(sys.executable).with_name("pre-commit")

pytestmark = pytest.mark.skipif(
    not PRE_COMMIT.exists() or not (REPO / ".git").exists(),
    reason="pre-commit (the dev extra) or the git checkout is missing",
)


def _run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "home")}
    return subprocess.run(
        [str(PRE_COMMIT), *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=600
    )


def test_config_is_valid(tmp_path: Path) -> None:
    result = _run(tmp_path, "validate-config")
    assert result.returncode == 0, result.stdout + result.stderr


def test_hooks_pass_on_clean_files(tmp_path: Path) -> None:
    result = _run(tmp_path, "run", "--files", "grader/text.py", "api/job_queue.py")
    assert result.returncode == 0, result.stdout + result.stderr
    for hook in ("ruff check", "ruff format --check", "mypy"):
        assert hook in result.stdout and "Passed" in result.stdout


def test_hooks_catch_a_lint_error(tmp_path: Path) -> None:
    bad = tmp_path / "unused_import.py"
    bad.write_text("import os\n")
    result = _run(tmp_path, "run", "ruff-check", "--files", str(bad))
    assert result.returncode == 1
    assert "F401" in result.stdout
