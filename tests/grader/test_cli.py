"""The `assess` CLI driven as a user would: real processes, real engine."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from grader.sandbox import Sandbox
from tests.conftest import FIXTURE_TASKS, REPO

TASK = FIXTURE_TASKS / "py-exec"
ASSESS = [sys.executable, "-m", "grader"]


def assess(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "200"}
    return subprocess.run(
        [*ASSESS, *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=600,
        check=False,
    )


def test_version() -> None:
    r = assess("--version")
    assert r.returncode == 0 and r.stdout.startswith("assess ")


def test_bad_task_is_one_line_and_exit_2(tmp_path: Path) -> None:
    r = assess("task", "validate", tmp_path / "nope")
    assert r.returncode == 2
    assert r.stderr.strip().count("\n") == 0
    assert "not a task folder" in r.stderr


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["grade", "--bogus"], "No such option: --bogus"),
        (["grade", "--task", "x"], "Missing argument 'submissions'"),
        (["grade", "x", "--task"], "Option '--task' requires an argument"),
        (["task", "validate", "a", "b"], "Got unexpected extra argument"),
        (["nosuchcommand"], "No such command 'nosuchcommand'"),
    ],
)
def test_usage_errors_exit_2_with_click_s_message_and_no_traceback(
    args: list[str], said: str
) -> None:
    # The process entry point (grader.cli.run), where a usage error is the CLI's to show.
    r = assess(*args)
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr and r.stdout == ""
    assert r.stderr.rstrip().splitlines()[-1].startswith(f"Error: {said}")


def test_bundle_contains_kit_and_nothing_hidden(tmp_path: Path) -> None:
    kit = tmp_path / "kit.zip"
    r = assess("bundle", TASK, "-o", kit)
    assert r.returncode == 0, r.stderr
    names = zipfile.ZipFile(kit).namelist()
    assert sorted(names) == [
        "py-exec-kit/instructions.md",
        "py-exec-kit/kit.toml",
        "py-exec-kit/main.py",
    ]
    blob = b"".join(zipfile.ZipFile(kit).read(n) for n in names)
    assert b"expected" not in blob and b"6 * 7" not in blob
    # Same task, same bytes: kits are reproducible.
    kit2 = tmp_path / "kit2.zip"
    assess("bundle", TASK, "-o", kit2)
    assert kit.read_bytes() == kit2.read_bytes()


def test_check_inside_unpacked_kit(tmp_path: Path) -> None:
    kit = tmp_path / "kit.zip"
    assert assess("bundle", TASK, "-o", kit).returncode == 0
    with zipfile.ZipFile(kit) as zf:
        zf.extractall(tmp_path)
    kit_dir = tmp_path / "py-exec-kit"
    # The fixture's kit has no tests folder: pytest finds nothing and the check fails.
    r = assess("check", cwd=kit_dir)
    assert r.returncode == 1
    assert "submission rules: ok" in r.stdout
    (kit_dir / "tests").mkdir()
    (kit_dir / "tests" / "test_visible.py").write_text(
        "import runpy\n\ndef test_runs():\n    runpy.run_path('main.py')\n"
    )
    r = assess("check", cwd=kit_dir)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "visible checks pass" in r.stdout
    (kit_dir / "main.py").unlink()
    r = assess("check", cwd=kit_dir)
    assert r.returncode == 2
    assert "missing required file(s): main.py" in r.stderr


def test_check_names_modules_the_python_lacks(tmp_path: Path) -> None:
    """The visible checks need modules the kit lists; a Python without one is told which,
    in one line, instead of failing inside pytest's collection."""
    kit = tmp_path / "kit.zip"
    assert assess("bundle", TASK, "-o", kit).returncode == 0
    with zipfile.ZipFile(kit) as zf:
        zf.extractall(tmp_path)
    kit_dir = tmp_path / "py-exec-kit"
    manifest = kit_dir / "kit.toml"
    assert 'requires = ["pytest"]' in manifest.read_text()
    manifest.write_text(
        manifest.read_text().replace(
            'requires = ["pytest"]', 'requires = ["pytest", "no_such_module_for_assess"]'
        )
    )
    r = assess("check", cwd=kit_dir)
    assert r.returncode == 2
    assert "need no_such_module_for_assess, which 'python' cannot import" in r.stderr
    assert r.stderr.strip().count("\n") == 0
    r = assess("check", "--python", str(tmp_path / "python-absent"), cwd=kit_dir)
    assert r.returncode == 2 and "python-absent" in r.stderr and "not found" in r.stderr
    r = assess("check", "--python", sys.executable, cwd=kit_dir)
    assert r.returncode == 2 and "no_such_module_for_assess" in r.stderr


