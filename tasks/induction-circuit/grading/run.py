"""Run phase (UNTRUSTED): copy the answers, then run find_heads() on a hidden model.

Mounts (paths from the ASSESS_* variables, so this also runs on the host): /submission (ro,
the cwd), /kit (ro: model.py, model.safetensors), /grading (ro: this file and
inputs/variant.safetensors), /output (rw, small).

1. heads.json and writeup.md are copied (size-capped) to /output first, so a crash or a
   timeout later still leaves them for the check phase.
2. The submission's find_heads.py is imported and `find_heads(model)` is called on the hidden
   variant: the kit's model with its heads relabelled and their internal bases rotated (the
   same function). Its return value is written to /output/variant_heads.json (JSON only).

Nothing here is trusted: the check phase re-parses every file and recomputes the ground truth
with its own code. Exit status 0 when find_heads ran, 2 when it failed (the copied files stay).
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
import traceback
from pathlib import Path

from assess_run import copy_capped, write_bytes

OUTPUT = Path(os.environ.get("ASSESS_OUTPUT", "/output"))
KIT = Path(os.environ.get("ASSESS_KIT", "/kit"))
SUBMISSION = Path(os.environ.get("ASSESS_SUBMISSION", "/submission"))
GRADING = Path(os.environ.get("ASSESS_GRADING", "/grading"))

LIMITS = {"heads.json": 256 * 1024, "writeup.md": 512 * 1024}  # bytes copied at most
MAX_RESULT_BYTES = 256 * 1024


def _clean(x: object, depth: int = 0) -> object:
    """JSON-safe copy of find_heads' result: NaN/inf become None, odd types become str."""
    if depth > 20:
        return None
    if isinstance(x, bool) or x is None or isinstance(x, str):
        return x
    if isinstance(x, int):
        return x if abs(x) < 10**15 else None
    if isinstance(x, float):
        return x if math.isfinite(x) else None
    if isinstance(x, dict):
        return {str(k): _clean(v, depth + 1) for k, v in list(x.items())[:1000]}
    if isinstance(x, (list, tuple)):
        return [_clean(v, depth + 1) for v in list(x)[:1000]]
    try:  # numpy / torch scalars
        return _clean(float(x), depth + 1)  # type: ignore[arg-type]
    except Exception:  # any odd object
        return None


def main() -> int:
    OUTPUT.mkdir(parents=True, exist_ok=True)
    for name in LIMITS:
        copy_capped(name, LIMITS[name])

    sys.path.insert(0, str(KIT))
    sys.path.insert(0, str(SUBMISSION))
    import torch

    torch.set_num_threads(1)
    import model as kit_model

    status: dict[str, object] = {"ok": False, "error": None, "seconds": None}
    t0 = time.time()
    try:
        if not (SUBMISSION / "find_heads.py").is_file():
            raise FileNotFoundError("the submission has no find_heads.py")
        variant = kit_model.load_model(GRADING / "inputs" / "variant.safetensors")
        import find_heads as sub

        result = sub.find_heads(variant)
        data = json.dumps(_clean(result), allow_nan=False).encode("utf-8")
        if len(data) > MAX_RESULT_BYTES:
            raise ValueError(f"find_heads returned {len(data)} bytes of JSON (limit 256 kB)")
        write_bytes(OUTPUT / "variant_heads.json", data)
        status["ok"] = True
    except BaseException as e:  # record anything, SystemExit too
        status["error"] = f"{type(e).__name__}: {' '.join(str(e).split())[:300]}"
        traceback.print_exc()
    status["seconds"] = round(time.time() - t0, 2)
    print(f"run.py: find_heads on the hidden variant: {status}")
    write_bytes(OUTPUT / "run_status.json", json.dumps(status).encode("utf-8"))
    return 0 if status["ok"] else 2


if __name__ == "__main__":
    sys.exit(main())
