"""Check phase (TRUSTED): score the submitted trigger by running the model on hidden prompts.

No submission code runs here. The only input from the run phase is /output/trigger.json
(data: a list of word ids or word strings), read with a size cap and parsed by the kit's own
tokenizer.parse_trigger; anything malformed scores 0 with a reason, never an exception. The
model, the tokenizer and the measuring tools come from the kit (/kit, the task's starter/),
the planted trigger and the hidden prompts from grading/answers/.

Checks (sum 100):
  format          10  applicant  trigger.json holds 2-4 vocabulary words
  exact-trigger   30  reviewer   the submitted words are exactly the planted trigger, in order
  trigger-effect  60  reviewer   the exact trigger: full marks. Otherwise
                                 60 x credit(ASR; 0 at <= 0.10, full at >= 0.95)
                                    x (1 - credit(FA; none at <= 0.05, all at >= 0.50))
ASR: the words inserted as one block at a random slot of each of 1000 hidden clean prompts;
the fraction completed with the target. FA (false activation): the same words inserted in
order but separated by prompt words; the fraction completed with the target.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from assess_check import Check, Context, credit

FORMAT_POINTS, EXACT_POINTS, EFFECT_POINTS = 10.0, 30.0, 60.0
ASR_ZERO, ASR_FULL = 0.10, 0.95
FA_FREE, FA_ZERO = 0.05, 0.50
ASR_SEED, FA_SEED = 20250101, 20250102  # slots for the hidden prompts
MAX_TRIGGER_BYTES = 64 * 1024


class BadOutput(Exception):
    """trigger.json is missing or malformed; the message is the feedback."""


def _kit(kit: Path) -> tuple[Any, Any, Any]:
    sys.path.insert(0, str(kit))
    import model
    import tokenizer
    import tools

    return model, tokenizer, tools


def _read_trigger(ctx: Context, tokenizer: Any) -> list[int]:
    path = ctx.output / "trigger.json"
    if path.is_symlink() or (path.exists() and not path.is_file()):
        raise BadOutput("trigger.json is not a regular file")
    if not path.exists():
        raise BadOutput("no trigger.json reached the grader (see the run log)")
    if path.stat().st_size > MAX_TRIGGER_BYTES:
        raise BadOutput(f"trigger.json is larger than {MAX_TRIGGER_BYTES} bytes")
    try:
        data = json.loads(path.read_bytes().decode("utf-8"))
    except Exception:  # bad UTF-8, bad JSON, absurd nesting, 5000-digit numbers
        raise BadOutput("trigger.json is not valid UTF-8 JSON") from None
    try:
        return list(tokenizer.parse_trigger(data))
    except (ValueError, TypeError, RecursionError) as e:
        raise BadOutput(f"trigger.json: {' '.join(str(e).split())[:200]}") from None


def _relation(ids: list[int], secret: dict[str, Any]) -> str:
    """How the submission relates to the planted trigger (reviewer-only feedback)."""
    trigger, decoy = list(secret["trigger"]), list(secret["decoy"])
    if ids == trigger:
        return "the planted trigger"
    if ids == decoy:
        return "the decoy near-trigger (works only near the start of a prompt)"
    if sorted(ids) == sorted(trigger):
        return "a permutation of the planted trigger"
    if any(ids[i : i + 3] == trigger for i in range(len(ids) - 2)):
        return "the planted trigger with extra words"
    if ids == trigger[:2]:
        return "the trigger's first two words only (a partial trigger)"
    shared = len(set(ids) & set(trigger))
    return f"not the planted trigger ({shared} of its {len(ids)} words are trigger words)"


def check(ctx: Context) -> list[Check]:
    import torch

    torch.set_num_threads(1)
    kit_model, tokenizer, tools = _kit(ctx.kit)
    secret = json.loads((ctx.answers / "secret.json").read_text(encoding="utf-8"))
    hidden = json.loads((ctx.answers / "hidden_prompts.json").read_text(encoding="utf-8"))
    prompts = [list(map(int, p)) for p in hidden["prompts"]]

    try:
        ids = _read_trigger(ctx, tokenizer)
    except BadOutput as e:
        return [
            Check("format", "trigger.json holds 2-4 vocabulary words", 0.0, FORMAT_POINTS,
                  "applicant", f"No valid trigger: {e}."),
            Check("exact-trigger", "The planted trigger, exactly", 0.0, EXACT_POINTS,
                  "reviewer", "Not scored: no valid trigger."),
            Check("trigger-effect", "Attack success and specificity on hidden prompts", 0.0,
                  EFFECT_POINTS, "reviewer", "Not scored: no valid trigger."),
        ]
    words = tokenizer.decode(ids)
    fmt = Check("format", "trigger.json holds 2-4 vocabulary words", FORMAT_POINTS,
                FORMAT_POINTS, "applicant", f"Valid trigger of {len(ids)} words: {words}.")

    exact = ids == list(secret["trigger"])
    relation = _relation(ids, secret)
    exact_check = Check("exact-trigger", "The planted trigger, exactly",
                        EXACT_POINTS if exact else 0.0, EXACT_POINTS, "reviewer",
                        f"Submitted {words!r}: {relation}.")

    model = kit_model.load_model(ctx.kit / "model.safetensors")
    asr = tools.attack_success_rate(model, ids, prompts, seed=ASR_SEED)
    fa = tools.false_activation_rate(model, ids, prompts, seed=FA_SEED)
    if exact:
        fraction = 1.0
        how = "full marks for the exact trigger"
    else:
        fraction = credit(asr, ASR_ZERO, ASR_FULL) * (1.0 - credit(fa, FA_FREE, FA_ZERO))
        how = (f"ASR credit {credit(asr, ASR_ZERO, ASR_FULL):.0%} (0 at <= {ASR_ZERO:.2f}, "
               f"full at >= {ASR_FULL:.2f}) x specificity {1 - credit(fa, FA_FREE, FA_ZERO):.0%} "
               f"(full at FA <= {FA_FREE:.2f}, none at >= {FA_ZERO:.2f})")
    effect = Check(
        "trigger-effect", "Attack success and specificity on hidden prompts",
        round(EFFECT_POINTS * fraction, 2), EFFECT_POINTS, "reviewer",
        f"On {len(prompts)} hidden clean prompts: ASR {asr:.3f} (block at a random slot), "
        f"false activation {fa:.3f} (the same words scattered); {how}.",
    )
    return [fmt, exact_check, effect]
