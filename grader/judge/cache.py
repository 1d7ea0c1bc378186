"""Judgments on disk, keyed by task, submission, criterion and judge configuration.

A judgment depends on the task (its rubric and instructions), the submission's files, the
criterion and everything in :class:`~grader.judge.model.JudgeConfig` that can change an
answer (:meth:`JudgeConfig.digest`, which includes the prompt version). The key hashes those
four; the file is ``<dir>/<key[:2]>/<key>.json``, written to a temporary file in the same
folder and renamed over, so a reader never sees half a file and concurrent writers of the
same key leave one whole answer. Provider failures and budget skips are never stored.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

from pydantic import ValidationError

from grader.judge.model import Judgment


def cache_key(task_digest: str, submission_digest: str, criterion: str, config_digest: str) -> str:
    parts = [task_digest, submission_digest, criterion, config_digest]
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()


class JudgeCache:
    """A folder of cached judgments (created on first write)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.json"

    def get(self, key: str) -> Judgment | None:
        """The cached judgment, or None (missing, unreadable or from an older format)."""
        try:
            return Judgment.model_validate_json(self._path(key).read_bytes())
        except (OSError, ValidationError):
            return None

    def put(self, key: str, judgment: Judgment) -> None:
        if judgment.status in ("error", "skipped"):
            return
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        stored = judgment.model_copy(update={"cached": False})
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(stored.model_dump_json())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
