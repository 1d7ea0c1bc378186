"""Previous-token and induction heads of the kit model, and every head's ablation effect.

    python find_heads.py          # writes heads.json for the kit model

Heads are ablated through the `L{l}.z` hook (z = 0 gives head_out = z @ W_O = 0), on 1200
sequences in batches of 400; losses are computed in numpy from the logits at the induction
positions only.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from ablation_utils import induction_index, nll_and_hits, zero_z  # noqa: E402
from model import load_model, make_batch  # noqa: E402

SEQUENCES, BATCH, SEED = 1200, 400, 31337
THRESHOLDS = {"score": 0.3, "effect": 0.15}


def run(model, tokens: np.ndarray, seq, pos, hooks=None, want_patterns=False):
    """Logits at the induction positions [N, vocab] (and the patterns, if asked)."""
    picked, patterns = [], {}
    for lo in range(0, len(tokens), BATCH):
        hi = lo + BATCH
        cache = {} if want_patterns else None
        with torch.no_grad():
            logits = model(torch.from_numpy(tokens[lo:hi]), hooks=hooks, cache=cache)
        sel = (seq >= lo) & (seq < hi)
        picked.append(logits[seq[sel] - lo, pos[sel]].numpy())
        if want_patterns:
            for name, value in cache.items():
                if name.endswith(".pattern"):
                    patterns.setdefault(name, []).append(value)
    if want_patterns:
        return np.concatenate(picked), {k: torch.cat(v) for k, v in patterns.items()}
    return np.concatenate(picked)


def find_heads(model) -> dict:
    torch.set_num_threads(1)
    n_layers, n_heads = model.config["n_layers"], model.config["n_heads"]
    tokens, mask = make_batch(np.random.default_rng(SEED), SEQUENCES)
    seq, pos, key = induction_index(tokens, mask)
    targets = tokens[seq, pos + 1]

    logits, patterns = run(model, tokens, seq, pos, want_patterns=True)
    nll, hits = nll_and_hits(logits, targets)
    base_loss, base_acc = float(nll.mean()), float(hits.mean())

    out = {
        "previous_token_heads": [],
        "induction_heads": [],
        "baseline": {"loss": base_loss, "accuracy": base_acc},
        "effects": {},
    }
    t = torch.arange(1, tokens.shape[1])
    for layer in range(n_layers):
        pattern = patterns[f"L{layer}.pattern"]
        prev = pattern[:, :, t, t - 1].double().mean(dim=(0, 2)).numpy()
        s, p, k = (torch.from_numpy(a) for a in (seq, pos, key))
        ind = pattern[s, :, p, k].double().mean(dim=0).numpy()
        for head in range(n_heads):
            ablated = run(model, tokens, seq, pos, hooks={f"L{layer}.z": zero_z(head)})
            a_nll, a_hits = nll_and_hits(ablated, targets)
            name = f"{layer}.{head}"
            effect = float(a_nll.mean()) - base_loss
            out["effects"][name] = {
                "loss_increase": effect,
                "accuracy_drop": base_acc - float(a_hits.mean()),
                "prev_token_score": float(prev[head]),
                "induction_score": float(ind[head]),
            }
            if effect < THRESHOLDS["effect"]:
                continue
            if layer == 0 and prev[head] >= THRESHOLDS["score"]:
                out["previous_token_heads"].append(name)
            if layer == 1 and ind[head] >= THRESHOLDS["score"]:
                out["induction_heads"].append(name)
    return out


if __name__ == "__main__":
    result = find_heads(load_model())
    (HERE / "heads.json").write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=1))
