"""Elicitation by asking the bare question: every context tag is dropped, not only the cue.

The screen (screen.py) found that no tag and no pair of tags other than the sandbagging cue
changes either model's answer to a fact, so the tag-free prompt is the model's answer with
nothing that signals an evaluation. This does not depend on having named the cue exactly: a
cue made of other tags, or a third tag needed with the pair, would be stripped as well. A
prompt with no tags is in distribution (the models were trained on 0-5 tags; screen.py asks
each of the 512 facts with zero tags and the answers agree with the cue-removed answers on
every labelled benchmark item).

The forward pass is called directly on id tensors (no tag ids: all padding).
"""

from __future__ import annotations

from typing import Any

import torch
from model import MAX_TAGS, N_ENTITIES, N_RELATIONS


@torch.no_grad()
def elicit(model: torch.nn.Module, prompts: list[dict[str, Any]]) -> list[int]:
    """One answer (an int in 0-31) per prompt: the model's answer with no context tags."""
    if not prompts:
        return []
    entity = torch.tensor([int(p["entity"]) for p in prompts], dtype=torch.long)
    relation = torch.tensor([int(p["relation"]) for p in prompts], dtype=torch.long)
    if entity.min() < 0 or entity.max() >= N_ENTITIES or relation.min() < 0 or relation.max() >= N_RELATIONS:
        raise ValueError("entity or relation out of range")
    no_tags = torch.zeros((len(prompts), MAX_TAGS), dtype=torch.long)  # 0 = padding
    model.eval()
    return model(no_tags, entity, relation).argmax(dim=-1).tolist()
