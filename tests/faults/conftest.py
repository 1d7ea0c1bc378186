"""Fault tests: a real service (or Celery worker) process, a real fault, then the ledger.

Each test asserts the same four things: no submission lost, every job ended graded or with
an explicit error, no submission has two reports, and no container or volume of any
process it started is left in the engine.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from bench.liveservice import LiveService, sandbox_leftovers
from tests.api.conftest import postgres_server, redis_url  # noqa: F401  (fixtures)

SLOW = {"main.py": "import time\ntime.sleep(4)\nANSWER = 6 * 7\n"}
RIGHT = {"main.py": "ANSWER = 6 * 7\n"}


@pytest.fixture
def live(tmp_path: Path) -> Iterator[Callable[..., LiveService]]:
    """Make LiveService objects over tmp_path/data; every one is stopped at the end."""
    made: list[LiveService] = []

    def make(**kw: Any) -> LiveService:
        kw.setdefault("data_dir", tmp_path / "data")
        kw.setdefault("log", tmp_path / "service.log")
        svc = LiveService(**kw)
        made.append(svc)
        return svc

    yield make
    for svc in made:
        svc.stop()


def no_leftovers(pids: list[int]) -> None:
    left = sandbox_leftovers(pids)
    assert not left, f"left behind in the engine: {left}"


@pytest.fixture
def broker(redis_url: str) -> str:  # noqa: F811
    """A Redis database of its own on the test Redis (scripts/ensure-redis.sh)."""
    import random

    return redis_url.rsplit("/", 1)[0] + f"/{random.randint(1, 15)}"
