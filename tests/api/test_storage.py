"""Content-addressed storage: durable writes, verified reads, nothing half-written."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from api.storage import BlobStore, StorageError, TooLarge
from tests.api.conftest import Service


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


STAGE_AND_HANG = """
import sys, time
from pathlib import Path
from api.storage import BlobStore

def chunks():
    yield b"x" * 1000
    print("staging", flush=True)
    time.sleep(600)
    yield b""

BlobStore(Path(sys.argv[1])).stage(chunks(), suffix=".zip", max_bytes=10**6)
"""


def test_start_up_removes_staging_files_of_a_killed_process(
    service_factory: Callable[..., Service], tmp_path: Path
) -> None:
    blobs = tmp_path / "data" / "blobs"
    proc = subprocess.Popen(
        [sys.executable, "-c", STAGE_AND_HANG, str(blobs)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).parents[2],
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "staging"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        if proc.stdout is not None:
            proc.stdout.close()
    (dead,) = (blobs / "staging").iterdir()
    assert dead.name.split("~")[1] == str(proc.pid)
    legacy = blobs / "staging" / "tmpabc123.zip"  # named before names carried a writer
    legacy.write_bytes(b"old")
    live = BlobStore(blobs)  # this process is alive: its file stays
    mine = blobs / "staging" / f"{os.uname().nodename}~{os.getpid()}~tmp.zip"
    mine.write_bytes(b"in progress")
    other_host = blobs / "staging" / f"elsewhere~{proc.pid}~tmp.zip"
    other_host.write_bytes(b"another machine's upload")
    service_factory()
    assert sorted(p.name for p in live.staging.iterdir()) == sorted([mine.name, other_host.name])
    # A day later, whatever is left is stale whoever wrote it.
    old = time.time() - 2 * 24 * 3600
    for p in (mine, other_host):
        os.utime(p, (old, old))
    assert sorted(live.clean_staging()) == sorted([mine.name, other_host.name])
