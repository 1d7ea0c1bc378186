"""Long CLI work is never silent: image builds, a task's prepare step and multi-submission
grading show progress on a terminal and plain, timestamped lines in a pipe (CI logs,
`make demo | tee`). The lines a build tool or a prepare step prints are shown as text."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from grader.cli_progress import clean, read_build_line
from grader.sandbox import Limits, RunRequest, Sandbox
from grader.sandbox.base import LineFeed
from tests.conftest import FIXTURE_TASKS
from tests.grader.test_cli import assess

TASK = FIXTURE_TASKS / "py-exec"


def test_build_lines_are_read_as_steps_wheels_and_phases() -> None:
    step = read_build_line("Step 3/7 : RUN pip install --no-index /wheelhouse/*.whl\n")
    assert (step.kind, step.step, step.steps) == ("step", 3, 7)
    assert step.text.startswith("RUN pip install")
    wheel = read_build_line("Saved /root/.cache/wheelhouse/numpy-2.4.6-cp311.whl")
    assert (wheel.kind, wheel.text) == ("wheel", "numpy-2.4.6-cp311.whl")
    again = read_build_line("File was already downloaded /w/torch-2.13.0+cpu-cp311-linux.whl")
    assert (again.kind, again.text) == ("wheel", "torch-2.13.0+cpu-cp311-linux.whl")
    assert read_build_line("building assess/cpu:latest").kind == "phase"
    assert read_build_line("assess/base:latest is up to date (sha256:1)").kind == "phase"
    assert read_build_line(" ---> Running in 4f2a").kind == "other"


def test_clean_lines_carry_no_terminal_controls() -> None:
    assert clean("\x1b[2J\x1b]0;owned\x07done\u202e!") == " [2J ]0;owned done !"
    assert clean("first\nsecond\n") == "second"
    assert len(clean("x" * 500, 50)) == 50


def test_line_feed_splits_lines_across_chunks_and_cuts_long_ones() -> None:
    got: list[str] = []
    feed = LineFeed(got.append, max_line=8)
    for chunk in (b"al", b"pha\r\nbe", b"ta\n", b"0123456789ab", b"\xff\n", b"tail"):
        feed.feed(chunk)
    feed.close()
    assert got == ["alpha", "beta", "01234567", "89ab\ufffd", "tail"]


@pytest.mark.docker
def test_a_trusted_run_streams_its_lines_as_they_come(sandbox: Sandbox) -> None:
    from grader.images import image_ref

    seen: list[str] = []
    result = sandbox.run(
        RunRequest(
            image=image_ref("cpu"),
            command=["python", "-u", "-c", "import sys\nfor i in range(3): print('line', i)"],
            limits=Limits(cpus=1.0, memory_mb=256, wall_s=60),
            on_output=seen.append,
        )
    )
    assert result.ok, result.log
    assert seen == ["line 0", "line 1", "line 2"]
    assert result.log.splitlines() == seen


def _task_with_prepare(tmp_path: Path) -> Path:
    task = tmp_path / "py-exec"
    shutil.copytree(TASK, task)
    script = (
        "import pathlib, time\n"
        "for i in range(3):\n"
        "    print(f'training seed {i}', flush=True)\n"
        "    time.sleep(0.2)\n"
        "print('\\x1b[31mred[/red]', flush=True)\n"
        "pathlib.Path('grading/inputs/made.txt').write_text('ok')\n"
    )
    (task / "grading" / "make.py").write_text(script)
    toml = (task / "task.toml").read_text()
    toml += (
        '\n[prepare]\ncommand = ["python", "grading/make.py"]\ninputs = ["grading/make.py"]\n'
        'outputs = ["grading/inputs/made.txt"]\ntimeout_s = 120\n'
    )
    (task / "task.toml").write_text(toml)
    return task


@pytest.mark.docker
def test_prepare_prints_its_output_lines_in_a_pipe(tmp_path: Path, sandbox: Sandbox) -> None:
    task = _task_with_prepare(tmp_path)
    r = assess("task", "prepare", task)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "py-exec: prepared"
    lines = r.stderr.splitlines()
    assert lines[0] == "preparing py-exec …"
    said = [re.sub(r"^\[\s*\d+ s\] ", "", line) for line in lines[1:]]
    assert said == ["training seed 0", "training seed 1", "training seed 2", " [31mred[/red]"]
    assert all(re.match(r"^\[\s*\d+ s\] ", line) for line in lines[1:]), lines
    assert (task / "grading" / "inputs" / "made.txt").read_text() == "ok"
    again = assess("task", "prepare", task)
    assert again.stdout.strip() == "py-exec: already up to date" and again.stderr == ""


@pytest.mark.docker
def test_grading_several_submissions_says_each_as_it_ends(tmp_path: Path, sandbox: Sandbox) -> None:
    r = assess("grade", "--task", TASK, TASK / "solution", TASK / "bad" / "wrong", "-o", tmp_path)
    assert r.returncode == 0, r.stderr
    ends = sorted(line.split()[0] for line in r.stderr.splitlines() if "/2 " in line)
    assert ends == ["1/2", "2/2"], r.stderr
    assert re.search(r"\d/2 solution: graded 10 \(\d+\.\d s\)", r.stderr), r.stderr
    one = assess("grade", "--task", TASK, TASK / "solution", "-o", tmp_path / "one")
    assert "1/1" not in one.stderr


@pytest.mark.docker
def test_an_up_to_date_image_build_says_so_in_a_pipe(sandbox: Sandbox) -> None:
    r = assess("images", "build", "cpu")
    assert r.returncode == 0, r.stderr
    assert re.search(r"^\[\s*\d+ s\] assess/cpu\S* is up to date", r.stderr, re.M), r.stderr
