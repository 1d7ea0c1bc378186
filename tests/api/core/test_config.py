"""Settings come from the environment (ASSESS_*, DATABASE_URL), with embedded defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from api.core.config import Settings


def test_defaults_are_the_embedded_setup(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("DATABASE_URL", "ASSESS_DATABASE_URL", "ASSESS_BROKER_URL", "ASSESS_DATA_DIR"):
        monkeypatch.delenv(var, raising=False)
    s = Settings()
    assert s.db_url.startswith("sqlite:///") and s.db_url.endswith(".assess/service/assess.db")
    assert s.broker_url == "" and s.workers >= 1 and s.tasks_dirs == (Path("tasks"),)


def test_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://u:p@db/assess")
    monkeypatch.setenv("ASSESS_BROKER_URL", "redis://localhost:6379/0")
    monkeypatch.setenv("ASSESS_TASKS_DIRS", f"{tmp_path}/a:{tmp_path}/b")
    monkeypatch.setenv("ASSESS_WORKERS", "3")
    s = Settings()
    assert s.db_url == "postgresql+psycopg://u:p@db/assess"
    assert s.broker_url == "redis://localhost:6379/0"
    assert s.tasks_dirs == (tmp_path / "a", tmp_path / "b") and s.workers == 3


def test_secret_is_generated_once_and_kept(tmp_path: Path) -> None:
    s = Settings(data_dir=tmp_path)
    first = s.secret()
    assert len(first) == 64 and Settings(data_dir=tmp_path).secret() == first
    assert (tmp_path / "secret.key").stat().st_mode & 0o777 == 0o600
    assert Settings(data_dir=tmp_path, secret_key="given").secret() == b"given"


def test_sandbox_runtime_reaches_the_grading_function(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from pydantic import ValidationError

    from api.services import DockerGrading, build_services

    monkeypatch.setenv("ASSESS_SANDBOX_RUNTIME", "runsc")
    settings = Settings(data_dir=tmp_path)
    assert settings.sandbox_runtime == "runsc"
    grade = build_services(settings).grade_fn
    assert isinstance(grade, DockerGrading) and grade.runtime == "runsc"
    monkeypatch.setenv("ASSESS_SANDBOX_RUNTIME", "runsc --debug")
    with pytest.raises(ValidationError, match="sandbox_runtime"):
        Settings(data_dir=tmp_path)
