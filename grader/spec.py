"""The task contract: `task.toml` loaded into typed, frozen models.

A task folder looks like (see docs/authoring.md)::

    tasks/<id>/
      task.toml  instructions.md  starter/  solution/  bad/<case>/  grading/
      grading/run.py      untrusted-phase driver (mounted with grading/inputs/)
      grading/check.py    trusted-phase checks   (mounted with grading/answers/)

Errors name the file, the field and what was expected, on one line.
"""

from __future__ import annotations

import re
import tomllib
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from grader.errors import TaskSpecError

TASK_FILE = "task.toml"
EXPECT_FILE = "expect.toml"
ID_PATTERN = r"^[a-z0-9][a-z0-9-]{1,62}$"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class TaskKind(StrEnum):
    """What a task measures."""

    implementation = "implementation"
    research_taste = "research-taste"


class Visibility(StrEnum):
    """Who may see a check's result."""

    applicant = "applicant"
    reviewer = "reviewer"


class Resources(_Frozen):
    """Limits applied to each phase's container."""

    cpus: Annotated[float, Field(gt=0, le=64)] = 1.0
    memory_mb: Annotated[int, Field(ge=64, le=262_144)] = 1024
    pids: Annotated[int, Field(ge=16, le=4096)] = 128
    gpu: bool = False
    # Time limits are CPU budgets (timeout x cpus CPU-seconds) with a wall-clock backstop:
    # grader.sandbox.budget. A busy grading machine slows a phase; it does not fail it.
    run_timeout_s: Annotated[int, Field(ge=1, le=7200)] = 300
    check_timeout_s: Annotated[int, Field(ge=1, le=3600)] = 300
    # tmpfs sizes: the only writable places in a container, so these bound its disk use.
    output_mb: Annotated[int, Field(ge=1, le=4096)] = 64
    tmp_mb: Annotated[int, Field(ge=1, le=16_384)] = 256
    log_kb: Annotated[int, Field(ge=1, le=65_536)] = 256


