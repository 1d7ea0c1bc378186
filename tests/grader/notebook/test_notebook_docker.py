"""Notebook submissions graded end to end: real kernels in the task image, both phases.

Fixture task nb-exec: a folder's main.py sets ANSWER; a notebook's cell tagged
`answer:answer` computes it. Limits (tests/fixtures/tasks/nb-exec/task.toml): 5 s a cell,
30 s a notebook, 256 KB of output a cell.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any

import nbformat
import pytest

from grader.notebook import EXECUTED, RECORD, SUBMITTED
from grader.pipeline import grade
from grader.render import write_report
from grader.report import Status
from grader.sandbox import Sandbox
from grader.task import Task, load_task
from tests.conftest import FIXTURE_TASKS
from tests.grader.notebook.test_notebook import active_parts
from tests.grader.notebook.test_notebook_browser import payload_cells, visit

pytestmark = pytest.mark.docker


@pytest.fixture(scope="module")
def task() -> Task:
    return load_task(FIXTURE_TASKS / "nb-exec")


def write_notebook(path: Path, *cells: Any) -> Path:
    """cells: source strings, ("source", ["tag", ...]) pairs, ("md", "text"), or cell dicts."""
    nb = nbformat.v4.new_notebook()
    for c in cells:
        if isinstance(c, dict):
            nb.cells.append(nbformat.from_dict(c))
        elif isinstance(c, tuple) and c[0] == "md":
            nb.cells.append(nbformat.v4.new_markdown_cell(c[1]))
        elif isinstance(c, tuple):
            cell = nbformat.v4.new_code_cell(c[0])
            cell.metadata["tags"] = list(c[1])
            nb.cells.append(cell)
        else:
            nb.cells.append(nbformat.v4.new_code_cell(c))
    nbformat.write(nb, str(path))
    return path


ANSWER = ("6 * 7", ["answer:answer"])


def test_reference_notebook_scores_like_the_folder_reference(
    task: Task, sandbox: Sandbox, tmp_path: Path
) -> None:
    folder = grade(task, task.solution, sandbox=sandbox)
    nb = write_notebook(
        tmp_path / "answer.ipynb", ("md", "# The answer"), "import math\nsix = 6", ANSWER
    )
    art = tmp_path / "art"
    report = grade(task, nb, sandbox=sandbox, artifacts_dir=art)
    assert report.status == folder.status == Status.graded, report.explanation
    assert report.score == folder.score == 10
    assert [(c.id, c.score) for c in report.checks] == [(c.id, c.score) for c in folder.checks]
    assert report.submission.kind == "notebook" and report.flags == []
    assert json.loads((art / "answers" / "answer.json").read_text()) == {"value": 42}
    executed = nbformat.read(str(art / EXECUTED), as_version=4)
    assert executed.cells[2].outputs[0]["data"]["text/plain"] == "42"  # outputs kept
    assert (art / SUBMITTED).read_bytes() == nb.read_bytes()  # and the notebook as submitted
    html = write_report(report, tmp_path / "r", stem="nb", artifacts=art)["html"].read_text()
    assert "ANSWER · answer" in html and "The notebook as submitted" in html


def test_infinite_loop_is_stopped_at_the_cell_limit(
    task: Task, sandbox: Sandbox, tmp_path: Path
) -> None:
    nb = write_notebook(tmp_path / "loop.ipynb", ANSWER, "n = 0\nwhile True:\n    n += 1")
    started = time.monotonic()
    report = grade(task, nb, sandbox=sandbox, artifacts_dir=tmp_path / "art")
    assert time.monotonic() - started < 60  # 5 s for the cell, not the 30 s total
    assert report.status == Status.timeout
    assert "cell 2 (In [2]): `n = 0` ran past the per-cell limit of 5 s" in report.explanation
    assert "the kernel was stopped" in report.explanation
    assert report.score == 10  # graded on what it produced before the loop
    record = json.loads((tmp_path / "art" / RECORD).read_text())
    assert record["outcome"] == "cell-timeout" and record["failed_cell"]["index"] == 1


def test_the_notebook_as_a_whole_is_stopped_at_its_total_limit(
    task: Task, sandbox: Sandbox, tmp_path: Path
) -> None:
    short = tmp_path / "nb-exec"
    shutil.copytree(task.root, short)
    toml = short / "task.toml"
    toml.write_text(toml.read_text().replace("timeout_s = 30", "timeout_s = 8"))
    sleepy = ["import time", *["time.sleep(3)"] * 5]
    nb = write_notebook(tmp_path / "slow.ipynb", ANSWER, *sleepy)
    started = time.monotonic()
    report = grade(load_task(short), nb, sandbox=sandbox, artifacts_dir=tmp_path / "art")
    assert time.monotonic() - started < 40
    assert report.status == Status.timeout and report.score == 10
    assert "ran past its total limit of 8 s at cell" in report.explanation
    record = json.loads((tmp_path / "art" / RECORD).read_text())
    assert record["outcome"] == "timeout" and 3 <= record["executed"] <= 5


def test_a_cell_that_raises_is_named_and_what_ran_before_is_graded(
    task: Task, sandbox: Sandbox, tmp_path: Path
) -> None:
    nb = write_notebook(
        tmp_path / "raises.ipynb", ANSWER, "raise ValueError('bad shape (3, 4)')", "x = 1"
    )
    art = tmp_path / "art"
    report = grade(task, nb, sandbox=sandbox, artifacts_dir=art)
    assert report.status == Status.graded and report.score == 10
    assert "the notebook stopped at cell 2 (In [2])" in report.explanation
    assert "which raised ValueError: bad shape (3, 4)" in report.explanation
    assert [f.kind for f in report.flags] == ["notebook"]
    executed = nbformat.read(str(art / EXECUTED), as_version=4)
    assert executed.cells[2].get("execution_count") is None  # nothing ran after the error
    html = write_report(report, tmp_path / "r", stem="nb", artifacts=art)["html"].read_text()
    assert "RAISED · ValueError: bad shape (3, 4)" in html


def test_fifty_megabytes_of_print_are_bounded(task: Task, sandbox: Sandbox, tmp_path: Path) -> None:
    nb = write_notebook(tmp_path / "flood.ipynb", "print('x' * 50_000_000)", ANSWER)
    art = tmp_path / "art"
    report = grade(task, nb, sandbox=sandbox, artifacts_dir=art)
    assert report.status == Status.graded and report.score == 10, report.explanation
    assert (art / EXECUTED).stat().st_size < 400_000  # 256 KB a cell, plus the notebook
    executed = nbformat.read(str(art / EXECUTED), as_version=4)
    texts = [o.get("text", "") for o in executed.cells[0].outputs]
    assert texts[0].startswith("xxxx") and "bytes of output dropped by the grader" in texts[-1]
    assert any(f.kind == "notebook-output" for f in report.flags)
    assert len(report.logs.run) < 64 * 1024 + 1024  # the run log stays bounded too


def test_invalid_notebook_is_rejected_at_intake(
    task: Task, sandbox: Sandbox, tmp_path: Path
) -> None:
    nb = write_notebook(tmp_path / "bad.ipynb", ANSWER)
    data = json.loads(nb.read_text())
    data["cells"][0]["outputs"] = "none"
    nb.write_text(json.dumps(data))
    report = grade(task, nb, sandbox=sandbox)
    assert report.status == Status.invalid and report.score == 0
    assert "not a valid nbformat v4 notebook: at cells/0/outputs" in report.explanation
    untagged = write_notebook(tmp_path / "untagged.ipynb", "6 * 7")
    report = grade(task, untagged, sandbox=sandbox)
    assert report.status == Status.invalid
    assert "no cell is tagged answer:answer" in report.explanation


def test_html_and_javascript_outputs_run_nothing_in_the_report(
    task: Task, sandbox: Sandbox, tmp_path: Path
) -> None:
    """The kernel really displays the payloads; the report is then opened in chromium."""
    port = 9  # nothing listens there; the browser records any request all the same
    markdown, code = payload_cells(port)
    cells: list[Any] = [
        ("md", markdown["source"]),
        "from IPython.display import display\n"
        + "\n".join(
            f"display({{{json.dumps(mime)}: {json.dumps(data)}}}, raw=True)"
            for out in code["outputs"]
            if out["output_type"] == "display_data"
            for mime, data in out["data"].items()
            if mime != "text/plain"
        )
        + "\nprint('<script>alert(9)</script>')",
        "import matplotlib.pyplot as plt\nplt.plot([1, 2, 3])\nplt.show()",
        ANSWER,
    ]
    nb = write_notebook(tmp_path / "payload.ipynb", *cells)
    art = tmp_path / "art"
    report = grade(task, nb, sandbox=sandbox, artifacts_dir=art)
    assert report.status == Status.graded and report.score == 10, report.explanation
    page = write_report(report, tmp_path / "r", stem="payload", artifacts=art)["html"]
    section = page.read_text().split("<h2>Notebook", 1)[1].split("<h2>Logs", 1)[0]
    assert active_parts(section) == []
    seen = visit(page)
    assert seen.dialogs == [] and seen.requests == []
    assert seen.scripts == 0 and seen.handlers == []
    assert "ANSWER · answer" in seen.answer_labels
    plots = [i for i in seen.images if i["src"].startswith("data:image/png") and i["w"] > 100]
    assert plots, seen.images  # the matplotlib figure is kept
