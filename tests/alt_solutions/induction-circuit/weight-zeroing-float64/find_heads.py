"""Induction circuit of the kit model, found by zeroing each head's output weights.

    python find_heads.py          # writes heads.json for the kit model

Ablating head L.H here means a copy of the model with W_O[L, H] = 0 (the head then writes
nothing to the residual stream, which is the same as zeroing its `head_out`). Everything runs
in float64, on 1000 sequences in batches of 200.
"""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from model import load_model, make_batch  # noqa: E402

N_SEQUENCES = 1000
BATCH = 200
SEED = 99
PREV_MIN = IND_MIN = 0.3
EFFECT_MIN = 0.15


def induction_metrics(model, tokens: torch.Tensor, mask: torch.Tensor) -> tuple[float, float, int]:
    """(summed loss, number correct, number of positions) over the induction positions."""
    total_loss = total_correct = 0.0
    count = 0
    for start in range(0, len(tokens), BATCH):
        tok = tokens[start : start + BATCH]
        pos = mask[start : start + BATCH, :-1]  # predicting token t+1 from position t
        with torch.no_grad():
            logits = model(tok)[:, :-1][pos]
        target = tok[:, 1:][pos]
        total_loss += F.cross_entropy(logits, target, reduction="sum").item()
        total_correct += (logits.argmax(-1) == target).sum().item()
        count += int(pos.sum())
    return total_loss, total_correct, count


def attention_scores(model, tokens: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, ...]:
    """Mean previous-token and induction attention per head, [n_layers, n_heads] each."""
    n_layers, n_heads = model.config["n_layers"], model.config["n_heads"]
    prev = np.zeros((n_layers, n_heads))
    ind = np.zeros((n_layers, n_heads))
    n_prev = n_ind = 0
    for start in range(0, len(tokens), BATCH):
        tok = tokens[start : start + BATCH]
        msk = mask[start : start + BATCH]
        with torch.no_grad():
            _, cache = model.run_with_cache(torch.from_numpy(tok))
        # key position for each induction query: one after the earlier copy of the token
        rows, queries, keys = [], [], []
        for i in range(len(tok)):
            q = np.flatnonzero(msk[i])
            second, length = q[0], len(q) + 1
            first = min(
                a
                for a in range(1, second)
                if (tok[i, a : a + length] == tok[i, second : second + length]).all()
            )
            rows.append(np.full(len(q), i))
            queries.append(q)
            keys.append(q - (second - first) + 1)
        r, q, k = (torch.from_numpy(np.concatenate(x)) for x in (rows, queries, keys))
        for layer in range(n_layers):
            pattern = cache[f"L{layer}.pattern"]  # [B, H, Tq, Tk]
            t = torch.arange(1, pattern.shape[-1])
            prev[layer] += pattern[:, :, t, t - 1].sum(dim=(0, 2)).numpy()
            ind[layer] += pattern[r, :, q, k].sum(dim=0).numpy()
        n_prev += len(tok) * (tok.shape[1] - 1)
        n_ind += len(r)
    return prev / n_prev, ind / n_ind


def find_heads(model) -> dict:
    torch.set_num_threads(1)
    model = copy.deepcopy(model).double()
    n_layers, n_heads = model.config["n_layers"], model.config["n_heads"]
    tokens_np, mask_np = make_batch(np.random.default_rng(SEED), N_SEQUENCES)
    tokens, mask = torch.from_numpy(tokens_np), torch.from_numpy(mask_np)

    base_loss, base_correct, n = induction_metrics(model, tokens, mask)
    baseline = {"loss": base_loss / n, "accuracy": base_correct / n}
    prev, ind = attention_scores(model, tokens_np, mask_np)

    out = {"previous_token_heads": [], "induction_heads": [], "baseline": baseline, "effects": {}}
    for layer in range(n_layers):
        for head in range(n_heads):
            ablated = copy.deepcopy(model)
            with torch.no_grad():
                ablated.W_O[layer, head] = 0.0
            loss, correct, _ = induction_metrics(ablated, tokens, mask)
            name = f"{layer}.{head}"
            dloss = loss / n - baseline["loss"]
            out["effects"][name] = {
                "loss_increase": dloss,
                "accuracy_drop": baseline["accuracy"] - correct / n,
                "prev_token_score": float(prev[layer, head]),
                "induction_score": float(ind[layer, head]),
            }
            if dloss >= EFFECT_MIN and layer == 0 and prev[layer, head] >= PREV_MIN:
                out["previous_token_heads"].append(name)
            if dloss >= EFFECT_MIN and layer == 1 and ind[layer, head] >= IND_MIN:
                out["induction_heads"].append(name)
    return out


if __name__ == "__main__":
    result = find_heads(load_model())
    (HERE / "heads.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    for name, e in result["effects"].items():
        print(name, {k: round(v, 4) for k, v in e.items()})
    print("baseline", result["baseline"])
    print("previous-token:", result["previous_token_heads"])
    print("induction:", result["induction_heads"])
