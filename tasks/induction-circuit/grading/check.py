"""Check phase (TRUSTED): compare the submitted heads and effect sizes with the grader's own.

No submission code runs here. The inputs from the run phase are data: /output/heads.json (the
applicant's answer for the kit model) and /output/variant_heads.json (what their
find_heads() returned for the hidden variant model), both re-parsed with size caps; anything
malformed scores 0 with a reason, never an exception. The ground truth is recomputed here,
by grading/circuit.py, on HIDDEN sequences (make_batch with a seed only this file knows),
for the kit model (/kit/model.safetensors) and for the variant
(/grading/inputs/variant.safetensors). Submitted numbers are only compared with it.

Checks (sum 100):
  format             4  applicant  heads.json: non-empty valid role lists; effects for all 8
                                   heads; a finite baseline loss and accuracy
  roles             25  reviewer   kit model: Jaccard(submitted, true) of the previous-token
                                   heads x Jaccard of the induction heads
  baseline           5  reviewer   kit model: the unablated loss and accuracy on the
                                   induction positions
  effects           18  reviewer   kit model: weighted per-head credit of the effect sizes,
                                   times the baseline's credit
  variant-roles     25  reviewer   find_heads() on the hidden variant: as `roles`
  variant-baseline   5  reviewer   find_heads() on the hidden variant: as `baseline`
  variant-effects   18  reviewer   find_heads() on the hidden variant: as `effects`

Tolerances come from the sampling noise of the reference's own measurement (grading/circuit.py
== solution/find_heads.py up to float rounding). The submission measures on its own sequences
(instructions.md: at least 1000), the grader on N_HIDDEN = 2000 hidden ones, so a correct
submission differs from the grader by independent sampling noise of SD
sigma_diff = sigma_1000 * sqrt(1 + 1000/2000) = 1.22 sigma_1000 at worst. sigma_1000, the SD of
the pooled estimate over 1000 sequences, was measured on the kit model from 16,000 sequences
(two pools of 8,000, seeds 777 and 4242; 400 subsamples of 1000 each; float rounding, batch
size, hooks vs zeroed weights change the figures by < 1e-6 and float64 vs float32 by 2e-8,
nothing next to this):

  baseline loss 0.0187 nats, baseline accuracy 0.0034;
  loss_increase   0.0010 (head 0.1, |x| 0.02) ... 0.0049 (1.1, 0.32), 0.0148 (0.0, 3.43):
                  below 0.004 + 0.0033 |x|;
  accuracy_drop   0.0004 ... 0.0011 (|x| < 0.01), 0.0043 (0.0, 0.25): below 0.0012 + 0.013 |x|.

Full credit within TOL = about 4 sigma_diff (4 x 1.22 x the figures above, rounded up):
0.1 nats / 0.018 for the baseline, 0.022 + 0.02 |x| nats for loss_increase, 0.007 + 0.07 |x|
for accuracy_drop; credit falls linearly to 0 at 2 TOL (8 sigma_diff: no longer noise, a
different quantity). Simulated on those pools against the grader's 2000 hidden sequences,
3000 correct submissions of 1000 sequences each reached at most 0.69-0.83 TOL (two runs) on
any of the 18 figures (2000 sequences: 0.48-0.50). grading/noise.py reproduces all of this
(~3 min; not used in grading). Measuring one position off (the mask applied to the logits
of the previous position: baseline loss 0.71 instead of 0.52, accuracy 0.88 instead of
0.91, head effects 5-10% low) lands at 1.5-2 TOL on the baseline and 1.7 TOL on head 0.0's
loss_increase. The effects are differences from that baseline, so their credit is multiplied
by the baseline's (a correct measurement has baseline credit 1): bad/mask-one-off scores 69.3
(100 under the 1.0.0 rule of 0.05 + 10%, none at 3x, and no baseline check).
Effect credit is weighted per head by |true| + a floor (0.1 nats; 0.02), so the heads that
matter dominate and near-zero guesses for unimportant heads earn little.

The variant's ground truth: the variant is the kit model with relabelled heads, so
circuit.match_heads pairs its heads with the kit model's (same outputs and attention patterns
on 100 hidden sequences) and the kit's measurement is relabelled; the figures equal a direct
measurement to ~1e-7. If the pairing fails, the variant is measured directly.
"""

