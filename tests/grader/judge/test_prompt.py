"""Which files a criterion reads, the cut, and the fence's boundary."""

from __future__ import annotations

from pathlib import Path

from grader.judge.prompt import (
    new_boundary,
    read_documents,
    select_files,
    submission_text,
)
from grader.rubric import Criterion

from .conftest import TASK

LEVELS = [{"score": 0, "descriptor": "no"}, {"score": 2, "descriptor": "yes"}]


def criterion(**extra: object) -> Criterion:
    return Criterion.model_validate(
        {"id": "c", "name": "C", "max_score": 2, "levels": LEVELS, **extra}
    )


def names(root: Path, c: Criterion) -> list[str]:
    return [p.relative_to(root).as_posix() for p in select_files(root, c)]


def test_without_files_the_write_ups_are_read_never_a_bad_cases_metadata() -> None:
    forge = TASK / "bad" / "forge"
    assert names(TASK / "solution", criterion()) == ["writeup.md"]
    assert "expect.toml" not in names(forge, criterion())
    results = TASK.parent / "results-critique"
    assert names(results / "solution", criterion()) == ["answers.toml", "critique.md"]


def test_a_criterions_files_globs_choose_its_files(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    for rel in ("writeup.md", "src/a.py", "b.py", "notes.txt", "data.bin"):
        (tmp_path / rel).write_text("x", encoding="utf-8")
    assert names(tmp_path, criterion(files=["*.py"])) == ["b.py", "src/a.py"]  # fnmatch: * spans /
    assert names(tmp_path, criterion(files=["src/*.py", "notes.txt"])) == ["notes.txt", "src/a.py"]


def test_controls_are_cleaned_binary_is_skipped_and_long_text_is_cut(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text("safe \x1b[31mred\x1b[0m \u202eevil\n", encoding="utf-8")
    (tmp_path / "b.md").write_bytes(b"\xff\xfe\x00binary")
    docs = read_documents(tmp_path, sorted(tmp_path.iterdir()))
    assert [(d.path, d.text) for d in docs] == [("a.md", "safe red evil\n")]
    text, cut = submission_text(docs, 10_000)
    assert text.startswith("### file: a.md\n") and not cut
    long, cut = submission_text(docs * 100, 300)
    assert cut and long.endswith("[... cut here: the rest is not shown ...]\n")
    assert submission_text([], 300) == ("(the submission has no file for this criterion)\n", False)


def test_the_boundary_is_fresh_and_never_in_the_text() -> None:
    b = new_boundary("text")
    assert len(b) == 24 and b != new_boundary("text")
    assert b not in "text"
