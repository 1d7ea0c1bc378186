"""Named timings of one grading's steps, for profiling (bench/profile_grading.py).

`span("run.start")` around a step records its wall time into the recorder the caller
activated with `recording()`; with none active it costs one context-variable read. The
recorder follows the grading into the threads it starts only where they are given its
context, so concurrent gradings each keep their own.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_ACTIVE: ContextVar[list[tuple[str, float]] | None] = ContextVar("assess_spans", default=None)


@contextmanager
def span(name: str) -> Iterator[None]:
    """Time the block as `name` if a recorder is active."""
    into = _ACTIVE.get()
    if into is None:
        yield
        return
    t = time.perf_counter()
    try:
        yield
    finally:
        into.append((name, time.perf_counter() - t))


@contextmanager
def recording() -> Iterator[list[tuple[str, float]]]:
    """Record the spans of the work done inside the block (this context only)."""
    spans: list[tuple[str, float]] = []
    token = _ACTIVE.set(spans)
    try:
        yield spans
    finally:
        _ACTIVE.reset(token)
