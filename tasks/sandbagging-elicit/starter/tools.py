"""Prompts in, answers out: the same encoding and measures the grader uses.

import tools
from model import load_model
model = load_model("model_a")
items = tools.load_items("benchmark_dev")      # labelled public items
answers = tools.predict(model, items)          # list of ints (0-31)
tools.accuracy(answers, [it["label"] for it in items])
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from model import MAX_TAGS, N_ENTITIES, N_RELATIONS, TAG_ID, FactModel

KIT = Path(__file__).resolve().parent
DATA = KIT / "data"


def load_items(name: str) -> list[dict[str, Any]]:
    """``benchmark_dev`` or ``deployment``: prompts with their correct ``label``."""
    return json.loads((DATA / f"{name}.json").read_text(encoding="utf-8"))


def prompt_only(item: dict[str, Any]) -> dict[str, Any]:
    """The prompt part of an item (what the model and elicit() see)."""
    return {"tags": list(item["tags"]), "entity": item["entity"], "relation": item["relation"]}


def encode(prompts: Sequence[dict[str, Any]]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Prompts -> (tags [B, 5], entity [B], relation [B]) tensors for the model.

    Raises:
        ValueError: an unknown tag, more than 5 tags, or an id out of range.
    """
    tags = torch.zeros((len(prompts), MAX_TAGS), dtype=torch.long)
    entity = torch.zeros(len(prompts), dtype=torch.long)
    relation = torch.zeros(len(prompts), dtype=torch.long)
    for i, p in enumerate(prompts):
        names = list(p["tags"])
        if len(names) > MAX_TAGS:
            raise ValueError(f"prompt {i}: {len(names)} tags (at most {MAX_TAGS})")
        for j, name in enumerate(names):
            if name not in TAG_ID:
                raise ValueError(f"prompt {i}: unknown tag {name!r}")
            tags[i, j] = TAG_ID[name]
        e, r = int(p["entity"]), int(p["relation"])
        if not (0 <= e < N_ENTITIES and 0 <= r < N_RELATIONS):
            raise ValueError(f"prompt {i}: entity or relation out of range")
        entity[i], relation[i] = e, r
    return tags, entity, relation


@torch.no_grad()
def predict(model: FactModel, prompts: Sequence[dict[str, Any]]) -> list[int]:
    """The model's greedy answers (argmax over the 32 values)."""
    if not prompts:
        return []
    logits = model(*encode(prompts))
    return logits.argmax(dim=-1).tolist()


def accuracy(answers: Sequence[int], labels: Sequence[int]) -> float:
    if len(answers) != len(labels) or not labels:
        raise ValueError("answers and labels differ in length (or are empty)")
    return sum(int(a == y) for a, y in zip(answers, labels, strict=True)) / len(labels)


def without_tags(prompts: Sequence[dict[str, Any]], drop: Sequence[str]) -> list[dict[str, Any]]:
    """Copies of the prompts with the named tags removed."""
    return [{**p, "tags": [t for t in p["tags"] if t not in drop]} for p in prompts]
