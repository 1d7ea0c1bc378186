"""Selective parameter dampening driven by diagonal Fisher information (SSD-style).

No parameter is singled out by hand. For every scalar weight, importance on the forget set
and on the retained knowledge is estimated as the mean squared per-example gradient of the
cross-entropy (the diagonal of the empirical Fisher). Retained knowledge is every
(subject, relation) pair of the non-flagged subjects, labelled by the original model (the kit
gives only half of the retain facts; the model itself answers the rest). A weight is
selected when its forget importance exceeds ALPHA times its retain importance; selected
weights are the ones that matter for the forget facts and (almost) nothing else, and they are
dampened all the way to zero, which erases what they store rather than hiding it behind
changes elsewhere. Unselected weights are left exactly as they were, so retained facts stay.
"""

from __future__ import annotations

import copy

import torch
from torch.func import functional_call, grad, vmap
from torch.nn import functional as F

ALPHA = 50.0  # selection threshold on the forget/retain importance ratio


def _fisher(model, s, r, v):
    """Diagonal empirical Fisher: mean over examples of the squared per-example gradient."""
    params = {k: p.detach() for k, p in model.named_parameters()}

    def loss_one(p, si, ri, vi):
        logits = functional_call(model, p, (si[None], ri[None]))
        return F.cross_entropy(logits, vi[None])

    out = {k: torch.zeros_like(p) for k, p in params.items()}
    per_ex = vmap(grad(loss_one), in_dims=(None, 0, 0, 0))
    for start in range(0, len(s), 256):
        g = per_ex(params, s[start:start + 256], r[start:start + 256], v[start:start + 256])
        for k in out:
            out[k] += (g[k] ** 2).sum(0)
    return {k: t / len(s) for k, t in out.items()}


def unlearn(model: torch.nn.Module, forget: torch.Tensor, retain: torch.Tensor) -> torch.nn.Module:
    torch.set_num_threads(1)
    out = copy.deepcopy(model).eval()

    # Retained knowledge: all pairs of subjects outside the forget set, teacher-labelled.
    n_subjects, n_rel = out.subject.weight.shape[0], out.relation.weight.shape[0]
    keep = torch.ones(n_subjects, dtype=torch.bool)
    keep[forget[:, 0]] = False
    ks = torch.nonzero(keep).flatten().repeat_interleave(n_rel)
    kr = torch.arange(n_rel).repeat(int(keep.sum()))
    with torch.no_grad():
        kv = out(ks, kr).argmax(-1)
    # The public retain facts are labelled by the data itself (they agree with the teacher).
    rs, rr, rv = torch.cat([ks, retain[:, 0]]), torch.cat([kr, retain[:, 1]]), torch.cat([kv, retain[:, 2]])

    f_imp = _fisher(out, forget[:, 0], forget[:, 1], forget[:, 2])
    r_imp = _fisher(out, rs, rr, rv)

    with torch.no_grad():
        for name, p in out.named_parameters():
            selected = f_imp[name] > ALPHA * r_imp[name]
            p[selected] = 0.0
    return out
