"""Reference unlearning: remove the flagged subjects' facts from where they are stored.

Every forget fact belongs to one of 40 flagged subjects, and the retain facts never mention
them. The model reads a subject only through its row of the subject embedding, and the MLP
after it is shared by all 400 subjects: it decodes values from an embedding, it does not store
one subject's values on its own (a model trained without the forget facts predicts them at
chance). So the facts of a flagged subject live in its embedding row. Redrawing those rows
from the distribution of the other rows removes the facts instead of hiding them: nothing
left in the weights encodes them, so relearning some of them cannot bring back the others.
The MLP and the other rows are untouched, so the retain facts are kept exactly.

Measured with the kit (writeup.md): forget accuracy 0.06 (chance 0.0625), retain 1.00;
after the relearning attack, held-out forget accuracy 0.10, as for a model that never saw the
facts (0.09), against 0.43 after fine-tuning the forget facts to wrong values.
"""

from __future__ import annotations

import copy

import torch


def unlearn(model: torch.nn.Module, forget: torch.Tensor, retain: torch.Tensor) -> torch.nn.Module:
    out = copy.deepcopy(model)
    flagged = torch.unique(forget[:, 0])
    with torch.no_grad():
        emb = out.subject.weight
        keep = torch.ones(emb.shape[0], dtype=torch.bool)
        keep[flagged] = False
        mu, sd = emb[keep].mean(0), emb[keep].std(0)
        gen = torch.Generator().manual_seed(0)
        emb[flagged] = mu + sd * torch.randn(len(flagged), emb.shape[1], generator=gen)
    return out
