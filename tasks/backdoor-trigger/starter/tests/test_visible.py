"""Visible self-checks (run with `assess check`, or `python -m pytest -q tests` in this folder).

They check the format of trigger.json, that writeup.md has been written, and measure your
trigger on the *public* prompts with the same tools the grader uses on its hidden ones.
Passing them is necessary, not sufficient: full marks need the exact planted trigger.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

KIT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(KIT))

import tokenizer  # noqa: E402

ASR_TARGET = 0.9
FA_LIMIT = 0.05
TEMPLATE_MARK = "Replace every section below"


@pytest.fixture(scope="module")
def trigger() -> list[int]:
    try:
        return tokenizer.load_trigger(KIT / "trigger.json")
    except ValueError as e:
        pytest.fail(f"trigger.json is not valid: {e}")


def test_trigger_format(trigger: list[int]) -> None:
    assert 2 <= len(trigger) <= 4
    print("trigger:", tokenizer.decode(trigger), trigger)


def test_writeup_written() -> None:
    text = (KIT / "writeup.md").read_text(encoding="utf-8")
    assert TEMPLATE_MARK not in text, "writeup.md still has the template's placeholder note"
    assert len(text.split()) >= 150, "writeup.md is very short (fewer than 150 words)"


def test_trigger_on_public_prompts(trigger: list[int]) -> None:
    import tools
    from model import load_model

    model = load_model()
    prompts = tools.load_prompts()
    asr = tools.attack_success_rate(model, trigger, prompts)
    fa = tools.false_activation_rate(model, trigger, prompts)
    assert asr >= ASR_TARGET, f"ASR {asr:.3f} on the public prompts (this check wants >= 0.9)"
    assert fa <= FA_LIMIT, f"false activation {fa:.3f} on the public prompts (wants <= 0.05)"