def test_check_outside_a_kit(tmp_path: Path) -> None:
    r = assess("check", cwd=tmp_path)
    assert r.returncode == 2 and "inside an unpacked kit" in r.stderr


@pytest.mark.docker
def test_grade_json_is_pure_json(sandbox: Sandbox, tmp_path: Path) -> None:
    r = assess(
        "grade", "--task", TASK, "--json", "--out", tmp_path, TASK / "solution", TASK / "starter"
    )
    assert r.returncode == 0, r.stderr
    docs = json.loads(r.stdout)
    assert [d["score"] for d in docs] == [10, 2]
    assert all(d["schema"] == "assess.report/1" for d in docs)
    files = sorted(p.name for p in (tmp_path / "py-exec").iterdir())
    assert "solution.html" in files and "starter.receipt.txt" in files
    assert "solution.json" in files and "solution.outputs" in files


@pytest.mark.docker
def test_grade_table_and_zip(sandbox: Sandbox, tmp_path: Path) -> None:
    z = tmp_path / "sub.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("main.py", "ANSWER = 42\n")
    r = assess("grade", "--task", TASK, "--out", tmp_path / "r", z)
    assert r.returncode == 0, r.stderr
    assert "graded" in r.stdout and "10 / 10" in r.stdout


@pytest.mark.docker
def test_one_grading_prints_two_plain_lines_without_loading_rich(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    probe = (
        "import sys\n"
        "from grader.cli import app, run\n"
        "try:\n    run(app)\nexcept SystemExit as e:\n    code = e.code\n"
        "rich = sorted(m for m in sys.modules if m.split('.')[0] == 'rich')\n"
        "print(code, rich, file=sys.stderr)\n"
    )
    args = ["grade", "--task", str(TASK), str(TASK / "solution"), "-o", str(tmp_path)]
    r = subprocess.run(
        [sys.executable, "-c", probe, *args],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        timeout=600,
        check=False,
    )
    assert r.stderr.strip().splitlines()[-1] == "0 []", r.stderr
    first, second = r.stdout.splitlines()
    assert re.fullmatch(
        rf"py-exec 1\.0\.0  {re.escape(str(TASK))}/solution: graded, 10 / 10 in \d+\.\d s", first
    )
    assert second == f"report: {tmp_path / 'py-exec' / 'solution.html'}"


@pytest.mark.docker
@pytest.mark.slow
def test_validate_fixture_task(sandbox: Sandbox) -> None:
    r = assess("task", "validate", TASK, "--json")
    assert r.returncode == 0, r.stdout + r.stderr
    result = json.loads(r.stdout)
    assert result["ok"] is True
    cases = {c["case"]: c for c in result["cases"]}
    assert set(cases) == {"solution", "starter", "bad/wrong", "bad/crashes", "bad/forge"}
    assert result["spread_ok"] and result["lint"] == []
    assert cases["solution"]["score"] == 10


def test_research_taste_grades_without_an_engine(tmp_path: Path) -> None:
    """Answers are scored on the host: no engine, no image (DOCKER_HOST points nowhere)."""
    task = REPO / "tasks" / "results-critique"
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "COLUMNS": "200",
        "DOCKER_HOST": f"unix://{tmp_path}/no-engine.sock",
    }
    r = subprocess.run(
        [
            *ASSESS,
            "grade",
            "--task",
            str(task),
            "--json",
            "-o",
            str(tmp_path / "r"),
            str(task / "solution"),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    assert report["status"] == "graded" and report["score"] == report["max_score"]
    # An implementation task still needs the engine, and says so in one line.
    r = subprocess.run(
        [*ASSESS, "grade", "--task", str(TASK), str(TASK / "solution")],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert r.returncode != 0 and r.stderr.strip().count("\n") == 0, r.stderr


def test_untrusted_text_prints_as_one_clean_line_without_rich_markup() -> None:
    from grader.cli import _one_line

    line = _one_line("run \u202eexited\x1b[31m 1\n[bold red]fake[/bold red]\x07")
    assert line == "run exited 1 \\[bold red]fake\\[/bold red]"
