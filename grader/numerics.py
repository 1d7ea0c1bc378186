"""CPU numerics settings for recorded measurements (experiments behind a key, model rebuilds).

A figure that a task records (an experiment's outcome, a committed model's behaviour) is re-run
by `assess task validate` and the test suite on whatever x86-64 CPU they happen to run on. The
libraries pick kernels by CPU: ATen's vectorised kernels (default / AVX2 / AVX-512), MKL's
BLAS code path (SSE2 ... AVX-512, and another one on AMD), numpy's dispatched loops (x86-64-v3
/ v4) and OpenBLAS's per-core kernels in numpy, scipy and scikit-learn. Each changes rounding,
and a few hundred steps of training turn one ulp into a different model.

``PINNED`` takes the choice away from the CPU: ATen's portable kernels, MKL's conditional
numerical reproducibility in its SSE2 mode, numpy without its optional dispatch targets,
OpenBLAS's SSE3 kernels, oneDNN's AVX2 kernels (not wider), one thread everywhere. Recorded
figures are measured and re-run under it. ``NATIVE`` keeps every library's best kernels for
this CPU (one thread): the suite re-runs under both, so a recorded claim must hold whichever
kernels a grading machine picks, not only under the pin (see docs/tasks.md, "Figures that
hold on any CPU").
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Final

__all__ = ["NATIVE", "PINNED", "SETTINGS", "setting_env"]

_ONE_THREAD: Final = {
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
}

PINNED: Final = MappingProxyType(
    {
        **_ONE_THREAD,
        "ATEN_CPU_CAPABILITY": "default",
        "MKL_CBWR": "COMPATIBLE",
        # Dispatch targets numpy may pick above its baseline; naming one the CPU lacks is fine.
        "NPY_DISABLE_CPU_FEATURES": "X86_V3,X86_V4,AVX512_ICL,AVX512_SPR",
        "OPENBLAS_CORETYPE": "Prescott",
        # oneDNN (torch's GELU and other element-wise and convolution primitives) JITs its
        # kernels for the widest vector ISA it finds, and each width rounds differently: its
        # AVX-512 GELU rebuilt backdoor-trigger with asr_perm_cab 0.351 against 0.137 ± 0.05
        # (Intel Xeon with AVX-512); capped at AVX2 the same rebuild gives 0.148. AVX2 is the
        # width the committed models were built with (every x86-64 server CPU since 2015).
        "ONEDNN_MAX_CPU_ISA": "AVX2",
    }
)
NATIVE: Final = MappingProxyType(dict(_ONE_THREAD))
SETTINGS: Final = MappingProxyType({"pinned": PINNED, "native": NATIVE})


def setting_env(name: str) -> dict[str, str]:
    """The environment variables of a named setting (a copy).

    Raises:
        ValueError: an unknown setting name.
    """
    try:
        return dict(SETTINGS[name])
    except KeyError:
        known = ", ".join(SETTINGS)
        raise ValueError(f"unknown numerics setting {name!r} (known: {known})") from None
