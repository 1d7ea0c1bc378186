"""UNTRUSTED phase: fit the applicant's probe on the public training data, in the sandbox.

Mounts: /submission (ro, the submitted files; the working directory), /kit (ro, the starter
kit with the prepared model and data), /output (rw, small), /tmp. Paths come from the
ASSESS_* environment variables so this can also be exercised outside a container.

It imports /submission/probe.py, computes the residual stream at probe.LAYER on
/kit/data/train.npz with the kit's own model code, calls probe.fit(acts, labels), and writes
data only: /output/probe.safetensors (weight [d_model] float32, bias [1] float32) and
/output/probe.json ({"layer": LAYER, "n_train": N}). The check phase recomputes everything
it scores from trusted code and hidden data; nothing written here is taken on trust.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

OUTPUT = Path(os.environ.get("ASSESS_OUTPUT", "/output"))
KIT = Path(os.environ.get("ASSESS_KIT", "/kit"))
SUBMISSION = Path(os.environ.get("ASSESS_SUBMISSION", "/submission"))


class SubmissionError(Exception):
    """The submission does not follow the probe.py contract (reported, exit code 2)."""


def load_module(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise SubmissionError(f"cannot import {path.name}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def coerce_probe(result: Any, d_model: int) -> tuple[np.ndarray, np.ndarray]:
    """fit()'s return value as (weight float32 [d_model], bias float32 [1])."""
    if not isinstance(result, tuple | list) or len(result) != 2:
        raise SubmissionError("fit() must return a pair (weight, bias)")
    try:
        weight = np.asarray(result[0], dtype=np.float32).reshape(-1)
        bias = np.asarray(result[1], dtype=np.float32).reshape(-1)
    except Exception as e:  # e.g. a torch tensor that still requires grad
        raise SubmissionError(f"fit() returned something that is not numeric: {e}") from None
    if weight.shape != (d_model,):
        raise SubmissionError(f"weight has {weight.size} values; expected {d_model}")
    if bias.shape != (1,):
        raise SubmissionError(f"bias has {bias.size} values; expected 1")
    return weight, bias


def main() -> int:
    import torch
    from safetensors.numpy import save_file

    torch.set_num_threads(1)
    torch.manual_seed(0)
    np.random.seed(0)
    kit = load_module("linear_probe_kit_model", KIT / "model.py")
    model = kit.load_model(KIT / "model.safetensors")
    tokens, labels = kit.load_data(KIT / "data" / "train.npz")
    n_layers, d_model = kit.CONFIG["n_layers"], kit.CONFIG["d_model"]
    all_acts = kit.residual_stream(model, tokens)

    sys.path.insert(0, str(SUBMISSION))
    try:
        probe = load_module("probe", SUBMISSION / "probe.py")
        layer = getattr(probe, "LAYER", None)
        if isinstance(layer, bool) or not isinstance(layer, int | np.integer):
            raise SubmissionError(f"probe.LAYER must be an int, got {type(layer).__name__}")
        if not 0 <= int(layer) <= n_layers:
            raise SubmissionError(f"probe.LAYER={layer} is outside 0..{n_layers}")
        layer = int(layer)
        if not callable(getattr(probe, "fit", None)):
            raise SubmissionError("probe.py must define fit(acts, labels)")
        start = time.perf_counter()
        result = probe.fit(all_acts[:, layer].copy(), labels.copy())
        seconds = time.perf_counter() - start
        weight, bias = coerce_probe(result, d_model)
    except SubmissionError as e:
        print(f"run.py: {e}", file=sys.stderr)
        return 2

    OUTPUT.mkdir(parents=True, exist_ok=True)
    save_file({"weight": weight, "bias": bias}, str(OUTPUT / "probe.safetensors"))
    info = {"layer": layer, "n_train": len(labels), "fit_seconds": round(seconds, 3)}
    (OUTPUT / "probe.json").write_text(json.dumps(info), encoding="utf-8")
    print(f"run.py: fitted a probe at layer {layer} on {len(labels)} sequences in {seconds:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
