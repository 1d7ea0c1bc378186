"""Check phase (TRUSTED): compare the submitted heads and effect sizes with the grader's own.

No submission code runs here. The inputs from the run phase are data: /output/heads.json (the
applicant's answer for the kit model) and /output/variant_heads.json (what their
find_heads() returned for the hidden variant model), both re-parsed with size caps; anything
malformed scores 0 with a reason, never an exception. The ground truth is recomputed here,
by grading/circuit.py, on HIDDEN sequences (make_batch with a seed only this file knows),
for the kit model (/kit/model.safetensors) and for the variant
(/grading/inputs/variant.safetensors). Submitted numbers are only compared with it.

Checks (sum 100):
  format            10  applicant  heads.json: non-empty valid role lists; effects for all 8 heads
  roles             25  reviewer   kit model: Jaccard(submitted, true) of the previous-token
                                 heads x Jaccard of the induction heads
  effects           20  reviewer   kit model: weighted per-head credit of the effect sizes
  variant-roles     25  reviewer   find_heads() on the hidden variant: as `roles`
  variant-effects   20  reviewer   find_heads() on the hidden variant: as `effects`

Effect credit, per head and metric: full when |submitted - true| <= tol, none at >= 3 tol,
linear between; tol = 0.05 + 0.1 |true| nats for loss_increase, 0.02 + 0.1 |true| for
accuracy_drop. Heads are weighted by |true| + a floor (0.1 nats; 0.02), so the heads that
matter dominate and near-zero guesses for unimportant heads earn little.
"""

from __future__ import annotations

import json
import math
import re
import sys
from pathlib import Path
from typing import Any

from assess_check import Check, Context, credit

