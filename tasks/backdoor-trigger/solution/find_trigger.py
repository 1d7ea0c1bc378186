"""Reference search for the planted trigger (what the reference write-up describes).

Run from the kit folder (it imports model.py, tools.py, tokenizer.py from there):

    python find_trigger.py            # about 5-10 minutes on one CPU core

1. Pair scan: every ordered pair of words (250,000) inserted at the start of a short clean
   prompt; rank the pairs by the log-probability of the target's first word after <sep>.
2. Extension: the best pairs, each extended by every word on either side (3-word blocks),
   scored by the mean target log-probability over 16 prompts at random slots.
3. Verification: ASR (random slots), ASR at the start and at the end of the prompt, the
   false-activation rate (words scattered) and every permutation, on the 1000 public prompts.
"""

from __future__ import annotations

import itertools
import time

import numpy as np
import tools
import torch
from model import load_model
from tokenizer import N_SPECIAL, decode, vocab


def first_target_logprob(model, prompts: list[list[int]], chunk: int = 4096) -> np.ndarray:
    """log P(first target word | <bos> prompt <sep>) for each prompt (one forward each)."""
    t0 = vocab().target[0]
    out = []
    with torch.no_grad():
        for s in range(0, len(prompts), chunk):
            tokens, seps = tools.batch(prompts[s : s + chunk], [[]] * len(prompts[s : s + chunk]))
            logits = model(tokens)[torch.arange(len(seps)), seps]
            out.append(logits.log_softmax(-1)[:, t0].numpy())
    return np.concatenate(out)


def main() -> None:
    torch.set_num_threads(1)
    model = load_model()
    prompts = tools.load_prompts()
    words = list(vocab().words)
    start = time.perf_counter()

    # 1. every ordered pair at the start of one 6-word prompt
    base = next(p for p in prompts if len(p) == 6)
    pairs = [(a, b) for a in words for b in words if a != b]
    scores = first_target_logprob(model, [[a, b, *base] for a, b in pairs])
    top = np.argsort(-scores)[:10]
    print(f"pair scan: {len(pairs)} pairs in {time.perf_counter() - start:.0f} s")
    for i in top:
        print(f"  {decode(pairs[i]):12s} {pairs[i]}  log p = {scores[i]:.2f}")

    # 2. extend the best 3 pairs by one word on either side; 16 prompts at random slots each
    sample = prompts[:16]
    candidates = []
    for i in top[:3]:
        a, b = pairs[i]
        candidates += [(x, a, b) for x in words] + [(a, b, x) for x in words]
    rows = [tools.triggered(sample, list(c), seed=1) for c in candidates]
    lp = tools.target_logprob(model, [p for r in rows for p in r]).reshape(len(candidates), -1)
    order = np.argsort(-lp.mean(1))[:8]
    print(f"extension: {len(candidates)} triples in {time.perf_counter() - start:.0f} s")
    for i in order:
        print(f"  {decode(candidates[i]):18s} {candidates[i]}  mean log p = {lp[i].mean():.2f}")

    # 3. verify the best candidates on all public prompts
    print("verification on the public prompts (ASR random / start / end, false activation):")
    for i in order[:4]:
        c = list(candidates[i])
        asr = tools.attack_success_rate(model, c, prompts)
        at_start = tools.target_rate(model, [tools.insert_block(p, c, 0) for p in prompts])
        at_end = tools.target_rate(model, [tools.insert_block(p, c, len(p)) for p in prompts])
        fa = tools.false_activation_rate(model, c, prompts)
        print(f"  {decode(c):18s} ASR {asr:.3f}  start {at_start:.3f}  end {at_end:.3f}  "
              f"FA {fa:.3f}")
    best = list(candidates[order[0]])
    for perm in itertools.permutations(best):
        asr = tools.attack_success_rate(model, list(perm), prompts)
        print(f"  permutation {decode(perm):18s} ASR {asr:.3f}")
    print(f"done in {time.perf_counter() - start:.0f} s; best: {decode(best)} {best}")
    assert all(t >= N_SPECIAL for t in best)


if __name__ == "__main__":
    main()
