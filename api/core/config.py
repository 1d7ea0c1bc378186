"""The service's settings: one class, read from the environment (``ASSESS_*``).

Built by the app factory (or the CLI), never at import time. Defaults are the embedded
single-machine set-up: a SQLite file under ``.assess/service``, an in-process worker pool,
and the built-in tasks under ``tasks/``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_DATA_DIR = Path(".assess/service")


def _default_workers() -> int:
    return max(1, os.cpu_count() or 1)


class Settings(BaseSettings):
    """Everything the service can be told. Environment variables are ``ASSESS_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="ASSESS_", extra="ignore", frozen=True)

    data_dir: Path = DEFAULT_DATA_DIR
    # SQLite in data_dir unless set; PostgreSQL as postgresql://user:pass@host/db.
    database_url: Annotated[
        str, Field(validation_alias=AliasChoices("ASSESS_DATABASE_URL", "DATABASE_URL"))
    ] = ""
    # Empty: the in-process pool. redis://host:port/n: jobs go to Celery workers.
    broker_url: str = ""
    # Threads grading in-process; 0 means enqueue only (another process grades).
    workers: Annotated[int, Field(ge=0, le=256)] = Field(default_factory=_default_workers)
    # Task folders loaded at start-up (folders starting with "_" are skipped).
    tasks_dirs: Annotated[tuple[Path, ...], NoDecode] = (Path("tasks"),)
    secret_key: str = ""
    # Upper bound for one upload before any task rule applies (bytes).
    max_upload_bytes: Annotated[int, Field(ge=1)] = 200_000_000
    # Uploads stored and queued at once in this process (the rest wait in the event loop,
    # holding no thread): their work is Python under one interpreter lock, and eight at once
    # cost half as much CPU again as one at a time (api.routes.applicants).
    upload_lanes: Annotated[int, Field(ge=1, le=64)] = 2
    # Deadlines for a request: all its headers within header_timeout_s; its body with no
    # gap longer than body_timeout_s and, past that long, at min_body_rate bytes/s on average.
    header_timeout_s: Annotated[float, Field(gt=0, le=600)] = 10.0
    body_timeout_s: Annotated[float, Field(gt=0, le=3600)] = 20.0
    min_body_rate: Annotated[int, Field(ge=0, le=1_000_000_000)] = 1024
    # Sign-in throttling (api.throttle): free failures per username and per address, then a
    # delay doubling from login_base_delay_s; a username locks after login_lock_after.
    login_free_failures: Annotated[int, Field(ge=0, le=1000)] = 3
    login_base_delay_s: Annotated[float, Field(ge=0, le=3600)] = 1.0
    login_max_delay_s: Annotated[float, Field(ge=0, le=86400)] = 900.0
    login_lock_after: Annotated[int, Field(ge=1, le=10000)] = 10
    login_window_s: Annotated[float, Field(gt=0, le=30 * 86400)] = 900.0
    session_hours: Annotated[int, Field(ge=1, le=24 * 90)] = 12
    invite_days: Annotated[int, Field(ge=1, le=365)] = 30
    secure_cookies: bool = False
    # Run migrations at start-up (the embedded default); operators may run them apart.
    auto_migrate: bool = True
    # The grader refuses an unsafe local sandbox; the service never asks for one.
    base_url: str = "http://127.0.0.1:8000"
    # The engine's OCI runtime for submissions ("runsc": gVisor); empty: the engine's default.
    sandbox_runtime: Annotated[str, Field(pattern=r"^[A-Za-z0-9._-]*$", max_length=64)] = ""

    # Outgoing mail (api.notifications). No host: messages stay in the outbox, where
    # operators read and export them. The password is read here and never shown or stored.
    smtp_host: str = ""
    smtp_port: Annotated[int, Field(ge=1, le=65535)] = 587
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_starttls: bool = True
    smtp_from: str = "assess@localhost"
    smtp_timeout_s: Annotated[float, Field(gt=0, le=300)] = 20.0
    # Hours before an attempt's deadline at which the applicant is reminded (once each).
    reminder_hours: Annotated[tuple[int, ...], NoDecode] = (24,)
    # The rubric judge (grader.judge) run after grading when a cohort's judge mode is not
    # "off": "local" (SmolLM2, offline) or "http" (an OpenAI-compatible server at
    # judge_base_url; its key comes from ASSESS_JUDGE_API_KEY and is never stored).
    judge_provider: Annotated[str, Field(pattern=r"^(local|http)$")] = "local"
    judge_model: str = "SmolLM2-135M-Instruct"
    judge_base_url: str = ""
    judge_timeout_s: Annotated[float, Field(gt=0, le=3600)] = 120.0
    # Judging threads in-process (0: none here, another process judges).
    judge_workers: Annotated[int, Field(ge=0, le=64)] = 1

    @field_validator("reminder_hours", mode="before")
    @classmethod
    def _split_hours(cls, v: object) -> object:
        if isinstance(v, str):
            return tuple(int(h) for h in v.replace(",", " ").split())
        return v

    @field_validator("tasks_dirs", mode="before")
    @classmethod
    def _split_dirs(cls, v: object) -> object:
        if isinstance(v, str):
            return tuple(Path(p) for p in v.split(os.pathsep) if p)
        return v

    @property
    def db_url(self) -> str:
        """The SQLAlchemy URL: the configured one with its driver, or the default SQLite file."""
        url = self.database_url
        if not url:
            return f"sqlite:///{(self.data_dir / 'assess.db').resolve()}"
        for plain in ("postgresql://", "postgres://"):
            if url.startswith(plain):
                return "postgresql+psycopg://" + url[len(plain) :]
        return url

    @property
    def blob_dir(self) -> Path:
        """Content-addressed submission storage."""
        return self.data_dir / "blobs"

    @property
    def artifacts_dir(self) -> Path:
        """Run-phase outputs kept per grading."""
        return self.data_dir / "artifacts"

    def secret(self) -> bytes:
        """The signing secret: configured, or generated once and kept in data_dir."""
        if self.secret_key:
            return self.secret_key.encode()
        path = self.data_dir / "secret.key"
        if not path.exists():
            import secrets

            self.data_dir.mkdir(parents=True, exist_ok=True)
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:  # another process won the race: use its key
                pass
            else:
                with os.fdopen(fd, "w") as f:
                    f.write(secrets.token_hex(32))
                    f.flush()
                    os.fsync(f.fileno())
        return path.read_text().strip().encode()