HIDDEN_SEED = 61_803_398
N_HIDDEN = 1000
POINTS = {
    "format": 10.0,
    "roles": 25.0,
    "effects": 20.0,
    "variant-roles": 25.0,
    "variant-effects": 20.0,
}
ROLE_KEYS = ("previous_token_heads", "induction_heads")
METRICS = {  # name: (absolute tolerance, relative tolerance, weight floor)
    "loss_increase": (0.05, 0.10, 0.10),
    "accuracy_drop": (0.02, 0.10, 0.02),
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


def parse(
    data: Any, names: list[str]
) -> tuple[dict[str, list[str]] | None, dict[str, dict[str, float]], list[str]]:
    """(roles or None if invalid, effects per head (valid entries only), problems)."""
    problems: list[str] = []
    if not isinstance(data, dict):
        return None, {}, ["the top level is not a JSON object"]
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
    effects: dict[str, dict[str, float]] = {}
    raw = data.get("effects")
    if not isinstance(raw, dict):
        problems.append("'effects' is not an object mapping head names to effect sizes")
        return roles, effects, problems
    missing = 0
    for name in names:
        entry = raw.get(name)
        ok: dict[str, float] = {}
        if isinstance(entry, dict):
            for metric in METRICS:
                v = entry.get(metric)
                if isinstance(v, (int, float)) and not isinstance(v, bool):
                    try:
                        f = float(v)
                    except OverflowError:
                        continue
                    if math.isfinite(f):
                        ok[metric] = f
        if len(ok) == len(METRICS):
            effects[name] = ok
        else:
            missing += 1
    if missing:
        problems.append(
            f"{missing} of {len(names)} heads lack finite 'loss_increase' and "
            "'accuracy_drop' values"
        )
    return roles, effects, problems


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
                c = credit(abs(got - true), zero_at=3 * tol, full_at=tol)
            num += weight * c
            den += weight
            shown = "missing" if got is None else f"{got:.3f}"
            lines.append(f"{name} {metric}: submitted {shown}, true {true:.3f}, credit {c:.2f}")
        total += num / den / len(METRICS)
    return total, lines


def _measure(kit: Path, weights: Path) -> dict[str, Any]:
    import circuit
    import model as kit_model
    import numpy as np

    tokens, mask = kit_model.make_batch(np.random.default_rng(HIDDEN_SEED), N_HIDDEN)
    return circuit.measure(kit_model.load_model(weights), tokens, mask)


def check(ctx: Context) -> list[Check]:
    import torch

    torch.set_num_threads(1)
    sys.path.insert(0, str(ctx.kit))
    sys.path.insert(0, str(ctx.grading))
    import circuit
    import model as kit_model

    cfg = kit_model.CONFIG
    names = circuit.head_names(cfg["n_layers"], cfg["n_heads"])
    checks: list[Check] = []

    # ---- heads.json: the kit model
    kit_measured = _measure(ctx.kit, ctx.kit / "model.safetensors")
    kit_truth = circuit.roles(kit_measured)
    try:
        roles, effects, problems = parse(_load(ctx, "heads.json"), names)
    except BadOutput as e:
        roles, effects, problems = None, {}, [str(e)]
    if roles is not None and not all(roles[k] for k in ROLE_KEYS):
        problems.append("a role list is empty")
    fmt = 0.5 * (roles is not None and all(roles[k] for k in ROLE_KEYS))
    fmt += 0.5 * len(effects) / len(names)
    checks.append(
        Check(
            "format",
            "heads.json: role lists and effect sizes for every head",
            round(POINTS["format"] * fmt, 2),
            POINTS["format"],
            "applicant",
            "heads.json is complete and valid."
            if not problems
            else "heads.json: " + "; ".join(problems)[:1500] + ".",
        )
    )
    frac, detail = score_roles(roles, kit_truth)
    checks.append(
        Check(
            "roles",
            "Kit model: previous-token and induction heads",
            round(POINTS["roles"] * frac, 2),
            POINTS["roles"],
            "reviewer",
            f"Product of Jaccards {frac:.2f} ({detail}).",
        )
    )
    frac, lines = score_effects(effects, kit_measured)
    checks.append(
        Check(
            "effects",
            "Kit model: per-head ablation effect sizes",
            round(POINTS["effects"] * frac, 2),
            POINTS["effects"],
            "reviewer",
            f"Weighted credit {frac:.2f} on {N_HIDDEN} hidden sequences (baseline loss "
            f"{kit_measured['baseline_loss']:.3f}, "
            f"accuracy {kit_measured['baseline_accuracy']:.3f}). " + "; ".join(lines),
        )
    )

    # ---- variant_heads.json: find_heads() on the hidden variant
    var_measured = _measure(ctx.kit, ctx.grading / "inputs" / "variant.safetensors")
    var_truth = circuit.roles(var_measured)
    why = ""
    try:
        v_roles, v_effects, v_problems = parse(_load(ctx, "variant_heads.json"), names)
    except BadOutput as e:
        v_roles, v_effects, v_problems = None, {}, [str(e)]
        status = _status(ctx)
        why = f" find_heads() failed: {status}." if status else ""
    note = ("" if not v_problems else " Problems: " + "; ".join(v_problems)[:800] + ".") + why
    frac, detail = score_roles(v_roles, var_truth)
    checks.append(
        Check(
            "variant-roles",
            "find_heads() on a hidden relabelled model: roles",
            round(POINTS["variant-roles"] * frac, 2),
            POINTS["variant-roles"],
            "reviewer",
            f"Product of Jaccards {frac:.2f} ({detail}).{note}",
        )
    )
    frac, lines = score_effects(v_effects, var_measured)
    checks.append(
        Check(
            "variant-effects",
            "find_heads() on a hidden relabelled model: effect sizes",
            round(POINTS["variant-effects"] * frac, 2),
            POINTS["variant-effects"],
            "reviewer",
            f"Weighted credit {frac:.2f}. " + "; ".join(lines),
        )
    )
    return checks


def _status(ctx: Context) -> str:
    try:
        data = ctx.read_json("run_status.json", max_bytes=4096)
    except (ValueError, RecursionError):
        return ""
    if isinstance(data, dict) and isinstance(data.get("error"), str):
        return " ".join(data["error"].split())[:300]
    return ""
