"""task.toml and expect.toml parsing, and task folder loading: errors name file and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.errors import TaskSpecError
from grader.spec import (
    TaskKind,
    TaskSpec,
    load_expectation,
    load_spec,
    valid_task_id,
)
from grader.task import load_task
from tests.conftest import REPO

TEMPLATE = REPO / "tasks" / "_template"

MINIMAL = """\
id = "probe-task"
title = "A probe"
version = "1.0.0"
summary = "Train a linear probe."
"""


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def spec_error(tmp_path: Path, text: str) -> str:
    """Load `text` as a task.toml and return the one-line error it raises."""
    path = write(tmp_path / "task.toml", text)
    with pytest.raises(TaskSpecError) as info:
        load_spec(path)
    message = str(info.value)
    assert str(path) in message, "the error names the file"
    assert "\n" not in message, "the error is one line"
    return message


def make_task(root: Path, toml: str = MINIMAL) -> Path:
    """A minimal valid task folder at `root`."""
    write(root / "task.toml", toml)
    write(root / "instructions.md", "# Do it\n")
    write(root / "grading" / "run.py", "print('run')\n")
    write(root / "grading" / "check.py", "def check(ctx):\n    return []\n")
    (root / "starter").mkdir()
    (root / "solution").mkdir()
    return root


# ----------------------------------------------------------------------------- load_spec


def test_minimal_spec_gets_documented_defaults(tmp_path: Path) -> None:
    spec = load_spec(write(tmp_path / "task.toml", MINIMAL))
    assert spec.id == "probe-task"
    assert spec.kind == TaskKind.implementation
    assert spec.image == "cpu"
    assert spec.resources.memory_mb == 1024 and spec.resources.run_timeout_s == 300
    assert spec.resources.gpu is False
    assert spec.run.command == ("python", "/grading/run.py")
    assert spec.prepare is None
    assert spec.scoring.max_score == 100.0 and spec.scoring.pass_score is None
    assert spec.kit.check_command == ("python", "-m", "pytest", "-q", "tests")


def test_full_spec_with_every_section(tmp_path: Path) -> None:
    text = MINIMAL + (
        'kind = "research-taste"\narea = "interpretability"\nskills = ["research-taste"]\n'
        'time_budget_minutes = 90\nimage = "gpu"\n'
        "[resources]\ncpus = 2\nmemory_mb = 4096\ngpu = true\nrun_timeout_s = 600\n"
        '[submission]\nrequired = ["probe.py", "notes/answers.md"]\nallow_notebook = true\n'
        '[prepare]\ncommand = ["python", "grading/build/make.py"]\n'
        'outputs = ["grading/answers/model.safetensors"]\n'
        "[scoring]\nmax_score = 50\npass_score = 30\n"
        '[kit]\nexclude = ["data/big-*.npz"]\n'
    )
    spec = load_spec(write(tmp_path / "task.toml", text))
    assert spec.kind == TaskKind.research_taste
    assert spec.resources.cpus == 2.0 and spec.resources.gpu is True
    assert spec.submission.required == ("probe.py", "notes/answers.md")
    assert spec.prepare is not None and spec.prepare.inputs == ("grading/build",)
    assert spec.scoring.pass_score == 30
    assert spec.kit.exclude == ("data/big-*.npz",)


def test_spec_is_frozen(tmp_path: Path) -> None:
    spec = load_spec(write(tmp_path / "task.toml", MINIMAL))
    with pytest.raises(ValueError):
        spec.id = "other"


def test_missing_id_is_named(tmp_path: Path) -> None:
    message = spec_error(tmp_path, MINIMAL.replace('id = "probe-task"\n', ""))
    assert "field 'id'" in message
    assert "required field is missing" in message


def test_wrong_type_names_the_nested_field_and_the_expectation(tmp_path: Path) -> None:
    message = spec_error(tmp_path, MINIMAL + '[resources]\nmemory_mb = "lots"\n')
    assert "field 'resources.memory_mb'" in message
    assert "valid integer" in message


def test_unknown_top_level_field_is_a_typo(tmp_path: Path) -> None:
    message = spec_error(tmp_path, MINIMAL + "[resorces]\ncpus = 2\n")
    assert "field 'resorces'" in message
    assert "unknown field" in message


def test_unknown_nested_field_is_a_typo(tmp_path: Path) -> None:
    message = spec_error(tmp_path, MINIMAL + "[resources]\nmemroy_mb = 512\n")
    assert "field 'resources.memroy_mb'" in message
    assert "unknown field" in message


def test_toml_syntax_error_names_the_file_and_line(tmp_path: Path) -> None:
    message = spec_error(tmp_path, MINIMAL + "[resources\ncpus = 2\n")
    assert "invalid TOML" in message
    assert "line 5" in message


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(TaskSpecError, match=r"task\.toml: file not found"):
        load_spec(tmp_path / "task.toml")


@pytest.mark.parametrize(
    ("replace", "field", "expected"),
    [
        ('id = "probe-task"', "id", "pattern"),
        ('version = "1.0.0"', "version", "pattern"),
        ('title = "A probe"', "title", "at least 1 character"),
    ],
)
def test_bad_values_say_what_was_expected(
    tmp_path: Path, replace: str, field: str, expected: str
) -> None:
    bad = {"id": 'id = "Bad ID!"', "version": 'version = "1.0"', "title": 'title = ""'}[field]
    message = spec_error(tmp_path, MINIMAL.replace(replace, bad))
    assert f"field '{field}'" in message
    assert expected in message


@pytest.mark.parametrize(
    ("section", "field"),
    [
        ("[resources]\ncpus = 0\n", "resources.cpus"),
        ("[resources]\nmemory_mb = 10\n", "resources.memory_mb"),
        ("[resources]\nrun_timeout_s = 99999\n", "resources.run_timeout_s"),
        ("[scoring]\nmax_score = -1\n", "scoring.max_score"),
        ("time_budget_minutes = 1\n", "time_budget_minutes"),
    ],
)
def test_out_of_range_values_are_named(tmp_path: Path, section: str, field: str) -> None:
    # Top-level keys must come before the first table, so insert them at the top.
    text = section + MINIMAL if not section.startswith("[") else MINIMAL + section
    message = spec_error(tmp_path, text)
    assert f"field '{field}'" in message


@pytest.mark.parametrize("path", ["/etc/passwd", "../outside.py", "a/../../b.py"])
def test_required_paths_must_be_relative(tmp_path: Path, path: str) -> None:
    message = spec_error(tmp_path, MINIMAL + f'[submission]\nrequired = ["{path}"]\n')
    assert "field 'submission.required'" in message
    assert "must be relative" in message


def test_pass_score_above_max_is_rejected(tmp_path: Path) -> None:
    message = spec_error(tmp_path, MINIMAL + "[scoring]\nmax_score = 10\npass_score = 20\n")
    assert "pass_score must not exceed scoring.max_score" in message


def test_prepare_needs_outputs(tmp_path: Path) -> None:
    message = spec_error(tmp_path, MINIMAL + '[prepare]\ncommand = ["python", "b.py"]\n')
    assert "field 'prepare.outputs'" in message
    assert "required field is missing" in message


def test_several_errors_are_counted(tmp_path: Path) -> None:
    message = spec_error(tmp_path, "title = 3\n")
    assert "(and " in message and " more)" in message


@pytest.mark.parametrize(
    ("task_id", "ok"),
    [
        ("linear-probe", True),
        ("sae2", True),
        ("0day", True),
        ("ab", True),
        ("a", False),
        ("Bad ID!", False),
        ("-leading-dash", False),
        ("under_score", False),
        ("UPPER", False),
        ("x" * 64, False),
    ],
)
def test_valid_task_id(task_id: str, ok: bool) -> None:
    assert valid_task_id(task_id) is ok


# ----------------------------------------------------------------------------- expect.toml


def test_expectation_loads(tmp_path: Path) -> None:
    path = write(
        tmp_path / "expect.toml", 'max_score = 30\nstatus = ["graded", "timeout"]\nwhy = "x"\n'
    )
    exp = load_expectation(path)
    assert exp.max_score == 30 and exp.status == ("graded", "timeout") and exp.why == "x"


def test_expectation_rejects_an_unknown_status(tmp_path: Path) -> None:
    path = write(tmp_path / "expect.toml", 'max_score = 0\nstatus = ["crashed"]\n')
    with pytest.raises(TaskSpecError) as info:
        load_expectation(path)
    message = str(info.value)
    assert str(path) in message and "field 'status'" in message
    assert "unknown status 'crashed'" in message
    assert "graded" in message and "timeout" in message  # says what is allowed


def test_expectation_needs_max_score(tmp_path: Path) -> None:
    path = write(tmp_path / "expect.toml", 'why = "forgot the ceiling"\n')
    with pytest.raises(TaskSpecError, match=r"field 'max_score': required field is missing"):
        load_expectation(path)


def test_expectation_rejects_unknown_fields(tmp_path: Path) -> None:
    path = write(tmp_path / "expect.toml", "max_score = 0\nceiling = 3\n")
    with pytest.raises(TaskSpecError, match=r"field 'ceiling': unknown field"):
        load_expectation(path)


# ----------------------------------------------------------------------------- load_task


def test_template_task_loads() -> None:
    task = load_task(TEMPLATE)
    assert isinstance(task.spec, TaskSpec)
    assert task.id == "template-task"  # a folder starting with "_" may have any id
    assert task.root == TEMPLATE.resolve()
    assert task.run_script.is_file() and task.check_script.is_file()
    assert (task.inputs / "cases.json").is_file() and (task.answers / "expected.json").is_file()
    assert len(task.digest) == 64


def test_grading_file_unreadable_by_the_sandbox_user_is_a_task_error(tmp_path: Path) -> None:
    """A build step that wrote mode 0600 would make the check phase fail at grading time;
    loading the task says so first, naming the file and the fix."""
    import shutil

    root = tmp_path / "_template"
    shutil.copytree(TEMPLATE, root)
    secret = root / "grading" / "answers" / "expected.json"
    secret.chmod(0o600)
    with pytest.raises(TaskSpecError, match=r"expected\.json: not readable .*\(mode 600\).*chmod"):
        load_task(root)
    secret.chmod(0o644)
    (root / "starter" / "tests").chmod(0o700)
    with pytest.raises(TaskSpecError, match=r"starter/tests: not readable"):
        load_task(root)
    (root / "starter" / "tests").chmod(0o755)
    assert load_task(root).id == "template-task"


def test_template_bad_cases_declare_ceilings() -> None:
    cases = load_task(TEMPLATE).bad_cases()
    assert {"forge", "garbage-output", "naive-overflow", "wrong-axis"} <= set(cases)
    for path, exp in cases.values():
        assert (path / "solution.py").is_file()
        assert exp.max_score < load_task(TEMPLATE).spec.scoring.max_score
        assert exp.why


def test_template_check_points_add_up_to_max_score() -> None:
    """The template's check.py GROUPS must sum to scoring.max_score (read as text: no import
    of the harness needed)."""
    import ast

    source = (TEMPLATE / "grading" / "check.py").read_text(encoding="utf-8")
    points = [
        float(node.args[2].value)
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Call)
        and getattr(node.func, "id", "") == "Group"
        and isinstance(node.args[2], ast.Constant)
        and isinstance(node.args[2].value, int | float)
    ]
    assert points and sum(points) == load_task(TEMPLATE).spec.scoring.max_score


def test_minimal_task_folder_loads(tmp_path: Path) -> None:
    task = load_task(make_task(tmp_path / "probe-task"))
    assert task.id == "probe-task"
    assert task.bad_cases() == {}


def test_id_must_match_folder(tmp_path: Path) -> None:
    root = make_task(tmp_path / "other-name")
    with pytest.raises(TaskSpecError) as info:
        load_task(root)
    message = str(info.value)
    assert "field 'id'" in message and "'probe-task'" in message and "'other-name'" in message


@pytest.mark.parametrize(
    "missing",
    ["grading/run.py", "grading/check.py", "instructions.md"],
)
def test_missing_required_file_is_named(tmp_path: Path, missing: str) -> None:
    root = make_task(tmp_path / "probe-task")
    (root / missing).unlink()
    with pytest.raises(TaskSpecError, match=rf"missing required file {missing}$"):
        load_task(root)


@pytest.mark.parametrize("missing", ["starter", "solution"])
def test_missing_required_folder_is_named(tmp_path: Path, missing: str) -> None:
    root = make_task(tmp_path / "probe-task")
    (root / missing).rmdir()
    with pytest.raises(TaskSpecError, match=rf"missing required folder {missing}/$"):
        load_task(root)


def test_not_a_folder(tmp_path: Path) -> None:
    with pytest.raises(TaskSpecError, match="no such directory"):
        load_task(tmp_path / "nope")


def test_missing_task_toml(tmp_path: Path) -> None:
    root = make_task(tmp_path / "probe-task")
    (root / "task.toml").unlink()
    with pytest.raises(TaskSpecError, match=r"task\.toml: file not found"):
        load_task(root)


def test_bad_case_with_broken_expectation_is_named(tmp_path: Path) -> None:
    root = make_task(tmp_path / "probe-task")
    write(root / "bad" / "sneaky" / "solution.py", "x = 1\n")
    write(root / "bad" / "sneaky" / "expect.toml", 'max_score = 0\nstatus = ["passed"]\n')
    with pytest.raises(TaskSpecError, match=r"sneaky.expect\.toml: field 'status'"):
        load_task(root).bad_cases()


def test_digest_changes_with_content_but_not_caches(tmp_path: Path) -> None:
    root = make_task(tmp_path / "probe-task")
    before = load_task(root).digest
    write(root / "grading" / "__pycache__" / "run.cpython-311.pyc", "junk")
    assert load_task(root).digest == before
    write(root / "grading" / "run.py", "print('changed')\n")
    assert load_task(root).digest != before