class SubmissionRules(_Frozen):
    """What an acceptable submission looks like (checked at intake)."""

    required: tuple[str, ...] = ()
    max_files: Annotated[int, Field(ge=1, le=100_000)] = 200
    max_bytes: Annotated[int, Field(ge=1, le=2_000_000_000)] = 20_000_000
    allow_notebook: bool = False

    @field_validator("required")
    @classmethod
    def _relative(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        for p in v:
            if p.startswith("/") or ".." in Path(p).parts:
                raise ValueError(f"required path {p!r} must be relative, without '..'")
        return v


class Phase(_Frozen):
    """How a phase is invoked inside its container."""

    command: tuple[str, ...]


class Prepare(_Frozen):
    """An optional trusted step that builds a task's generated files (e.g. model weights)."""

    command: tuple[str, ...]
    inputs: tuple[str, ...] = ("grading/build",)
    outputs: tuple[str, ...]
    timeout_s: Annotated[int, Field(ge=1, le=7200)] = 900


class Scoring(_Frozen):
    """Scale of the automatic score and how it combines with manual (rubric) scores."""

    max_score: Annotated[float, Field(gt=0, le=1000)] = 100.0
    automatic_weight: Annotated[float, Field(ge=0, le=1)] = 1.0
    pass_score: Annotated[float, Field(ge=0)] | None = None
    # `assess task validate` fails unless the solution beats the best bad case by this
    # share of max_score: a task that cannot separate good work from bad grades no one.
    min_spread: Annotated[float, Field(ge=0, le=1)] = 0.30


class Kit(_Frozen):
    """What `assess check` runs inside an unpacked kit (the visible checks)."""

    check_command: tuple[str, ...] = ("python", "-m", "pytest", "-q", "tests")
    exclude: tuple[str, ...] = ()


class Notebook(_Frozen):
    """How a notebook submission is executed and bounded (docs/notebooks.md)."""

    cell_timeout_s: Annotated[int, Field(ge=1, le=3600)] = 60
    # All cells together, kernel start included; the run phase's wall-clock limit for a
    # notebook is this plus resources.run_timeout_s (for grading/run_notebook.py after it).
    timeout_s: Annotated[int, Field(ge=1, le=7200)] = 300
    # Outputs kept in the executed notebook; the rest is dropped and the drop marked.
    cell_output_kb: Annotated[int, Field(ge=1, le=65_536)] = 1024
    output_kb: Annotated[int, Field(ge=1, le=262_144)] = 4096
    # Intake rejects a submitted notebook whose own (stale) outputs are larger than this.
    submitted_output_kb: Annotated[int, Field(ge=0, le=262_144)] = 4096
    # Answer names the notebook must tag (`answer:NAME`); intake rejects it otherwise.
    answers: tuple[Annotated[str, Field(pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$")], ...] = ()


class Integrity(_Frozen):
    """Similarity thresholds for `assess integrity` (docs/integrity.md)."""

    # Share of the smaller submission's code fingerprints found in the other one.
    code_threshold: Annotated[float, Field(gt=0, le=1)] = 0.5
    # Share of the smaller submission's prose matched by close passages in the other one,
    # with passages matched when their embeddings' cosine reaches prose_passage_similarity
    # (character n-grams: prose_ngram_similarity, when the embedding model is absent).
    prose_threshold: Annotated[float, Field(gt=0, le=1)] = 0.5
    prose_passage_similarity: Annotated[float, Field(gt=0, le=1)] = 0.8
    prose_ngram_similarity: Annotated[float, Field(gt=0, le=1)] = 0.6
    # Submissions with less than this much code (tokens) or prose (characters) after the
    # starter is removed are too small to compare.
    min_code_tokens: Annotated[int, Field(ge=1, le=100_000)] = 50
    min_prose_chars: Annotated[int, Field(ge=1, le=1_000_000)] = 300


class SharedFile(_Frozen):
    """A file this task uses from another task's folder (``[[shared]]`` in task.toml).

    `source` is relative to this task's folder and must lie in a sibling task; `target` is
    where it appears here. The content is pinned: a source whose sha256 is not `sha256`
    stops the task loading (grader.shared), so another task's change never reaches this
    one unseen.
    """

    source: Annotated[str, Field(min_length=1, max_length=500)]
    target: Annotated[str, Field(min_length=1, max_length=500)]
    sha256: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]


class TaskSpec(_Frozen):
    """The parsed `task.toml`."""

    id: Annotated[str, Field(pattern=ID_PATTERN)]
    title: Annotated[str, Field(min_length=1, max_length=200)]
    kind: TaskKind = TaskKind.implementation
    version: Annotated[str, Field(pattern=r"^\d+\.\d+\.\d+$")]
    summary: Annotated[str, Field(min_length=1, max_length=2000)]
    area: str = ""
    skills: tuple[str, ...] = ()
    time_budget_minutes: Annotated[int, Field(ge=5, le=1440)] = 180
    image: str = "cpu"
    resources: Resources = Resources()
    submission: SubmissionRules = SubmissionRules()
    run: Phase = Phase(command=("python", "/grading/run.py"))
    prepare: Prepare | None = None
    scoring: Scoring = Scoring()
    kit: Kit = Kit()
    notebook: Notebook = Notebook()
    integrity: Integrity = Integrity()
    shared: tuple[SharedFile, ...] = ()

    @model_validator(mode="after")
    def _pass_within_range(self) -> TaskSpec:
        if self.scoring.pass_score is not None and self.scoring.pass_score > self.scoring.max_score:
            raise ValueError("scoring.pass_score must not exceed scoring.max_score")
        if self.submission.allow_notebook and self.notebook.output_kb >= 1024 * (
            self.resources.output_mb
        ):
            raise ValueError("notebook.output_kb must be below resources.output_mb (in KB)")
        return self


class Replacement(_Frozen):
    """One edit of a base file: `old` occurs exactly `count` times and becomes `new`."""

    file: Annotated[str, Field(min_length=1, max_length=255)]
    old: Annotated[str, Field(min_length=1)]
    new: str
    count: Annotated[int, Field(ge=1, le=1000)] = 1


class Expectation(_Frozen):
    """What a known-bad case (`bad/<case>/expect.toml`) may earn and how it should end.

    A case is either a whole submission (every file in its folder) or, with `base`, a
    variant of the task's solution/ or starter/: that folder's files, then the case's own
    files in place of theirs, then `remove`d files deleted and each `replace` applied
    (grader.cases). A variant states exactly what differs from working code.
    """

    max_score: Annotated[float, Field(ge=0)]
    status: tuple[str, ...] = ()
    why: str = ""
    base: Literal["solution", "starter"] | None = None
    remove: tuple[str, ...] = ()
    replace: tuple[Replacement, ...] = ()

    @model_validator(mode="after")
    def _edits_need_a_base(self) -> Expectation:
        if (self.remove or self.replace) and self.base is None:
            raise ValueError('remove and replace edit a base: set base = "solution" or "starter"')
        return self

    @field_validator("status")
    @classmethod
    def _known_status(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        allowed = {"graded", "invalid", "error", "timeout"}
        bad = [s for s in v if s not in allowed]
        if bad:
            raise ValueError(f"unknown status {bad[0]!r}; expected one of {sorted(allowed)}")
        return v


def format_validation_error(path: Path, err: ValidationError) -> str:
    first = err.errors()[0]
    loc = ".".join(str(p) for p in first["loc"]) or "(top level)"
    msg = first["msg"]
    if first["type"] == "missing":
        msg = "required field is missing"
    elif first["type"] == "extra_forbidden":
        msg = "unknown field (check the spelling; see docs/authoring.md)"
    more = f" (and {len(err.errors()) - 1} more)" if len(err.errors()) > 1 else ""
    return f"{path}: field '{loc}': {msg}{more}"


def read_toml(path: Path) -> dict[str, Any]:
    """Read a TOML file, raising TaskSpecError naming the file and line on a syntax error."""
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise TaskSpecError(f"{path}: file not found") from None
    except tomllib.TOMLDecodeError as e:
        raise TaskSpecError(f"{path}: invalid TOML: {e}") from None


def load_spec(path: Path) -> TaskSpec:
    """Load and validate a `task.toml`.

    Raises:
        TaskSpecError: the file is missing, is not TOML, or a field is wrong; the message
            names the file, the field and what was expected.
    """
    data = read_toml(path)
    try:
        return TaskSpec.model_validate(data)
    except ValidationError as e:
        raise TaskSpecError(format_validation_error(path, e)) from None


def load_expectation(path: Path) -> Expectation:
    """Load a known-bad case's `expect.toml`.

    Raises:
        TaskSpecError: missing file or bad field, named.
    """
    try:
        return Expectation.model_validate(read_toml(path))
    except ValidationError as e:
        raise TaskSpecError(format_validation_error(path, e)) from None


def valid_task_id(task_id: str) -> bool:
    """Whether `task_id` is a valid task id (lower-case letters, digits, dashes)."""
    return re.fullmatch(ID_PATTERN, task_id) is not None
