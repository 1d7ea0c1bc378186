"""Image build: a cached `assess images build cpu` against a cold rebuild, in the same run.

The cold build (`force=True`: no layer cache, wheelhouse already filled) is what a change to
images/cpu costs; the cached build is what every `make test` pays once the image exists.
Slow (~2 minutes): run it on its own with `make bench-images`.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from grader.images import build_image  # noqa: E402


def timed(**kwargs: bool) -> float:
    t = time.perf_counter()
    build_image("cpu", **kwargs)
    return time.perf_counter() - t


def main() -> None:
    timed()  # make sure the image exists before measuring the cached path
    cached = [timed() for _ in range(5)]
    cold = timed(force=True)
    warm = statistics.median(cached)
    print(f"cpu image, cached build   median {warm:8.3f} s over {len(cached)} runs")
    print(f"cpu image, cold rebuild           {cold:8.3f} s (no layer cache; wheels on disk)")
    print(f"ratio cold / cached               {cold / warm:8.0f}x")


if __name__ == "__main__":
    main()
