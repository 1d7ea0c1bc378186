"""Recorded experiment outcomes hold whichever kernels the CPU picks.

`assess task validate` re-runs a research-taste task's experiments under the pinned numerics
they were recorded with (tests/test_tasks.py covers that). Here every experiment runs again
under this CPU's native kernels (ATen's AVX2/AVX-512 paths, MKL's own code path, numpy's
dispatch): every boolean claim of the key must come out the same and every figure stay within
its recorded tolerance, which is derived from the seeds' spread. A claim that flips with the
kernels cannot grade an applicant. (Committed models: tests/test_task_models.py rebuilds each
under both settings.)
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from grader.numerics import NATIVE, PINNED, SETTINGS, setting_env
from grader.questions.outcomes import rerun_outcomes
from grader.sandbox import Sandbox
from grader.task import load_task
from tests.conftest import REPO

RESEARCH_TASTE = sorted(p.parent for p in (REPO / "tasks").glob("*/questions.toml"))


def test_settings_differ_in_kernels_not_threads() -> None:
    assert set(SETTINGS) >= {"pinned", "native"}
    for env in (PINNED, NATIVE):
        assert env["OMP_NUM_THREADS"] == env["MKL_NUM_THREADS"] == "1"
    assert PINNED["ATEN_CPU_CAPABILITY"] == "default" and "ATEN_CPU_CAPABILITY" not in NATIVE
    assert PINNED["MKL_CBWR"] == "COMPATIBLE"
    assert PINNED["ONEDNN_MAX_CPU_ISA"] == "AVX2" and "ONEDNN_MAX_CPU_ISA" not in NATIVE
    with pytest.raises(ValueError, match="unknown numerics setting 'avx9'"):
        setting_env("avx9")


@pytest.mark.docker
@pytest.mark.slow
@pytest.mark.parametrize("task_dir", RESEARCH_TASTE, ids=[p.name for p in RESEARCH_TASTE])
def test_outcomes_hold_under_native_kernels(task_dir: Path, sandbox: Sandbox) -> None:
    task = load_task(task_dir)
    runs = rerun_outcomes(task, sandbox, jobs=2, setting="native")
    assert runs, f"{task.id} records no experiments"
    # Kept for docs/tasks.md's cross-CPU table (gitignored).
    keep = REPO / ".assess" / "test-artifacts" / "cross-cpu" / f"{task.id}-native.json"
    keep.parent.mkdir(parents=True, exist_ok=True)
    fresh = {r.script: r.fresh.outcomes for r in runs if r.fresh is not None}
    keep.write_text(json.dumps(fresh, indent=1) + "\n")
    changed = [f"{r.script}: {r.status}: {r.note}" for r in runs if not r.ok]
    assert not changed, changed