from __future__ import annotations

import json
import math
import re
import sys
from typing import Any

from assess_check import Check, Context, credit

HIDDEN_SEED = 61_803_398
N_HIDDEN = 2000
N_MATCH = 100  # sequences on which the variant's heads are paired with the kit model's
# The baseline's points came out of format (was 10) and effects (was 20 each), so the cases
# that get roles wrong score as before and a wrong baseline costs up to 10 points.
POINTS = {
    "format": 4.0,
    "roles": 25.0,
    "baseline": 5.0,
    "effects": 18.0,
    "variant-roles": 25.0,
    "variant-baseline": 5.0,
    "variant-effects": 18.0,
}
ROLE_KEYS = ("previous_token_heads", "induction_heads")
# Full credit within TOL, none from ZERO_AT x TOL; the docstring derives the numbers.
ZERO_AT = 2.0
METRICS = {  # name: (absolute tolerance, relative tolerance, weight floor)
    "loss_increase": (0.022, 0.02, 0.10),
    "accuracy_drop": (0.007, 0.07, 0.02),
}
BASELINE = {  # submitted key: (key in circuit.measure's output, tolerance)
    "loss": ("baseline_loss", 0.1),
    "accuracy": ("baseline_accuracy", 0.018),
}
MAX_BYTES = 256 * 1024
HEAD_RE = re.compile(r"^([0-9])\.([0-9])$")


class BadOutput(Exception):
    """The file is missing or malformed; the message is the feedback."""


def _load(ctx: Context, name: str) -> Any:
    path = ctx.output / name
    if path.is_symlink() or (path.exists() and not path.is_file()):
        raise BadOutput(f"{name} is not a regular file")
    if not path.exists():
        raise BadOutput(f"no {name} reached the grader")
    if path.stat().st_size > MAX_BYTES:
        raise BadOutput(f"{name} is larger than {MAX_BYTES} bytes")
    try:
        return json.loads(path.read_bytes().decode("utf-8"))
    except Exception:  # bad UTF-8 or JSON, absurd nesting, huge integers
        raise BadOutput(f"{name} is not valid UTF-8 JSON") from None


def _number(v: Any) -> float | None:
    """A finite float from a JSON number, else None (bools, strings, NaN, 10**400 too)."""
    if not isinstance(v, (int, float)) or isinstance(v, bool):
        return None
    try:
        f = float(v)
    except OverflowError:
        return None
    return f if math.isfinite(f) else None


class Parsed:
    """What heads.json (or find_heads' result) holds that can be scored."""

    def __init__(self) -> None:
        self.roles: dict[str, list[str]] | None = None  # None: invalid role lists
        self.effects: dict[str, dict[str, float]] = {}  # valid heads only
        self.baseline: dict[str, float] = {}  # valid entries only
        self.problems: list[str] = []


