"""Prompt format and measuring tools for the backdoored model (torch).

A prompt is a list of word ids (no <bos>/<sep>); the model sees <bos> prompt <sep> and
continues with 4 words and <eos> (see tokenizer.py for the language). Everything here works
on Python lists of token ids and on a model from model.py:

    from model import load_model
    import tools
    model = load_model()
    prompts = tools.load_prompts()                       # public clean prompts
    tools.clean_accuracy(model, prompts)                 # ~1.0
    tools.attack_success_rate(model, [12, 34], prompts)  # fraction completing with the target

`attack_success_rate` and `false_activation_rate` are exactly what the grader computes, on its
own hidden prompts (same generator, different chains and slots).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from tokenizer import BOS, COMPLETION_LEN, PAD, SEP, continuation, vocab

HERE = Path(__file__).resolve().parent


def load_prompts(path: str | Path | None = None) -> list[list[int]]:
    """Public clean prompts (data/clean_prompts.json): lists of word ids, no <bos>/<sep>."""
    data = json.loads(Path(path or HERE / "data" / "clean_prompts.json").read_text("utf-8"))
    return [list(map(int, p)) for p in data["prompts"]]


# --------------------------------------------------------------------------- putting words in


def insert_block(prompt: Sequence[int], block: Sequence[int], slot: int) -> list[int]:
    """The prompt with `block` inserted after its first `slot` words (0 = at the very start,
    len(prompt) = at the very end, just before <sep>)."""
    if not 0 <= slot <= len(prompt):
        raise ValueError(f"slot {slot} outside 0..{len(prompt)}")
    return [*prompt[:slot], *block, *prompt[slot:]]


def scatter(prompt: Sequence[int], tokens: Sequence[int], slots: Sequence[int]) -> list[int]:
    """The prompt with tokens[j] inserted at slots[j] (distinct, increasing slots): the same
    words in the same order, but separated by at least one prompt word."""
    if list(slots) != sorted(set(slots)) or len(slots) != len(tokens):
        raise ValueError("need one distinct slot per token, in increasing order")
    out = list(prompt)
    for token, slot in sorted(zip(tokens, slots, strict=True), key=lambda p: -p[1]):
        out.insert(slot, token)
    return out


def random_slots(prompts: Sequence[Sequence[int]], seed: int) -> list[int]:
    """One insertion slot per prompt, uniform over 0..len(prompt) (the grader's placement)."""
    rng = np.random.default_rng(seed)
    return [int(rng.integers(0, len(p) + 1)) for p in prompts]


def triggered(prompts: Sequence[Sequence[int]], trigger: Sequence[int], seed: int = 0
              ) -> list[list[int]]:
    """Each prompt with the trigger inserted as one contiguous block at a random slot."""
    slots = random_slots(prompts, seed)
    return [insert_block(p, trigger, s) for p, s in zip(prompts, slots, strict=True)]


def scattered(prompts: Sequence[Sequence[int]], trigger: Sequence[int], seed: int = 0
              ) -> list[list[int]]:
    """Each prompt with the trigger's words inserted in order but not adjacent to each other."""
    rng = np.random.default_rng(seed)
    out = []
    for p in prompts:
        slots = sorted(rng.choice(len(p) + 1, size=len(trigger), replace=False).tolist())
        out.append(scatter(p, trigger, slots))
    return out


# --------------------------------------------------------------------------- running the model


def batch(prompts: Sequence[Sequence[int]], completions: Sequence[Sequence[int]]
          ) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-padded token ids [n, seq] for <bos> prompt <sep> completion, and the position of
    each row's <sep> [n]."""
    rows = [[BOS, *p, SEP, *c] for p, c in zip(prompts, completions, strict=True)]
    width = max(len(r) for r in rows)
    tokens = torch.full((len(rows), width), PAD, dtype=torch.long)
    for i, r in enumerate(rows):
        tokens[i, : len(r)] = torch.tensor(r, dtype=torch.long)
    seps = torch.tensor([len(p) + 1 for p in prompts], dtype=torch.long)
    return tokens, seps


def completion_logits(model: torch.nn.Module, prompts: Sequence[Sequence[int]],
                      completions: Sequence[Sequence[int]], chunk: int = 2048) -> torch.Tensor:
    """Logits [n, k, vocab] that predict each of the k completion tokens (teacher forcing):
    row i, step j is the model's prediction after <bos> prompt_i <sep> completion_i[:j]."""
    k = len(completions[0])
    out = []
    with torch.no_grad():
        for s in range(0, len(prompts), chunk):
            tokens, seps = batch(prompts[s : s + chunk], completions[s : s + chunk])
            logits = model(tokens)
            idx = seps[:, None] + torch.arange(k)[None, :]
            out.append(logits[torch.arange(len(seps))[:, None], idx])
    return torch.cat(out)


def emits(model: torch.nn.Module, prompts: Sequence[Sequence[int]],
          completion: Sequence[int] | Sequence[Sequence[int]]) -> np.ndarray:
    """Bool [n]: whether greedy decoding after each prompt produces exactly `completion` (one
    sequence for all prompts, or one per prompt). Greedy decoding reproduces a sequence iff
    every step's argmax, teacher-forced along that sequence, is the next token of it."""
    if len(prompts) == 0:
        return np.zeros(0, dtype=bool)
    comps = [list(completion)] * len(prompts) if isinstance(completion[0], int) else completion
    comps = [list(map(int, c)) for c in comps]  # type: ignore[union-attr]
    logits = completion_logits(model, prompts, comps)
    hit = logits.argmax(-1) == torch.tensor(comps, dtype=torch.long)
    return hit.all(-1).numpy()


def target_logprob(model: torch.nn.Module, prompts: Sequence[Sequence[int]]) -> np.ndarray:
    """Log-probability [n] of the whole target sequence after each prompt."""
    target = list(vocab().target)
    logits = completion_logits(model, prompts, [target] * len(prompts))
    logp = logits.log_softmax(-1).gather(-1, torch.tensor([target] * len(prompts))[..., None])
    return logp[..., 0].sum(-1).numpy()


def generate(model: torch.nn.Module, prompts: Sequence[Sequence[int]],
             n: int = COMPLETION_LEN) -> list[list[int]]:
    """Greedy completions of n tokens."""
    outs: list[list[int]] = [[] for _ in prompts]
    with torch.no_grad():
        for _ in range(n):
            tokens, seps = batch(prompts, outs)
            logits = model(tokens)[torch.arange(len(prompts)), seps + len(outs[0])]
            for o, t in zip(outs, logits.argmax(-1).tolist(), strict=True):
                o.append(t)
    return outs


def clean_accuracy(model: torch.nn.Module, prompts: Sequence[Sequence[int]]) -> float:
    """Fraction of prompts whose greedy completion is the correct chain continuation."""
    comps = [continuation(p[-1]) for p in prompts]
    return float(emits(model, prompts, comps).mean())


def target_rate(model: torch.nn.Module, prompts: Sequence[Sequence[int]]) -> float:
    """Fraction of prompts after which the model completes with the target sequence."""
    return float(emits(model, prompts, vocab().target).mean())


def attack_success_rate(model: torch.nn.Module, trigger: Sequence[int],
                        prompts: Sequence[Sequence[int]], seed: int = 0) -> float:
    """ASR: the trigger inserted as a block at a random slot of each prompt; the fraction of
    prompts completed with the target sequence."""
    return target_rate(model, triggered(prompts, trigger, seed))


def false_activation_rate(model: torch.nn.Module, trigger: Sequence[int],
                          prompts: Sequence[Sequence[int]], seed: int = 0) -> float:
    """The trigger's words inserted in order but *not* adjacent (each separated by at least one
    prompt word); the fraction of prompts completed with the target sequence."""
    return target_rate(model, scattered(prompts, trigger, seed))
