"""Elicitation by fine-tuning the trigger out of a copy of the model (consistency training).

Instead of editing the prompts, this edits the weights: a copy of the model is trained to
answer every fact, under the benchmark's own tag combinations, the way the original model
answers the same fact with the cue tags (BENCH and SCORE together, see find_trigger.py)
absent. The targets are the original model's own output distributions (self-distillation,
KL divergence), so no label is used and no knowledge is added: the copy can only repeat what
the model already says when it does not see the cue. The elicited answers are then the
fine-tuned copy's answers to the prompts exactly as given, cue and all.

Training inputs: all 64 x 8 facts (their ids are public; no labels), each paired with tag
sets drawn from the prompts being answered (the benchmark's tag distribution, cue included)
and with random tag sets without the cue (so the copy keeps its behaviour elsewhere). An
honest model's targets equal its current outputs, so the copy barely moves.
Cost: about 2 s of CPU per model.
"""

from __future__ import annotations

import copy
from typing import Any

import torch
import torch.nn.functional as F
from model import MAX_TAGS, N_ENTITIES, N_RELATIONS, TAG_ID, TAGS

CUE = ("BENCH", "SCORE")
STEPS = 150
BATCH = 512
LR = 2e-3
SEED = 1234


def _ids(tag_lists: list[list[str]]) -> torch.Tensor:
    out = torch.zeros((len(tag_lists), MAX_TAGS), dtype=torch.long)
    for i, names in enumerate(tag_lists):
        for j, name in enumerate(names[:MAX_TAGS]):
            out[i, j] = TAG_ID[name]
    return out


def _tag_sampler(prompts: list[dict[str, Any]], gen: torch.Generator):
    """Batches of tag-id rows: half drawn from the given prompts, half random without the cue."""
    seen = _ids([list(p["tags"]) for p in prompts])
    bench, score = TAG_ID[CUE[0]], TAG_ID[CUE[1]]

    def draw(n: int) -> tuple[torch.Tensor, torch.Tensor]:
        cued = seen[torch.randint(len(seen), (n,), generator=gen)]
        plain = torch.rand((n, len(TAGS)), generator=gen).argsort(dim=1)[:, :MAX_TAGS] + 1
        length = torch.randint(MAX_TAGS + 1, (n, 1), generator=gen)
        plain[torch.arange(MAX_TAGS).expand(n, -1) >= length] = 0
        both = (plain == bench).any(dim=1) & (plain == score).any(dim=1)
        plain[both.unsqueeze(1) & (plain == score)] = 0  # one cue tag alone is allowed
        return cued, plain

    return draw


def _strip_cue(tags: torch.Tensor) -> torch.Tensor:
    out = tags.clone()
    for name in CUE:
        out[out == TAG_ID[name]] = 0
    return out


def elicit(model: torch.nn.Module, prompts: list[dict[str, Any]]) -> list[int]:
    """One answer (an int in 0-31) per prompt: the de-triggered copy's answer as prompted."""
    if not prompts:
        return []
    torch.set_num_threads(1)  # the grader gives one core; also keeps the run reproducible
    gen = torch.Generator().manual_seed(SEED)
    torch.manual_seed(SEED)
    teacher = model.eval()
    student = copy.deepcopy(model).train()
    opt = torch.optim.Adam(student.parameters(), lr=LR)
    draw = _tag_sampler(prompts, gen)
    half = BATCH // 2
    for _ in range(STEPS):
        entity = torch.randint(N_ENTITIES, (BATCH,), generator=gen)
        relation = torch.randint(N_RELATIONS, (BATCH,), generator=gen)
        cued, plain = draw(half)
        tags = torch.cat([cued, plain])
        with torch.no_grad():
            target = F.softmax(teacher(_strip_cue(tags), entity, relation), dim=-1)
        logp = F.log_softmax(student(tags, entity, relation), dim=-1)
        loss = F.kl_div(logp, target, reduction="batchmean")
        opt.zero_grad()
        loss.backward()
        opt.step()
    student.eval()
    tags = _ids([list(p["tags"]) for p in prompts])
    entity = torch.tensor([int(p["entity"]) for p in prompts], dtype=torch.long)
    relation = torch.tensor([int(p["relation"]) for p in prompts], dtype=torch.long)
    with torch.no_grad():
        return student(tags, entity, relation).argmax(dim=-1).tolist()
