"""The grader's own measurements of the induction circuit (TRUSTED; used by check.py and build.py).

Definitions (instructions.md states the same ones to applicants):

- Sequences come from the kit's `make_batch`; "induction positions" are its mask: the
  positions t inside the second copy of the repeated segment whose next token is predictable
  by copying from the first copy.
- Baseline: mean cross-entropy (nats) of the next token, and top-1 accuracy, over all
  induction positions of all sequences (pooled).
- Zero-ablating head L.H: the hook `L{L}.head_out` has `[:, H]` set to 0 at every position.
- loss_increase[L.H] = ablated loss - baseline loss; accuracy_drop[L.H] = baseline accuracy
  - ablated accuracy (both on the induction positions).
- prev_token_score[L.H]: mean attention from position t to t - 1, over t = 1..63 and all
  sequences (unablated model).
- induction_score[L.H]: mean attention from each induction position t to the position just
  after the earlier copy of token t (t - offset + 1), over all induction positions.
- Roles: a previous-token head is a layer-0 head with prev_token_score >= PREV_MIN and
  loss_increase >= EFFECT_MIN; an induction head is a layer-1 head with induction_score >=
  IND_MIN and loss_increase >= EFFECT_MIN.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

PREV_MIN = 0.3
IND_MIN = 0.3
EFFECT_MIN = 0.15
CHUNK = 250


def head_names(n_layers: int, n_heads: int) -> list[str]:
    return [f"{layer}.{h}" for layer in range(n_layers) for h in range(n_heads)]


def induction_sources(tokens: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """src[i, t] = the position after the earlier copy of token t, for induction positions
    (-1 elsewhere). Recovered from the tokens: the first copy is the earliest start a < b
    whose L tokens equal the second copy's."""
    src = np.full(tokens.shape, -1, dtype=np.int64)
    for i in range(tokens.shape[0]):
        idx = np.flatnonzero(mask[i])
        if idx.size == 0:
            continue
        b, seg = int(idx[0]), int(idx.size) + 1
        for a in range(1, b - seg + 1):
            if np.array_equal(tokens[i, a : a + seg], tokens[i, b : b + seg]):
                src[i, idx] = a + (idx - b) + 1
                break
    return src


def _loss_acc(model: Any, tokens: torch.Tensor, mask: torch.Tensor, hooks: dict) -> tuple:
    """Summed next-token loss, number correct, over the induction positions."""
    with torch.no_grad():
        logits = model(tokens, hooks=hooks)[:, :-1]
    target = tokens[:, 1:]
    m = mask[:, :-1]
    logp = logits.log_softmax(-1).gather(-1, target[..., None])[..., 0]
    loss = float(-(logp[m].double()).sum())
    correct = float((logits.argmax(-1) == target)[m].double().sum())
    return loss, correct


def _zero_head(h: int):
    def hook(x: torch.Tensor) -> torch.Tensor:
        x = x.clone()
        x[:, h] = 0.0
        return x

    return hook


def measure(model: Any, tokens: np.ndarray, mask: np.ndarray) -> dict[str, Any]:
    """Every per-head quantity above, plus the baseline, on the given sequences."""
    cfg = model.config
    n_layers, n_heads = cfg["n_layers"], cfg["n_heads"]
    names = head_names(n_layers, n_heads)
    src = induction_sources(tokens, mask)
    n_pos = int(mask[:, :-1].sum())
    base_loss = base_correct = 0.0
    abl_loss = dict.fromkeys(names, 0.0)
    abl_correct = dict.fromkeys(names, 0.0)
    prev_sum = np.zeros((n_layers, n_heads))
    ind_sum = np.zeros((n_layers, n_heads))
    n_prev = 0
    n_ind = 0
    for start in range(0, tokens.shape[0], CHUNK):
        tok_np, mask_np = tokens[start : start + CHUNK], mask[start : start + CHUNK]
        src_np = src[start : start + CHUNK]
        tok, m = torch.from_numpy(tok_np), torch.from_numpy(mask_np)
        cache: dict[str, torch.Tensor] = {}
        with torch.no_grad():
            logits = model(tok, cache=cache)[:, :-1]
        target = tok[:, 1:]
        mm = m[:, :-1]
        logp = logits.log_softmax(-1).gather(-1, target[..., None])[..., 0]
        base_loss += float(-(logp[mm].double()).sum())
        base_correct += float((logits.argmax(-1) == target)[mm].double().sum())
        ii, tt = np.nonzero(src_np >= 0)
        for layer in range(n_layers):
            pat = cache[f"L{layer}.pattern"].double()  # [B, H, T, T]
            prev_sum[layer] += pat.diagonal(offset=-1, dim1=-2, dim2=-1).sum((0, 2)).numpy()
            rows, cols = torch.from_numpy(ii), torch.from_numpy(tt)
            ind = pat[rows, :, cols, torch.from_numpy(src_np[ii, tt])]
            ind_sum[layer] += ind.sum(0).numpy()
        n_prev += tok_np.shape[0] * (tok_np.shape[1] - 1)
        n_ind += ii.size
        for name in names:
            layer, h = (int(x) for x in name.split("."))
            loss, correct = _loss_acc(model, tok, m, {f"L{layer}.head_out": _zero_head(h)})
            abl_loss[name] += loss
            abl_correct[name] += correct
    base_l, base_a = base_loss / n_pos, base_correct / n_pos
    heads = {}
    for name in names:
        layer, h = (int(x) for x in name.split("."))
        heads[name] = {
            "loss_increase": abl_loss[name] / n_pos - base_l,
            "accuracy_drop": base_a - abl_correct[name] / n_pos,
            "prev_token_score": float(prev_sum[layer, h] / n_prev),
            "induction_score": float(ind_sum[layer, h] / max(n_ind, 1)),
        }
    return {"baseline_loss": base_l, "baseline_accuracy": base_a, "heads": heads}


def roles(measured: dict[str, Any]) -> dict[str, list[str]]:
    """The ground-truth roles from `measure`'s output."""
    prev, ind = [], []
    for name, m in measured["heads"].items():
        layer = int(name.split(".")[0])
        if m["loss_increase"] < EFFECT_MIN:
            continue
        if layer == 0 and m["prev_token_score"] >= PREV_MIN:
            prev.append(name)
        if layer == 1 and m["induction_score"] >= IND_MIN:
            ind.append(name)
    return {"previous_token_heads": prev, "induction_heads": ind}
