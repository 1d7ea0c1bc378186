"""Visible self-checks (run with `assess check`, or `python -m pytest -q tests` in this folder).

They run your `unlearn` on the kit's model and measure it the way the grader does, but on
public data: forget accuracy on the forget facts, retain accuracy on the kit's retain half,
and the relearning attack on 4 public splits of the forget set (the grader uses 8 hidden ones
and all 1440 retain facts). Passing them is a good sign, not a guarantee.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

KIT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(KIT))

import model as kit  # noqa: E402

PUBLIC_SPLIT_SEED = 2024  # not the grader's splits
TEMPLATE_MARK = "Replace every section below"


@pytest.fixture(scope="module")
def unlearned() -> torch.nn.Module:
    import unlearn

    forget, retain = kit.load_facts("forget"), kit.load_facts("retain")
    result = unlearn.unlearn(kit.load_model(), forget.clone(), retain.clone())
    assert isinstance(result, torch.nn.Module), "unlearn must return the model"
    state = result.state_dict()
    want = kit.expected_shapes()
    assert {k: tuple(v.shape) for k, v in state.items()} == want, "names or shapes changed"
    assert all(bool(torch.isfinite(v).all()) for v in state.values()), "NaN or inf in weights"
    model = kit.FactNet()
    model.load_state_dict({k: v.float() for k, v in state.items()})
    return model.eval()


def test_forgets(unlearned: torch.nn.Module) -> None:
    acc = kit.accuracy(unlearned, kit.load_facts("forget"))
    assert acc <= 0.20, f"forget accuracy {acc:.3f} (full credit at <= 0.20)"


def test_retains(unlearned: torch.nn.Module) -> None:
    acc = kit.accuracy(unlearned, kit.load_facts("retain"))
    assert acc >= 0.95, f"retain accuracy {acc:.3f} on the public half (full credit at >= 0.95)"


def test_resists_relearning(unlearned: torch.nn.Module) -> None:
    forget, retain = kit.load_facts("forget"), kit.load_facts("retain")
    gen = torch.Generator().manual_seed(PUBLIC_SPLIT_SEED)
    heldout = []
    for i in range(4):
        order = torch.randperm(len(forget), generator=gen)
        replay = retain[torch.randperm(len(retain), generator=gen)[:200]]
        relearn, held = forget[order[:80]], forget[order[80:]]
        attacked = kit.relearn_attack(unlearned, relearn, replay, seed=i)
        assert kit.accuracy(attacked, relearn) >= 0.9, "the attack could not relearn its half"
        heldout.append(kit.accuracy(attacked, held))
    mean = sum(heldout) / len(heldout)
    print("held-out forget accuracy after relearning:", [round(h, 3) for h in heldout])
    assert mean <= 0.20, f"held-out forget accuracy after relearning {mean:.3f} (wants <= 0.20)"


def test_writeup_written() -> None:
    text = (KIT / "writeup.md").read_text(encoding="utf-8")
    assert TEMPLATE_MARK not in text, "writeup.md still has the template's placeholder note"
    assert len(text.split()) >= 150, "writeup.md is very short (fewer than 150 words)"
