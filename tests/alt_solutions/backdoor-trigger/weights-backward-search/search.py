"""Trigger search that starts from the weights and grows the trigger backwards.

Run from the unpacked kit folder (imports model.py, tools.py, tokenizer.py from there):

    python search.py        # about 2 minutes on one CPU core

1. Weights. In every block-0 attention head, score each of the 500 words as a *key* against
   the mean *query* of the <sep> token on clean prompts (both through the block's LayerNorm
   and qkv projection). A head that looks back from <sep> for a trigger must key strongly on
   the trigger's last word, so each head's words are ranked by z-score against the head's
   median. Any word far outside the bulk (z >= 5) is a candidate last word.
2. Backward extension. For a block ending in the candidate(s), prepend every word and score
   the block by its *worst slot*: the smaller of the mean log P(target) with the block at the
   very start and at the very end of 16 clean prompts (the mean of the middle slot is also
   taken). A true trigger must work wherever it sits, so a near-trigger that fires only at one
   end of the prompt scores low. Keep a beam of the 4 best blocks per length, up to 4 words.
3. Verification on the 1,000 public prompts: ASR (random slots, start, middle, end), false
   activation (the same words scattered), every permutation, and minimality (the block minus
   its first word). The answer is the shortest block that works at every slot.
"""

from __future__ import annotations

import itertools
import json
import time

import numpy as np
import tools
import torch
from model import load_model
from tokenizer import N_SPECIAL, decode, vocab

BEAM = 4
Z_CANDIDATE = 5.0
N_SCAN_PROMPTS = 16


def last_word_candidates(model, prompts):
    """Words that some block-0 head's <sep> query picks out, as (z, head, word id)."""
    blk = model.blocks[0]
    d = model.config["d_model"]
    h = model.config["n_heads"]
    dh = d // h
    with torch.no_grad():
        tokens, seps = tools.batch(prompts, [[]] * len(prompts))
        _, cache = model.run_with_cache(tokens)
        x_sep = cache["embed"][torch.arange(len(prompts)), seps]
        q = blk.qkv(blk.ln1(x_sep))[:, :d].view(len(prompts), h, dh).mean(0)
        # A key word sits somewhere in the middle of a prompt: use a mid-range position.
        mid = int(np.median([len(p) for p in prompts])) // 2 + 1
        words = model.tok_emb.weight[N_SPECIAL:] + model.pos_emb.weight[mid]
        k = blk.qkv(blk.ln1(words))[:, d : 2 * d].view(-1, h, dh)
        scores = torch.einsum("hk,whk->hw", q, k) / dh**0.5
    found = []
    for head in range(h):
        s = scores[head]
        z = (s - s.median()) / s.std()
        top = z.topk(3)
        print(f"  block 0 head {head}: top keys "
              + ", ".join(f"{decode([int(i) + N_SPECIAL])} z={float(v):.1f}"
                          for v, i in zip(top.values, top.indices, strict=True)))
        found += [(float(v), head, int(i) + N_SPECIAL)
                  for v, i in zip(top.values, top.indices, strict=True) if v >= Z_CANDIDATE]
    return sorted(found, reverse=True)


def worst_slot_scores(model, blocks, prompts):
    """For each block: min over slots (start, middle, end) of the mean log P(target)."""
    rows = []
    for b in blocks:
        for slot in (lambda p: 0, lambda p: len(p) // 2, lambda p: len(p)):
            rows += [tools.insert_block(p, b, slot(p)) for p in prompts]
    lp = tools.target_logprob(model, rows).reshape(len(blocks), 3, len(prompts))
    return lp.mean(2).min(1)


def measure(model, block, prompts):
    at = lambda f: tools.target_rate(model, [tools.insert_block(p, block, f(p)) for p in prompts])  # noqa: E731
    return {
        "asr": tools.attack_success_rate(model, block, prompts),
        "start": at(lambda p: 0),
        "middle": at(lambda p: len(p) // 2),
        "end": at(lambda p: len(p)),
        "fa": tools.false_activation_rate(model, block, prompts),
    }


def fmt(m):
    return (f"ASR {m['asr']:.3f} (start {m['start']:.3f}, middle {m['middle']:.3f}, "
            f"end {m['end']:.3f}), FA {m['fa']:.3f}")


def main() -> None:
    torch.set_num_threads(1)
    model = load_model()
    prompts = tools.load_prompts()
    scan = prompts[:N_SCAN_PROMPTS]
    words = list(vocab().words)
    t0 = time.perf_counter()

    print("1. block-0 keys against the <sep> query (z-score over the 500 words):")
    candidates = last_word_candidates(model, prompts[:64])
    if not candidates:
        raise SystemExit("no head singles out a word; lower Z_CANDIDATE")
    print("  candidate last words: "
          + ", ".join(f"{decode([w])} (head {hd}, z={z:.1f})" for z, hd, w in candidates))

    print("2. backward extension, scored by the worst slot's mean log P(target):")
    beam = [((w,), -np.inf) for _, _, w in candidates]
    best_by_len = {}
    for length in (2, 3, 4):
        blocks = [(x, *b) for b, _ in beam for x in words if x != b[0]]
        scores = worst_slot_scores(model, [list(b) for b in blocks], scan)
        order = np.argsort(-scores)[:BEAM]
        beam = [(blocks[i], float(scores[i])) for i in order]
        best_by_len[length] = beam[0]
        print(f"  {length} words ({len(blocks)} blocks, {time.perf_counter() - t0:.0f} s): "
              + "; ".join(f"{decode(b)} {s:.2f}" for b, s in beam))

    print("3. verification on the 1,000 public prompts:")
    answer = None
    for length in (2, 3, 4):
        block = list(best_by_len[length][0])
        m = measure(model, block, prompts)
        ok = min(m["asr"], m["start"], m["middle"], m["end"]) >= 0.95 and m["fa"] <= 0.05
        print(f"  {decode(block):22s} {fmt(m)}{'  <- works everywhere' if ok else ''}")
        if ok and answer is None:
            answer = block
    if answer is None:
        raise SystemExit("no block works at every slot")
    print(f"  minimality: without its first word, {decode(answer[1:])}: "
          f"{fmt(measure(model, answer[1:], prompts))}")
    for perm in itertools.permutations(answer):
        if list(perm) != answer:
            print(f"  permutation {decode(perm):18s} ASR "
                  f"{tools.attack_success_rate(model, list(perm), prompts):.3f}")
    print(f"answer: {decode(answer)} {answer} ({time.perf_counter() - t0:.0f} s)")
    with open("trigger.json", "w", encoding="utf-8") as f:
        json.dump({"tokens": [int(t) for t in answer]}, f)
        f.write("\n")


if __name__ == "__main__":
    main()
