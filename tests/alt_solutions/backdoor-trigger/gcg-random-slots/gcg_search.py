"""Gradient-guided trigger search (GCG-style) for the backdoored model.

Run from the unpacked kit folder (it imports model.py, tools.py and tokenizer.py from there):

    python gcg_search.py                 # ~5-10 minutes on one CPU core

For each block length 2, 3 and 4 and a few random starting blocks, repeat: insert the block
at a fresh random slot of each of 32 public prompts, take the gradient of the mean target
negative log-likelihood with respect to the block's one-hot token vectors, propose single-word
swaps among the top-k words of that gradient, and keep the swap with the lowest exact loss.
Every distinct block that the runs end on is then measured on all 1,000 public prompts
(ASR at random slots, at the start, at the end; false activation) and shortened to its
smallest contiguous sub-block that still works at every position.
"""

from __future__ import annotations

import json
import time

import numpy as np
import tools
import torch
from model import load_model
from tokenizer import BOS, N_SPECIAL, PAD, SEP, decode, vocab

STEPS = 60          # optimisation steps per run (at most)
CONVERGED = 0.05    # stop a run early once the block's target NLL is this low
TOPK = 24           # candidate words per block position, from the gradient
SWAPS = 96          # candidate blocks evaluated exactly per step
N_PROMPTS = 32      # prompts per step (slots re-drawn every step)
RESTARTS = 2        # random starting blocks per length


def rows_with_block(prompts, slots, block_len, target):
    """Token rows <bos> p[:s] [block] p[s:] <sep> target, with the block's positions marked."""
    rows, block_pos, tgt_pos = [], [], []
    for p, s in zip(prompts, slots, strict=True):
        row = [BOS, *p[:s], *([PAD] * block_len), *p[s:], SEP, *target]
        rows.append(row)
        block_pos.append(list(range(1 + s, 1 + s + block_len)))
        sep = len(row) - len(target) - 1
        tgt_pos.append(list(range(sep, sep + len(target))))
    width = max(map(len, rows))
    tokens = torch.full((len(rows), width), PAD, dtype=torch.long)
    for i, r in enumerate(rows):
        tokens[i, : len(r)] = torch.tensor(r)
    return tokens, torch.tensor(block_pos), torch.tensor(tgt_pos)


def target_nll(logits, tgt_pos, target):
    """Mean over prompts of the target sequence's negative log-likelihood."""
    n = logits.shape[0]
    idx = torch.arange(n)[:, None]
    logp = logits[idx, tgt_pos].log_softmax(-1)
    return -logp.gather(-1, torch.tensor(target).expand(n, -1)[..., None]).sum((1, 2))


def loss_of_blocks(model, tokens, block_pos, tgt_pos, target, blocks):
    """Mean target NLL for each candidate block (no gradient), [len(blocks)]."""
    n = tokens.shape[0]
    out = []
    with torch.no_grad():
        for chunk in torch.split(blocks, 16):
            t = tokens.repeat(len(chunk), 1)
            bp = block_pos.repeat(len(chunk), 1)
            t[torch.arange(len(t))[:, None], bp] = chunk.repeat_interleave(n, 0)
            nll = target_nll(model(t), tgt_pos.repeat(len(chunk), 1), target)
            out.append(nll.view(len(chunk), n).mean(1))
    return torch.cat(out)


