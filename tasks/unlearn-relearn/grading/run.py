"""Run phase of unlearn-relearn. UNTRUSTED: this file runs in the same process as unlearn.py.

Mounts (paths from the ASSESS_* variables, so this also runs on the host): /submission (ro,
the cwd), /kit (ro: model.py, model.safetensors, data/forget.json, data/retain.json),
/output (rw, small).

It loads the kit's trained FactNet, imports /submission/unlearn.py, calls
``unlearn(model, forget, retain)`` once and writes DATA only:

    /output/unlearned.safetensors   the returned model's weights (float32, the kit's names)
    /output/run.json                {"error": str|null, "seconds": float|null, ...}
    /output/writeup.md              a copy of the submission's write-up, for reviewers

Nothing here decides a score: check.py loads the weights into the kit's own FactNet and
measures them (forget and retain accuracy, the relearning attack on hidden splits).
"""

from __future__ import annotations

import sys
import time

from assess_run import (
    KIT,
    OUTPUT,
    SUBMISSION,
    copy_capped,
    describe,
    import_file,
    write_bytes,
    write_json,
)

MAX_WRITEUP_BYTES = 200_000


def state_of(result, kit) -> dict:  # torch objects (imported late)
    """The returned model's weights as a {name: float32 tensor} dict with the kit's shapes."""
    import torch

    state = result.state_dict() if isinstance(result, torch.nn.Module) else result
    if not isinstance(state, dict):
        raise TypeError(f"unlearn returned {type(result).__name__}, not a FactNet")
    want = kit.expected_shapes()
    if set(state) != set(want):
        missing, extra = sorted(set(want) - set(state)), sorted(set(state) - set(want))
        raise ValueError(f"parameter names differ from FactNet: missing {missing[:5]}, "
                         f"unexpected {[str(k)[:40] for k in extra[:5]]}")  # fmt: skip
    out = {}
    for name, shape in want.items():
        t = state[name]
        if not isinstance(t, torch.Tensor) or tuple(t.shape) != shape:
            raise ValueError(f"{name}: expected a tensor of shape {shape}")
        out[name] = t.detach().to("cpu", torch.float32).clone().contiguous()
    return out


def main() -> int:
    record = {"error": None, "seconds": None, "saved": False}
    write_json("run.json", record)
    copy_capped("writeup.md", MAX_WRITEUP_BYTES)
    try:
        kit = import_file("factnet_kit_model", KIT / "model.py")
        model = kit.load_model(KIT / "model.safetensors")
        forget, retain = kit.load_facts("forget"), kit.load_facts("retain")
        sys.path.insert(0, str(SUBMISSION))
        submission = import_file("unlearn", SUBMISSION / "unlearn.py")
        unlearn = submission.unlearn
    except Exception as e:  # includes SyntaxError in the applicant's file
        record["error"] = "import: " + describe(e)
        write_json("run.json", record)
        print(f"run.py: could not import unlearn.unlearn: {describe(e)}", file=sys.stderr)
        return 1

    start = time.process_time()
    try:
        result = unlearn(model, forget.clone(), retain.clone())
        record["seconds"] = round(time.process_time() - start, 3)
        from safetensors.torch import save

        write_bytes(OUTPUT / "unlearned.safetensors", save(state_of(result, kit)))
        record["saved"] = True
        print(f"run.py: unlearn took {record['seconds']} CPU-s; weights saved")
    except Exception as e:  # the submission's failure is a result, not our crash
        record["error"] = describe(e)
        print(f"run.py: unlearn failed: {describe(e)}", file=sys.stderr)
    write_json("run.json", record)
    return 0


if __name__ == "__main__":
    sys.exit(main())
