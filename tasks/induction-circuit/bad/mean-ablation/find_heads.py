"""Previous-token and induction heads of the kit model, by mean-ablation.

    python find_heads.py       # writes heads.json for the kit model

Mean-ablation (replace a head's output by its average over the data, position by position)
keeps the residual stream on-distribution, so it measures what the head's *information*
contributes rather than the damage of an input the model never saw.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from model import load_model, make_batch  # noqa: E402

N_SEQ = 1000


def loss_and_acc(logits: torch.Tensor, tokens: torch.Tensor, mask: torch.Tensor):
    """Mean loss and accuracy of predicting tokens[t + 1] at the induction positions t."""
    logp = logits[:, :-1].log_softmax(-1)
    target = tokens[:, 1:]
    m = mask[:, :-1]
    nll = -logp.gather(-1, target.unsqueeze(-1)).squeeze(-1)
    return nll[m].mean().item(), (logp.argmax(-1) == target)[m].float().mean().item()


def earlier_copy_targets(tokens: np.ndarray, mask: np.ndarray):
    """(row, query, key) for each induction position: key = just after the first copy."""
    rows, qs, ks = [], [], []
    for i in range(len(tokens)):
        pos = np.flatnonzero(mask[i])
        b, seg = pos[0], len(pos) + 1
        for a in range(1, b):
            if np.array_equal(tokens[i, a : a + seg], tokens[i, b : b + seg]):
                break
        rows += [i] * len(pos)
        qs += list(pos)
        ks += list(pos - b + a + 1)
    return torch.tensor(rows), torch.tensor(qs), torch.tensor(ks)


def find_heads(model) -> dict:
    torch.set_num_threads(1)
    n_layers, n_heads = model.config["n_layers"], model.config["n_heads"]
    np_tokens, np_mask = make_batch(np.random.default_rng(7), N_SEQ)
    tokens, mask = torch.from_numpy(np_tokens), torch.from_numpy(np_mask)
    with torch.no_grad():
        logits, cache = model.run_with_cache(tokens)
    base_loss, base_acc = loss_and_acc(logits, tokens, mask)
    rows, qs, ks = earlier_copy_targets(np_tokens, np_mask)

    result = {"previous_token_heads": [], "induction_heads": [], "effects": {}}
    for layer in range(n_layers):
        pattern = cache[f"L{layer}.pattern"]  # [B, H, T, T]
        prev_score = pattern.diagonal(offset=-1, dim1=-2, dim2=-1).mean(dim=(0, 2))
        ind_score = pattern[rows, :, qs, ks].mean(0)
        mean_out = cache[f"L{layer}.head_out"].mean(0)  # [H, T, d_model], per position
        for h in range(n_heads):

            def mean_ablate(x, h=h, mean_out=mean_out):
                x = x.clone()
                x[:, h] = mean_out[h]
                return x

            with torch.no_grad():
                ablated = model(tokens, hooks={f"L{layer}.head_out": mean_ablate})
            loss, acc = loss_and_acc(ablated, tokens, mask)
            name = f"{layer}.{h}"
            e = {
                "loss_increase": loss - base_loss,
                "accuracy_drop": base_acc - acc,
                "prev_token_score": prev_score[h].item(),
                "induction_score": ind_score[h].item(),
            }
            result["effects"][name] = e
            if e["loss_increase"] >= 0.15:
                if layer == 0 and e["prev_token_score"] >= 0.3:
                    result["previous_token_heads"].append(name)
                if layer == 1 and e["induction_score"] >= 0.3:
                    result["induction_heads"].append(name)
    result["baseline"] = {"loss": base_loss, "accuracy": base_acc}
    return result


if __name__ == "__main__":
    out = find_heads(load_model())
    (HERE / "heads.json").write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")
    print(json.dumps(out, indent=1))
