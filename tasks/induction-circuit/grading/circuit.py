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


def _nll_correct(logits: torch.Tensor, target: torch.Tensor) -> tuple[float, float]:
    """Summed next-token loss (float64) and number correct; logits [P, vocab], target [P]."""
    logp = logits.log_softmax(-1).gather(-1, target[:, None])[:, 0]
    return float(-(logp.double()).sum()), float((logits.argmax(-1) == target).double().sum())


def _zero_head(h: int):
    def hook(x: torch.Tensor) -> torch.Tensor:
        x = x.clone()
        x[:, h] = 0.0
        return x

    return hook


def _unembed(model: Any, resid: torch.Tensor) -> torch.Tensor:
    """The model's last step (final LayerNorm, then W_U and b_U), as in its forward()."""
    if model.use_ln:
        resid = model.ln[-1](resid)
    return resid @ model.W_U + model.b_U


def measure(model: Any, tokens: np.ndarray, mask: np.ndarray) -> dict[str, Any]:
    """Every per-head quantity above, plus the baseline, on the given sequences.

    Cost: one forward pass with the cache, plus one hooked forward pass per head of every
    layer but the last. A last-layer head's output reaches the logits only through the final
    residual stream, so zeroing it is exactly `_unembed(resid_final - head_out[h])`, computed
    at the induction positions only (a few per cent of a forward pass). That shortcut is used
    only after checking, on every chunk, that `_unembed(resid_final)` reproduces the model's
    own logits; otherwise the last layer's heads get hooked forward passes too.
    """
    cfg = model.config
    n_layers, n_heads = cfg["n_layers"], cfg["n_heads"]
    last = n_layers - 1
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
        tok = torch.from_numpy(tok_np)
        # (sequence, position) of every induction position of this chunk; the target is the
        # next token.
        pi, pt = (torch.from_numpy(a) for a in np.nonzero(mask_np[:, :-1]))
        target = tok[pi, pt + 1]
        cache: dict[str, torch.Tensor] = {}
        with torch.no_grad():
            logits = model(tok, cache=cache)[pi, pt]
            resid = cache["resid_final"][pi, pt]
            shortcut = torch.allclose(_unembed(model, resid), logits, rtol=1e-4, atol=1e-4)
        loss, correct = _nll_correct(logits, target)
        base_loss += loss
        base_correct += correct
        ii, tt = np.nonzero(src_np >= 0)
        for layer in range(n_layers):
            pat = cache[f"L{layer}.pattern"].double()  # [B, H, T, T]
            prev_sum[layer] += pat.diagonal(offset=-1, dim1=-2, dim2=-1).sum((0, 2)).numpy()
            rows, cols = torch.from_numpy(ii), torch.from_numpy(tt)
            ind = pat[rows, :, cols, torch.from_numpy(src_np[ii, tt])]
            ind_sum[layer] += ind.sum(0).numpy()
        n_prev += tok_np.shape[0] * (tok_np.shape[1] - 1)
        n_ind += ii.size
        last_out = cache[f"L{last}.head_out"][pi, :, pt]  # [P, H, d_model]
        for name in names:
            layer, h = (int(x) for x in name.split("."))
            with torch.no_grad():
                if layer == last and shortcut:
                    ablated = _unembed(model, resid - last_out[:, h])
                else:
                    hooks = {f"L{layer}.head_out": _zero_head(h)}
                    ablated = model(tok, hooks=hooks)[pi, pt]
            loss, correct = _nll_correct(ablated, target)
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


def match_heads(model: Any, other: Any, tokens: np.ndarray) -> dict[str, str] | None:
    """{head of `other`: head of `model`} when `other` is `model` with its heads relabelled
    (each head of `other` writes the same output and attends the same way as exactly one head
    of the same layer of `model`, and the logits agree); None otherwise.

    Every quantity `measure` reports is a function of the heads' outputs and attention
    patterns, so for such a pair `relabel(measure(model), match)` equals `measure(other)` up
    to float rounding (~1e-6), at a fraction of its cost. Tested on the given tokens (a
    hundred sequences are plenty: a mismatch shows at every position)."""
    cfg = model.config
    if other.config != cfg:
        return None
    tok = torch.from_numpy(tokens)
    a: dict[str, torch.Tensor] = {}
    b: dict[str, torch.Tensor] = {}
    with torch.no_grad():
        la, lb = model(tok, cache=a), other(tok, cache=b)
    if not torch.allclose(la, lb, rtol=1e-3, atol=1e-3):
        return None
    match: dict[str, str] = {}
    for layer in range(cfg["n_layers"]):
        taken: set[int] = set()
        for j in range(cfg["n_heads"]):
            out_b, pat_b = b[f"L{layer}.head_out"][:, j], b[f"L{layer}.pattern"][:, j]
            hits = [
                i
                for i in range(cfg["n_heads"])
                if torch.allclose(a[f"L{layer}.head_out"][:, i], out_b, rtol=1e-3, atol=1e-4)
                and torch.allclose(a[f"L{layer}.pattern"][:, i], pat_b, rtol=1e-3, atol=1e-5)
            ]
            if len(hits) != 1 or hits[0] in taken:
                return None
            taken.add(hits[0])
            match[f"{layer}.{j}"] = f"{layer}.{hits[0]}"
    return match


def relabel(measured: dict[str, Any], match: dict[str, str]) -> dict[str, Any]:
    """`measure`'s output for the relabelled model, from the original's and `match_heads`."""
    heads = {new: dict(measured["heads"][old]) for new, old in sorted(match.items())}
    return {**measured, "heads": heads}


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
