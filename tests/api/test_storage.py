"""Content-addressed storage: durable writes, verified reads, nothing half-written."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from api.storage import BlobStore, StorageError, TooLarge


def test_put_and_read_back(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    staged, sha = store.stage([b"abc", b"def"], suffix=".zip", max_bytes=100)
    assert sha == hashlib.sha256(b"abcdef").hexdigest()
    path = store.commit(staged, sha, ".zip")
    assert path == tmp_path / sha[:2] / f"{sha}.zip" and path.read_bytes() == b"abcdef"
    assert not staged.exists()
    assert store.open_verified(sha, ".zip") == path
    # The same content again: one copy.
    staged2, sha2 = store.stage([b"abcdef"], suffix=".zip", max_bytes=100)
    assert store.commit(staged2, sha2, ".zip") == path and not staged2.exists()


def test_too_large_leaves_nothing(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    with pytest.raises(TooLarge):
        store.stage([b"x" * 60, b"x" * 60], suffix=".zip", max_bytes=100)
    assert list((tmp_path / "staging").iterdir()) == []


def test_corruption_and_absence_are_detected(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    staged, sha = store.stage([b"payload"], suffix=".ipynb", max_bytes=100)
    path = store.commit(staged, sha, ".ipynb")
    os.chmod(path, 0o644)
    path.write_bytes(b"tampered")
    with pytest.raises(StorageError, match="corrupt"):
        store.open_verified(sha, ".ipynb")
    with pytest.raises(StorageError, match="missing"):
        store.open_verified("0" * 64, ".zip")
    with pytest.raises(StorageError, match="not a blob name"):
        store.path("../etc/passwd", ".zip")
