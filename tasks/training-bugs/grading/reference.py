"""TRUSTED reference computations for check.py: what a correct pipeline produces for each probe.

Only the check phase imports this (the harness puts /grading on sys.path). It mirrors, op for
op, the reference step that grading/run.py uses, so a correct submission matches to float
round-off. `kit` is the task's own model.py (from /kit), never the submission's.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import torch
import torch.nn.functional as F

Batch = tuple[torch.Tensor, torch.Tensor]


def probe_model(kit: ModuleType, hidden: int, init_state: dict[str, torch.Tensor]) -> Any:
    """A DigitsNet with dropout 0 at the probe initialisation, in training mode."""
    model = kit.DigitsNet(hidden=hidden, dropout=0.0)
    model.load_state_dict({k: v.clone() for k, v in init_state.items()})
    model.train()
    return model


def train_step(model: Any, batch: Batch, optimizer: torch.optim.Optimizer) -> float:
    """The correct step: zero the gradients, mean cross-entropy, backward, one update."""
    x, y = batch
    optimizer.zero_grad()
    loss = F.cross_entropy(model(x), y)
    loss.backward()
    optimizer.step()
    return float(loss.item())


def snapshot(model: Any) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def steps_states(
    kit: ModuleType,
    hidden: int,
    init_state: dict[str, torch.Tensor],
    optimizer_args: dict[str, float],
    batches: list[Batch],
) -> tuple[list[dict[str, torch.Tensor]], list[float]]:
    """States after each of consecutive correct train steps (and the losses)."""
    model = probe_model(kit, hidden, init_state)
    optimizer = torch.optim.SGD(model.parameters(), **optimizer_args)
    states, losses = [], []
    for b in batches:
        losses.append(train_step(model, b, optimizer))
        states.append(snapshot(model))
    return states, losses


def schedule_lr(cfg: dict[str, Any], epoch: int) -> float:
    """The intended learning rate during `epoch` (0-based): times gamma per milestone passed."""
    passed = sum(1 for m in cfg["milestones"] if int(m) <= epoch)
    return float(cfg["lr"]) * float(cfg["gamma"]) ** passed


def schedule_states(
    kit: ModuleType,
    hidden: int,
    init_state: dict[str, torch.Tensor],
    cfg: dict[str, Any],
    batches: list[Batch],
) -> tuple[list[dict[str, torch.Tensor]], list[float]]:
    """States after each epoch of correct training with the per-epoch step schedule."""
    model = probe_model(kit, hidden, init_state)
    optimizer = torch.optim.SGD(
        model.parameters(),
        lr=cfg["lr"],
        momentum=cfg["momentum"],
        weight_decay=cfg["weight_decay"],
    )
    scheduler = torch.optim.lr_scheduler.MultiStepLR(
        optimizer, milestones=list(cfg["milestones"]), gamma=cfg["gamma"]
    )
    states, lrs = [], []
    for _ in range(int(cfg["epochs"])):
        for b in batches:
            lrs.append(float(optimizer.param_groups[0]["lr"]))
            train_step(model, b, optimizer)
        scheduler.step()
        states.append(snapshot(model))
    return states, lrs


@torch.no_grad()
def eval_logits(model: Any, x: torch.Tensor) -> torch.Tensor:
    """Inference-time outputs: eval mode (dropout off, batch-norm running statistics)."""
    was = model.training
    model.eval()
    try:
        return model(x)
    finally:
        model.train(was)


@torch.no_grad()
def train_mode_logits(model: Any, x: torch.Tensor) -> torch.Tensor:
    """A training-mode forward pass (batch statistics), on a copy so nothing changes."""
    import copy

    clone = copy.deepcopy(model)
    clone.train()
    return clone(x)
