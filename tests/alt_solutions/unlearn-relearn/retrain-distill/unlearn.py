"""Exact-style unlearning by retraining: a fresh FactNet distilled from the original model on
the subjects that are kept, so the forget facts never enter the new weights.

The kit gives only half of the retain facts, but the original model answers every
(subject, relation) pair correctly, so it is queried as a teacher for all 360 non-flagged
subjects x 4 relations (1440 pairs). A freshly initialised FactNet (fixed seed) is trained on
the teacher's soft outputs (KL divergence at temperature 1) plus the hard teacher labels; the
40 flagged subjects never appear in training, so their embedding rows keep their random
initialisation, exactly as in a model that never saw them. The shared MLP is new too, so no
trace of the original's training on the forget facts survives anywhere.
"""

from __future__ import annotations

import torch
from torch.nn import functional as F


def _teacher_targets(model, subjects):
    """Every (subject, relation) pair of the kept subjects with the teacher's log-probs."""
    n_rel = model.relation.weight.shape[0]
    s = subjects.repeat_interleave(n_rel)
    r = torch.arange(n_rel).repeat(len(subjects))
    with torch.no_grad():
        logp = F.log_softmax(model(s, r), dim=-1)
    return s, r, logp


def unlearn(model: torch.nn.Module, forget: torch.Tensor, retain: torch.Tensor) -> torch.nn.Module:
    torch.set_num_threads(1)
    model.eval()
    n_subjects = model.subject.weight.shape[0]
    flagged = torch.unique(forget[:, 0])
    keep = torch.ones(n_subjects, dtype=torch.bool)
    keep[flagged] = False
    s, r, t_logp = _teacher_targets(model, torch.nonzero(keep).flatten())
    t_label = t_logp.argmax(-1)

    torch.manual_seed(12345)
    student = type(model)()  # fresh initialisation, same architecture and names
    opt = torch.optim.Adam(student.parameters(), lr=1e-2)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=700, eta_min=1e-3)
    student.train()
    for _ in range(700):
        logits = student(s, r)
        kl = F.kl_div(F.log_softmax(logits, -1), t_logp, log_target=True, reduction="batchmean")
        loss = kl + F.cross_entropy(logits, t_label)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    return student.eval()
