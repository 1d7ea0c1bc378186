"""Visible self-checks (run with `assess check`, or `python -m pytest -q tests` in this folder).

They check the format of heads.json, that find_heads() reproduces its roles on the kit model,
that find_heads() follows the heads when they are relabelled (a public relabelling; the grader
uses a different, hidden one), and that writeup.md no longer holds the template's note.
Passing them is necessary, not sufficient: the grader compares your roles, baseline and effect
sizes with its own measurements on hidden sequences.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import pytest

KIT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(KIT))

HEADS = [f"{layer}.{h}" for layer in range(2) for h in range(4)]
ROLES = ("previous_token_heads", "induction_heads")
METRICS = ("loss_increase", "accuracy_drop")
BASELINE = ("loss", "accuracy")
TOL = {  # the grader's full-credit tolerances: absolute + relative x |value|
    "loss_increase": (0.022, 0.02),
    "accuracy_drop": (0.007, 0.07),
    "loss": (0.1, 0.0),
    "accuracy": (0.018, 0.0),
}
TEMPLATE_MARK = "Replace every section below"


def finite(v: object) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def check_format(data: object) -> None:
    assert isinstance(data, dict), "the top level must be an object"
    for key in ROLES:
        assert isinstance(data.get(key), list), f"'{key}' must be a list"
        for name in data[key]:
            assert name in HEADS, f"'{key}': {name!r} is not a head name 'L.H' (L 0-1, H 0-3)"
    baseline = data.get("baseline")
    assert isinstance(baseline, dict), "'baseline' must be an object with 'loss' and 'accuracy'"
    for key in BASELINE:
        v = baseline.get(key)
        assert finite(v), f"baseline[{key!r}] must be a finite number, got {v!r}"
    effects = data.get("effects")
    assert isinstance(effects, dict), "'effects' must map head names to objects"
    for name in HEADS:
        entry = effects.get(name)
        assert isinstance(entry, dict), f"effects: no entry for head {name}"
        for metric in METRICS:
            v = entry.get(metric)
            assert finite(v), f"effects[{name!r}][{metric!r}] must be a finite number, got {v!r}"


@pytest.fixture(scope="module")
def submitted() -> dict:
    data = json.loads((KIT / "heads.json").read_text(encoding="utf-8"))
    check_format(data)
    return data


@pytest.fixture(scope="module")
def found() -> dict:
    from find_heads import find_heads
    from model import load_model

    result = find_heads(load_model())
    check_format(result)
    return result


def test_heads_json_format(submitted: dict) -> None:
    for key in ROLES:
        assert submitted[key], f"'{key}' is empty"


def test_find_heads_reproduces_heads_json(submitted: dict, found: dict) -> None:
    for key in ROLES:
        assert sorted(found[key]) == sorted(submitted[key]), f"{key}: find_heads() disagrees"


def test_find_heads_follows_relabelled_heads(found: dict) -> None:
    """Reverse the head order in every layer: the same function, other head labels."""
    import torch
    from find_heads import find_heads
    from model import load_model

    model = load_model()
    with torch.no_grad():
        for name in ("W_Q", "W_K", "W_V", "W_O"):
            getattr(model, name).copy_(getattr(model, name).flip(1))
    relabel = {f"{layer}.{h}": f"{layer}.{3 - h}" for layer in range(2) for h in range(4)}
    result = find_heads(model)
    check_format(result)
    for key in ROLES:
        want = sorted(relabel[n] for n in found[key])
        assert sorted(result[key]) == want, f"{key}: not relabelled along with the heads"
    # The relabelled model computes the same function, so the numbers must agree: exactly up
    # to float rounding on the same (seeded) sequences, and within the grader's full-credit
    # tolerances (instructions.md) on other sequences.
    for name in HEADS:
        for metric in METRICS:
            a, b = found["effects"][name][metric], result["effects"][relabel[name]][metric]
            tol = TOL[metric][0] + TOL[metric][1] * abs(a)
            assert abs(a - b) <= tol, f"{name} {metric}: {a} vs {b} relabelled"
    for key in BASELINE:
        a, b = found["baseline"][key], result["baseline"][key]
        assert abs(a - b) <= TOL[key][0], f"baseline {key}: {a} vs {b} relabelled"


def test_writeup_written() -> None:
    # Reviewers score the write-up's content (instructions.md); there is no length rule.
    text = (KIT / "writeup.md").read_text(encoding="utf-8")
    assert TEMPLATE_MARK not in text, "writeup.md still has the template's placeholder note"
