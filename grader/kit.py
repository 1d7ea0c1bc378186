"""`assess check`: inside an unpacked kit, check a submission the way the grader will
(intake rules) and run the task's visible checks locally, as the applicant would."""

from __future__ import annotations

import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from grader.bundle import KIT_FILE
from grader.errors import AssessError
from grader.intake import intake
from grader.report import SubmissionRef
from grader.spec import SubmissionRules, read_toml


class KitManifest(BaseModel):
    """The kit.toml written by `assess bundle`."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    task: str
    version: str
    title: str = ""
    time_budget_minutes: int = 0
    required: tuple[str, ...] = ()
    max_files: int = 200
    max_bytes: int = 20_000_000
    allow_notebook: bool = False
    check_command: tuple[str, ...]
    # Modules the kit's code and its visible checks import beyond Python's own.
    requires: tuple[str, ...] = ()
    kind: str = "implementation"  # research-taste kits: the answers file is checked too
    answers_file: str = "answers.toml"

    def rules(self) -> SubmissionRules:
        return SubmissionRules(
            required=self.required,
            max_files=self.max_files,
            max_bytes=self.max_bytes,
            allow_notebook=self.allow_notebook,
        )


@dataclass(frozen=True)
class KitCheck:
    kit_dir: Path
    manifest: KitManifest
    submission: SubmissionRef
    tests_exit_code: int
    tests_output: str


def find_kit(start: Path) -> Path:
    """The nearest folder at or above `start` holding a kit.toml.

    Raises:
        AssessError: no kit.toml found (not inside an unpacked kit).
    """
    for d in [start.resolve(), *start.resolve().parents]:
        if (d / KIT_FILE).is_file():
            return d
    raise AssessError(f"{start}: no {KIT_FILE} here or above; run this inside an unpacked kit")


def load_manifest(kit_dir: Path) -> KitManifest:
    """Read a kit's manifest.

    Raises:
        AssessError: kit.toml is not valid.
    """
    try:
        return KitManifest.model_validate(read_toml(kit_dir / KIT_FILE))
    except ValidationError as e:
        first = e.errors()[0]
        loc = ".".join(str(p) for p in first["loc"])
        raise AssessError(f"{kit_dir / KIT_FILE}: field '{loc}': {first['msg']}") from None


def missing_modules(python: str, modules: tuple[str, ...]) -> list[str]:
    """Which of `modules` the interpreter `python` cannot import.

    Raises:
        AssessError: the interpreter cannot be run.
    """
    if not modules:
        return []
    probe = (
        "import importlib.util, sys\n"
        "print('\\n'.join(m for m in sys.argv[1:] if importlib.util.find_spec(m) is None))"
    )
    try:
        proc = subprocess.run(
            [python, "-c", probe, *modules], capture_output=True, text=True, timeout=60, check=False
        )
    except FileNotFoundError:
        raise AssessError(
            f"cannot run {python!r}: not found (pass --python PATH to the Python that has "
            f"{', '.join(modules)})"
        ) from None
    if proc.returncode != 0:
        raise AssessError(f"{python} could not be asked what it can import: {proc.stderr[-200:]}")
    return [m for m in proc.stdout.split() if m]


def check_kit(kit_dir: Path, *, timeout_s: float = 600, python: str | None = None) -> KitCheck:
    """Apply the intake rules to the kit folder and run its visible checks.

    `python` replaces the command's interpreter when it is ``python``/``python3`` (the
    default is whichever one comes first on PATH, as in a shell).

    Raises:
        IntakeError: the folder would be rejected as a submission (named reason).
        AssessError: the kit is malformed, the interpreter lacks a module the checks need
            (named, one line), or the check command cannot start.
    """
    manifest = load_manifest(kit_dir)
    with tempfile.TemporaryDirectory(prefix="assess-check-") as tmp:
        sub = intake(
            kit_dir,
            manifest.rules(),
            Path(tmp) / "submission",
            exclude=frozenset({KIT_FILE, "instructions.md"}),
        )
    prefix = ""
    if manifest.kind == "research-taste":
        code, prefix = check_answers_format(kit_dir)
        if code != 0 or not manifest.check_command:
            return KitCheck(kit_dir, manifest, sub.ref, code, prefix)
    command = list(manifest.check_command)
    if python and command and command[0] in ("python", "python3"):
        command[0] = python
    if command and Path(command[0]).name.startswith("python"):
        missing = missing_modules(command[0], manifest.requires)
        if missing:
            raise AssessError(
                f"the visible checks need {', '.join(missing)}, which {command[0]!r} cannot "
                f"import: install {'it' if len(missing) == 1 else 'them'} (see the instructions) "
                "or pass --python PATH to a Python that has them"
            )
    try:
        proc = subprocess.run(
            command,
            cwd=kit_dir,
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )
        code, out = proc.returncode, proc.stdout + proc.stderr
    except FileNotFoundError:
        raise AssessError(f"cannot run {command[0]!r}: not found") from None
    except subprocess.TimeoutExpired:
        code, out = 124, f"visible checks did not finish within {timeout_s:g}s"
    return KitCheck(kit_dir, manifest, sub.ref, code, prefix + out)


def check_answers_format(kit_dir: Path) -> tuple[int, str]:
    """Validate a research-taste kit's answers file against its questions.toml: format only
    (ids, ranges, completeness), never the hidden key, which the kit does not have.

    Returns:
        (exit code, message): 0 when the file is well-formed (unanswered items are listed),
        1 with the item named when it is not.
    """
    from grader.errors import TaskSpecError
    from grader.questions import AnswersError, load_questions, read_answers
    from grader.rubric import load_rubric

    try:
        # The kit ships rubric.toml: text items name its criteria.
        questions = load_questions(kit_dir / "questions.toml", rubric=load_rubric(kit_dir))
    except TaskSpecError as e:
        return 1, f"the kit's questions.toml is unreadable: {e}"
    try:
        answers = read_answers(kit_dir, questions)
    except AnswersError as e:
        return 1, f"{e}\n"
    done, todo = answers.answered(), answers.unanswered()
    lines = [f"{answers.file}: well-formed; {len(done)} of {len(questions.items)} items answered"]
    if todo:
        lines.append(f"unanswered (each earns nothing): {', '.join(todo)}")
    return 0, "\n".join(lines) + "\n"