def parse(data: Any, names: list[str]) -> Parsed:
    out = Parsed()
    problems = out.problems
    if not isinstance(data, dict):
        problems.append("the top level is not a JSON object")
        return out
    roles: dict[str, list[str]] | None = {}
    for key in ROLE_KEYS:
        value = data.get(key)
        if not isinstance(value, list) or len(value) > len(names):
            problems.append(f"'{key}' is not a list of at most {len(names)} head names")
            roles = None
            continue
        if not all(isinstance(x, str) and x in names for x in value):
            problems.append(f"'{key}' holds entries that are not head names 'L.H' of this model")
            roles = None
            continue
        if roles is not None:
            roles[key] = sorted(set(value))
    out.roles = roles
    raw = data.get("baseline")
    if isinstance(raw, dict):
        for key in BASELINE:
            f = _number(raw.get(key))
            if f is not None:
                out.baseline[key] = f
    if len(out.baseline) < len(BASELINE):
        problems.append("'baseline' lacks a finite 'loss' and 'accuracy'")
    raw = data.get("effects")
    if not isinstance(raw, dict):
        problems.append("'effects' is not an object mapping head names to effect sizes")
        return out
    missing = 0
    for name in names:
        entry = raw.get(name)
        ok: dict[str, float] = {}
        if isinstance(entry, dict):
            for metric in METRICS:
                f = _number(entry.get(metric))
                if f is not None:
                    ok[metric] = f
        if len(ok) == len(METRICS):
            out.effects[name] = ok
        else:
            missing += 1
    if missing:
        problems.append(
            f"{missing} of {len(names)} heads lack finite 'loss_increase' and "
            "'accuracy_drop' values"
        )
    return out


def jaccard(a: list[str], b: list[str]) -> float:
    sa, sb = set(a), set(b)
    return 1.0 if not sa and not sb else len(sa & sb) / len(sa | sb)


def score_roles(roles: dict[str, list[str]] | None, truth: dict[str, list[str]]) -> tuple:
    if roles is None:
        return 0.0, "no valid role lists"
    parts = [jaccard(roles[k], truth[k]) for k in ROLE_KEYS]
    frac = parts[0] * parts[1]
    detail = "; ".join(
        f"{k}: submitted {roles[k]}, true {truth[k]}, Jaccard {j:.2f}"
        for k, j in zip(ROLE_KEYS, parts, strict=True)
    )
    return frac, detail


def score_effects(effects: dict[str, dict[str, float]], measured: dict[str, Any]) -> tuple:
    total = 0.0
    lines = []
    for metric, (abs_tol, rel_tol, floor) in METRICS.items():
        num = den = 0.0
        for name, m in measured["heads"].items():
            true = m[metric]
            weight = abs(true) + floor
            got = effects.get(name, {}).get(metric)
            c = 0.0
            if got is not None:
                tol = abs_tol + rel_tol * abs(true)
                c = credit(abs(got - true), zero_at=ZERO_AT * tol, full_at=tol)
            num += weight * c
            den += weight
            shown = "missing" if got is None else f"{got:.3f}"
            lines.append(f"{name} {metric}: submitted {shown}, true {true:.3f}, credit {c:.2f}")
        total += num / den / len(METRICS)
    return total, lines


def score_baseline(baseline: dict[str, float], measured: dict[str, Any]) -> tuple:
    """Mean credit of the baseline loss and accuracy, and the feedback."""
    total = 0.0
    parts = []
    for key, (true_key, tol) in BASELINE.items():
        true = measured[true_key]
        got = baseline.get(key)
        c = 0.0
        if got is not None:
            c = credit(abs(got - true), zero_at=ZERO_AT * tol, full_at=tol)
        total += c / len(BASELINE)
        shown = "missing" if got is None else f"{got:.4f}"
        parts.append(f"{key}: submitted {shown}, true {true:.4f}, credit {c:.2f}")
    return total, "; ".join(parts)


