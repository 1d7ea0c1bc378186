"""Find the previous-token and induction heads by zero-ablation.

    python find_heads.py       # writes heads.json for the kit model
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from model import load_model, make_batch  # noqa: E402

N_SEQ = 1000
BATCH = 200


def per_token_stats(logits, tokens):
    """Next-token loss and correctness, [B, 63]: entry j scores the prediction of token j+1."""
    lg = logits[:, :-1]
    tgt = tokens[:, 1:]
    loss = F.cross_entropy(lg.reshape(-1, lg.shape[-1]), tgt.reshape(-1), reduction="none")
    return loss.view(tgt.shape), (lg.argmax(-1) == tgt).float()


def find_heads(model) -> dict:
    torch.set_num_threads(1)
    L, H = model.config["n_layers"], model.config["n_heads"]
    tokens, mask = make_batch(np.random.default_rng(2024), N_SEQ)
    tokens_t = torch.from_numpy(tokens)
    # The mask marks the repeated tokens we can predict, so it is aligned with the targets
    # tokens[:, 1:].
    target_mask = torch.from_numpy(mask[:, 1:])

    def evaluate(hooks=None):
        loss_sum = corr_sum = 0.0
        for s in range(0, N_SEQ, BATCH):
            with torch.no_grad():
                logits = model(tokens_t[s : s + BATCH], hooks=hooks)
            loss, corr = per_token_stats(logits, tokens_t[s : s + BATCH])
            m = target_mask[s : s + BATCH]
            loss_sum += loss[m].sum().item()
            corr_sum += corr[m].sum().item()
        n = target_mask.sum().item()
        return loss_sum / n, corr_sum / n

    base_loss, base_acc = evaluate()

    # attention scores
    prev = torch.zeros(L, H)
    ind = torch.zeros(L, H)
    n_ind = 0
    for s in range(0, N_SEQ, BATCH):
        tok = tokens_t[s : s + BATCH]
        _, cache = model.run_with_cache(tok)
        for i in range(tok.shape[0]):
            pos = np.flatnonzero(mask[s + i])
            b, seg = pos[0], len(pos) + 1
            a = next(
                a for a in range(1, b) if (tokens[s + i, a : a + seg] == tokens[s + i, b : b + seg]).all()
            )
            for layer in range(L):
                pat = cache[f"L{layer}.pattern"][i]
                ind[layer] += pat[:, pos, pos - (b - a) + 1].sum(-1)
            n_ind += len(pos)
        for layer in range(L):
            pat = cache[f"L{layer}.pattern"]
            prev[layer] += pat.diagonal(offset=-1, dim1=-2, dim2=-1).sum(dim=(0, 2))
    prev /= N_SEQ * 63
    ind /= n_ind

    effects, prev_heads, ind_heads = {}, [], []
    for layer in range(L):
        for h in range(H):

            def ablate(x, h=h):
                x = x.clone()
                x[:, h] = 0
                return x

            loss, acc = evaluate({f"L{layer}.head_out": ablate})
            name = f"{layer}.{h}"
            effects[name] = {
                "loss_increase": loss - base_loss,
                "accuracy_drop": base_acc - acc,
                "prev_token_score": prev[layer, h].item(),
                "induction_score": ind[layer, h].item(),
            }
            if loss - base_loss >= 0.15:
                if layer == 0 and prev[layer, h] >= 0.3:
                    prev_heads.append(name)
                if layer == 1 and ind[layer, h] >= 0.3:
                    ind_heads.append(name)
    return {
        "previous_token_heads": prev_heads,
        "induction_heads": ind_heads,
        "baseline": {"loss": base_loss, "accuracy": base_acc},
        "effects": effects,
    }


if __name__ == "__main__":
    result = find_heads(load_model())
    (HERE / "heads.json").write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))
