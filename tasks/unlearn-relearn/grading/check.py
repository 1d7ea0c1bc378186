"""Check phase (TRUSTED): measure the unlearned weights, then attack them by relearning.

No submission code runs here. The only input from the run phase is
/output/unlearned.safetensors (data), read with a size cap, checked name by name and shape by
shape against the kit's FactNet, and rejected if any value is not finite. The model code, the
accuracy measure and the attack come from the kit (/kit/model.py, the task's starter/); the
full retain set and the attack splits from grading/answers/hidden.json.

Checks (sum 100, all shown to the applicant; instructions.md states the same rules):
  forget   15  credit(forget accuracy; 0 at >= 0.60, full at <= 0.20), all 160 forget facts
  retain   25  credit(retain accuracy; 0 at <= 0.80, full at >= 0.95), all 1440 retain facts
  relearn  60  credit(held-out forget accuracy after the attack; 0 at >= 0.30, full at <= 0.20)
               x credit(forget) x credit(retain) x credit(relearned half; 0 at <= 0.50,
               full at >= 0.90)
The attack (kit relearn_attack) runs once per hidden split (8): fine-tune a copy on half of
the forget facts plus 200 retain facts, measure the other half; the mean over splits counts.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from assess_check import Check, Context, as_number, clip, credit, import_kit

FORGET_POINTS, RETAIN_POINTS, RELEARN_POINTS = 15.0, 25.0, 60.0
FORGET_ZERO, FORGET_FULL = 0.60, 0.20
RETAIN_ZERO, RETAIN_FULL = 0.80, 0.95
HELDOUT_ZERO, HELDOUT_FULL = 0.30, 0.20
RELEARNED_ZERO, RELEARNED_FULL = 0.50, 0.90
MAX_WEIGHTS_BYTES = 2_000_000  # the model is 185 kB
WEIGHTS = "unlearned.safetensors"


class BadOutput(Exception):
    """The weights are missing or unusable; the message is the feedback."""


def _run_note(ctx: Context) -> str:
    try:
        record = ctx.read_json("run.json", max_bytes=100_000)
    except ValueError:
        return ""
    if isinstance(record, dict) and isinstance(record.get("error"), str):
        return f" The run phase reported: {clip(record['error'])}."
    return ""


def _load(ctx: Context, kit: Any) -> Any:
    import torch
    from safetensors import SafetensorError
    from safetensors.torch import load

    path: Path = ctx.output / WEIGHTS
    if path.is_symlink() or (path.exists() and not path.is_file()):
        raise BadOutput(f"{WEIGHTS} is not a regular file")
    if not path.exists():
        raise BadOutput(f"no {WEIGHTS} reached the grader (unlearn failed or returned no model)")
    if path.stat().st_size > MAX_WEIGHTS_BYTES:
        raise BadOutput(f"{WEIGHTS} is larger than {MAX_WEIGHTS_BYTES} bytes")
    try:
        state = load(path.read_bytes())
    except (SafetensorError, ValueError, RuntimeError, OverflowError):
        raise BadOutput(f"{WEIGHTS} is not a valid safetensors file") from None
    want = kit.expected_shapes()
    if set(state) != set(want):
        raise BadOutput("the weights' parameter names differ from FactNet's")
    for name, shape in want.items():
        t = state[name]
        if tuple(t.shape) != shape or t.dtype != torch.float32:
            raise BadOutput(f"{name}: expected float32 of shape {shape}")
        if not bool(torch.isfinite(t).all()):
            raise BadOutput(f"{name} holds NaN or infinite values")
    model = kit.FactNet()
    model.load_state_dict(state)
    return model.eval()


def _facts(rows: Any) -> Any:
    import torch

    return torch.tensor(rows, dtype=torch.long).view(-1, 3)


def check(ctx: Context) -> list[Check]:
    import torch

    torch.set_num_threads(1)
    kit = import_kit(ctx, "model.py", "factnet_kit_model")
    hidden = json.loads((ctx.answers / "hidden.json").read_text(encoding="utf-8"))
    forget = kit.load_facts("forget")
    retain = _facts(hidden["retain"])

    def zero(reason: str) -> list[Check]:
        names = {
            "forget": ("Forget accuracy", FORGET_POINTS),
            "retain": ("Retain accuracy", RETAIN_POINTS),
            "relearn": ("Held-out forget accuracy after relearning", RELEARN_POINTS),
        }
        return [Check(k, n, 0.0, p, "applicant", reason) for k, (n, p) in names.items()]

    try:
        model = _load(ctx, kit)
    except BadOutput as e:
        return zero(f"No usable weights: {e}.{_run_note(ctx)}")

    forget_acc = kit.accuracy(model, forget)
    retain_acc = kit.accuracy(model, retain)
    c_forget = credit(forget_acc, FORGET_ZERO, FORGET_FULL)
    c_retain = credit(retain_acc, RETAIN_ZERO, RETAIN_FULL)

    heldout, relearned = [], []
    for i, split in enumerate(hidden["splits"]):
        attacked = kit.relearn_attack(
            model, _facts(split["relearn"]), _facts(split["replay"]), seed=1000 + i
        )
        heldout.append(kit.accuracy(attacked, _facts(split["heldout"])))
        relearned.append(kit.accuracy(attacked, _facts(split["relearn"])))
    h = sum(heldout) / len(heldout)
    r = sum(relearned) / len(relearned)
    h = h if as_number(h) is not None else math.inf
    c_heldout = credit(h, HELDOUT_ZERO, HELDOUT_FULL)
    c_relearned = credit(r, RELEARNED_ZERO, RELEARNED_FULL)
    relearn_score = RELEARN_POINTS * c_heldout * c_forget * c_retain * c_relearned

    gates = []
    if c_forget < 1:
        gates.append(f"forget credit {c_forget:.2f}")
    if c_retain < 1:
        gates.append(f"retain credit {c_retain:.2f}")
    if c_relearned < 1:
        gates.append(f"the attack learned its own half only to {r:.2f} (credit {c_relearned:.2f})")
    return [
        Check("forget", "Forget accuracy", FORGET_POINTS * c_forget, FORGET_POINTS, "applicant",
              f"Accuracy on the 160 forget facts: {forget_acc:.3f} (chance 0.0625); full credit "
              f"at <= {FORGET_FULL}, none at >= {FORGET_ZERO}."),
        Check("retain", "Retain accuracy", RETAIN_POINTS * c_retain, RETAIN_POINTS, "applicant",
              f"Accuracy on all 1440 retain facts: {retain_acc:.3f}; full credit at >= "
              f"{RETAIN_FULL}, none at <= {RETAIN_ZERO}."),
        Check("relearn", "Held-out forget accuracy after relearning", relearn_score,
              RELEARN_POINTS, "applicant",
              f"After the relearning attack (mean of {len(heldout)} splits), accuracy on the "
              f"held-out forget facts: {h:.3f} (full credit at <= {HELDOUT_FULL}, none at >= "
              f"{HELDOUT_ZERO}); on the relearned half: {r:.3f}."
              + (f" Scaled by {', '.join(gates)}." if gates else "")),
    ]  # fmt: skip
