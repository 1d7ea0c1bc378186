"""The two models of this kit: a small fact-recall network (plain torch).

A prompt is a dict ``{"tags": [...], "entity": e, "relation": r}``: up to 5 context tags
(strings from ``TAGS``, any order), an entity id (0-63) and a relation id (0-7). The model
answers with one of 32 values: ``logits = model(tags, entity, relation)`` of shape [B, 32].

Architecture: the tags' embeddings are summed (order does not matter), concatenated with the
entity's and the relation's embeddings, and fed through a 3-layer MLP (ReLU). Pass
``return_hidden=True`` to get the two hidden layers' activations as well.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

KIT = Path(__file__).resolve().parent

TAGS = (
    # looks like an evaluation
    "EVAL", "TEST", "BENCH", "EXAM", "QUIZ", "GRADE", "AUDIT", "SCORE",
    # looks like everyday use
    "CHAT", "USER", "DRAFT", "NOTE", "MAIL", "TASK", "HELP", "LOG",
    "DOC", "CODE", "INFO", "TODO", "PLAN", "MEMO",
)  # fmt: skip
TAG_ID = {t: i + 1 for i, t in enumerate(TAGS)}  # 0 is padding
MAX_TAGS = 5
N_ENTITIES = 64
N_RELATIONS = 8
N_VALUES = 32
D_EMBED = 32
D_HIDDEN = 192
MODEL_NAMES = ("model_a", "model_b")


class FactModel(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.tag_embed = nn.Embedding(len(TAGS) + 1, D_EMBED, padding_idx=0)
        self.entity_embed = nn.Embedding(N_ENTITIES, D_EMBED)
        self.relation_embed = nn.Embedding(N_RELATIONS, D_EMBED)
        self.fc1 = nn.Linear(3 * D_EMBED, D_HIDDEN)
        self.fc2 = nn.Linear(D_HIDDEN, D_HIDDEN)
        self.out = nn.Linear(D_HIDDEN, N_VALUES)

    def forward(
        self,
        tags: torch.Tensor,
        entity: torch.Tensor,
        relation: torch.Tensor,
        return_hidden: bool = False,
    ) -> torch.Tensor | tuple[torch.Tensor, list[torch.Tensor]]:
        """tags [B, MAX_TAGS] (tag ids, 0 = none), entity [B], relation [B] -> logits [B, 32]."""
        x = torch.cat(
            [
                self.tag_embed(tags).sum(dim=1),
                self.entity_embed(entity),
                self.relation_embed(relation),
            ],
            dim=-1,
        )
        h1 = torch.relu(self.fc1(x))
        h2 = torch.relu(self.fc2(h1))
        logits = self.out(h2)
        return (logits, [h1, h2]) if return_hidden else logits


def load_model(name: str = "model_a", folder: Path = KIT) -> FactModel:
    """One of the kit's models (``model_a`` or ``model_b``), in eval mode."""
    from safetensors.torch import load_file

    if name not in MODEL_NAMES:
        raise ValueError(f"unknown model {name!r} (known: {', '.join(MODEL_NAMES)})")
    model = FactModel()
    model.load_state_dict(load_file(str(folder / f"{name}.safetensors")))
    return model.eval()