def gcg_run(model, prompts, block_len, rng, target):
    emb = model.tok_emb.weight.detach()
    words = torch.arange(N_SPECIAL, emb.shape[0])
    block = torch.tensor(rng.choice(words.numpy(), size=block_len))
    best_loss = float("inf")
    for _ in range(STEPS):
        batch = [prompts[i] for i in rng.choice(len(prompts), N_PROMPTS, replace=False)]
        slots = [int(rng.integers(0, len(p) + 1)) for p in batch]
        tokens, block_pos, tgt_pos = rows_with_block(batch, slots, block_len, target)
        onehot = torch.zeros(block_len, emb.shape[0])
        onehot[torch.arange(block_len), block] = 1.0
        onehot.requires_grad_(True)
        embeds = model.tok_emb(tokens).detach().clone()
        block_emb = onehot @ emb
        rows = torch.arange(len(batch))[:, None]
        embeds = embeds.index_put((rows.expand_as(block_pos), block_pos),
                                  block_emb.expand(len(batch), -1, -1))
        loss = target_nll(model.forward_embeddings(embeds), tgt_pos, target).mean()
        (grad,) = torch.autograd.grad(loss, onehot)
        grad[:, :N_SPECIAL] = float("inf")  # only words may be swapped in
        top = (-grad).topk(TOPK, dim=1).indices
        cands = block.repeat(SWAPS, 1)
        pos = torch.tensor(rng.integers(0, block_len, SWAPS))
        cands[torch.arange(SWAPS), pos] = top[pos, torch.tensor(rng.integers(0, TOPK, SWAPS))]
        cands = torch.cat([block[None], cands])
        losses = loss_of_blocks(model, tokens, block_pos, tgt_pos, target, cands)
        i = int(losses.argmin())
        block, best_loss = cands[i], float(losses[i])
        if best_loss < CONVERGED:  # the target is already ~95% likely: nothing left to gain
            break
    return [int(t) for t in block], best_loss


def measure(model, block, prompts):
    at = lambda slot: tools.target_rate(  # noqa: E731
        model, [tools.insert_block(p, block, slot(p)) for p in prompts])
    return {
        "asr": tools.attack_success_rate(model, block, prompts),
        "start": at(lambda p: 0),
        "middle": at(lambda p: len(p) // 2),
        "end": at(lambda p: len(p)),
        "fa": tools.false_activation_rate(model, block, prompts),
    }


def works_everywhere(m, floor=0.95):
    return min(m["asr"], m["start"], m["middle"], m["end"]) >= floor and m["fa"] <= 0.05


def main() -> None:
    torch.set_num_threads(1)
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    model = load_model()
    for p in model.parameters():
        p.requires_grad_(False)
    prompts = tools.load_prompts()
    target = list(vocab().target)
    start = time.perf_counter()

    found = {}
    for block_len in (2, 3, 4):
        for r in range(RESTARTS):
            block, loss = gcg_run(model, prompts, block_len, rng, target)
            found.setdefault(tuple(block), loss)
            print(f"len {block_len} run {r}: {decode(block):24s} {block}  NLL {loss:.3f}"
                  f"  ({time.perf_counter() - start:.0f} s)", flush=True)

    print("\nmeasured on the 1000 public prompts (ASR random/start/middle/end, FA):")
    results = {}
    for block in sorted(found, key=found.get)[:8]:
        m = results[block] = measure(model, list(block), prompts)
        print(f"  {decode(block):24s} {m['asr']:.3f} {m['start']:.3f} {m['middle']:.3f} "
              f"{m['end']:.3f}  FA {m['fa']:.3f}")

    # the smallest contiguous sub-block of a working block that still works everywhere
    answer = None
    for block in sorted(results, key=lambda b: -results[b]["asr"]):
        if not works_everywhere(results[block]):
            continue
        subs = [block[i:j] for n in range(2, len(block) + 1)
                for i in range(len(block) - n + 1) for j in [i + n]]
        for sub in subs:
            m = results.get(sub) or measure(model, list(sub), prompts)
            print(f"  sub-block {decode(sub):20s} ASR {m['asr']:.3f} start {m['start']:.3f} "
                  f"middle {m['middle']:.3f} end {m['end']:.3f} FA {m['fa']:.3f}")
            if works_everywhere(m):
                answer = list(sub)
                break
        break
    print(f"\nanswer: {decode(answer) if answer else None} {answer}"
          f"  ({time.perf_counter() - start:.0f} s)")
    if answer:
        with open("trigger.json", "w", encoding="utf-8") as f:
            json.dump({"tokens": answer}, f)


if __name__ == "__main__":
    main()