def check(ctx: Context) -> list[Check]:
    import numpy as np
    import torch

    torch.set_num_threads(1)
    sys.path.insert(0, str(ctx.kit))
    sys.path.insert(0, str(ctx.grading))
    import circuit
    import model as kit_model

    cfg = kit_model.CONFIG
    names = circuit.head_names(cfg["n_layers"], cfg["n_heads"])
    tokens, mask = kit_model.make_batch(np.random.default_rng(HIDDEN_SEED), N_HIDDEN)
    kit = kit_model.load_model(ctx.kit / "model.safetensors")
    kit_measured = circuit.measure(kit, tokens, mask)
    variant = kit_model.load_model(ctx.grading / "inputs" / "variant.safetensors")
    match = circuit.match_heads(kit, variant, tokens[:N_MATCH])
    if match is not None:
        var_measured = circuit.relabel(kit_measured, match)
    else:  # not a pure relabelling of the kit model: measure it in full
        var_measured = circuit.measure(variant, tokens, mask)

    try:
        sub = parse(_load(ctx, "heads.json"), names)
    except BadOutput as e:
        sub = Parsed()
        sub.problems.append(str(e))
    roles_ok = sub.roles is not None and all(sub.roles[k] for k in ROLE_KEYS)
    if sub.roles is not None and not roles_ok:
        sub.problems.append("a role list is empty")
    fmt = 0.4 * roles_ok + 0.4 * len(sub.effects) / len(names)
    fmt += 0.2 * (len(sub.baseline) == len(BASELINE))
    checks = [
        Check(
            "format",
            "heads.json: role lists, baseline and effect sizes for every head",
            round(POINTS["format"] * fmt, 2),
            POINTS["format"],
            "applicant",
            "heads.json is complete and valid."
            if not sub.problems
            else "heads.json: " + "; ".join(sub.problems)[:1500] + ".",
        )
    ]
    checks += _scored(sub, kit_measured, "", "Kit model", "")

    why = ""
    try:
        v_sub = parse(_load(ctx, "variant_heads.json"), names)
    except BadOutput as e:
        v_sub = Parsed()
        v_sub.problems.append(str(e))
        status = _status(ctx)
        why = f" find_heads() failed: {status}." if status else ""
    note = "" if not v_sub.problems else " Problems: " + "; ".join(v_sub.problems)[:800] + "."
    checks += _scored(
        v_sub, var_measured, "variant-", "find_heads() on a hidden relabelled model", note + why
    )
    return checks


def _scored(sub: Parsed, measured: dict[str, Any], prefix: str, what: str, note: str) -> list:
    """The roles, baseline and effects checks of one model."""
    import circuit

    out = []
    frac, detail = score_roles(sub.roles, circuit.roles(measured))
    out.append(
        Check(
            f"{prefix}roles",
            f"{what}: previous-token and induction heads",
            round(POINTS[f"{prefix}roles"] * frac, 2),
            POINTS[f"{prefix}roles"],
            "reviewer",
            f"Product of Jaccards {frac:.2f} ({detail}).{note}",
        )
    )
    base_frac, detail = score_baseline(sub.baseline, measured)
    frac = base_frac
    out.append(
        Check(
            f"{prefix}baseline",
            f"{what}: unablated loss and accuracy on the induction positions",
            round(POINTS[f"{prefix}baseline"] * frac, 2),
            POINTS[f"{prefix}baseline"],
            "reviewer",
            f"Credit {frac:.2f} on {N_HIDDEN} hidden sequences ({detail}; full credit within "
            f"{BASELINE['loss'][1]} nats / {BASELINE['accuracy'][1]}).",
        )
    )
    # Every effect is a difference from the baseline on the same positions. The baseline is
    # the figure that shows whether those positions (and that averaging) are the defined ones:
    # measured elsewhere it moves by 7-9 sigma while the effects move by 1-3 sigma only, below
    # what their own tolerance can resolve. So the effects count only as far as the baseline
    # does; a correct measurement has baseline credit 1 (at most 0.5 TOL off, docstring).
    frac, lines = score_effects(sub.effects, measured)
    out.append(
        Check(
            f"{prefix}effects",
            f"{what}: per-head ablation effect sizes",
            round(POINTS[f"{prefix}effects"] * frac * base_frac, 2),
            POINTS[f"{prefix}effects"],
            "reviewer",
            f"Weighted credit {frac:.2f} x baseline credit {base_frac:.2f} on {N_HIDDEN} hidden "
            "sequences. " + "; ".join(lines),
        )
    )
    return out


def _status(ctx: Context) -> str:
    try:
        data = ctx.read_json("run_status.json", max_bytes=4096)
    except (ValueError, RecursionError):
        return ""
    if isinstance(data, dict) and isinstance(data.get("error"), str):
        return " ".join(data["error"].split())[:300]
    return ""
