"""Train DigitsNet on scikit-learn's 8x8 digits (fixed).

The grader imports this file and calls `train`, `make_data`, `loss_fn`, `train_step`,
`train_one_epoch`, `make_optimizer` and `evaluate` directly. Run it with `python train.py`.
"""

from __future__ import annotations

import argparse
import bisect
import copy
from collections.abc import Callable, Iterable
from typing import Any

import torch
import torch.nn.functional as F
from model import DigitsNet, load_digits_tensors, pixel_stats

CONFIG: dict[str, Any] = {
    "seed": 0,
    "epochs": 30,
    "batch_size": 64,
    "lr": 0.05,
    "momentum": 0.9,
    "weight_decay": 5e-4,
    "milestones": [15, 25],  # epochs at which the learning rate is multiplied by gamma
    "gamma": 0.1,
    "hidden": 128,
    "dropout": 0.3,
}

Batch = tuple[torch.Tensor, torch.Tensor]
LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def default_split(seed: int = 0, n_val: int = 300, n_test: int = 300) -> dict[str, list[int]]:
    """A random train/val/test split of the 1,797 digits, for running this script locally."""
    n = len(load_digits_tensors()[1])
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed)).tolist()
    return {
        "test": order[:n_test],
        "val": order[n_test : n_test + n_val],
        "train": order[n_test + n_val :],
    }


def make_data(split: dict[str, list[int]], config: dict[str, Any]) -> dict[str, torch.Tensor]:
    """Raw pixels and labels of the split's rows; statistics from the training rows alone."""
    x, y = load_digits_tensors()
    out: dict[str, torch.Tensor] = {}
    for part in ("train", "val"):
        rows = torch.tensor(split[part], dtype=torch.long)
        out[f"x_{part}"] = torch.index_select(x, 0, rows)
        out[f"y_{part}"] = torch.index_select(y, 0, rows)
    out["mean"], out["std"] = pixel_stats(out["x_train"])
    return out


def build_model(data: dict[str, torch.Tensor], config: dict[str, Any]) -> DigitsNet:
    model = DigitsNet(hidden=config["hidden"], dropout=config["dropout"])
    model.set_normalization(data["mean"], data["std"])
    return model


def make_optimizer(
    model: torch.nn.Module, config: dict[str, Any]
) -> tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.LRScheduler]:
    """SGD; the LR is multiplied by gamma once per milestone passed (milestones in epochs)."""
    optimizer = torch.optim.SGD(
        model.parameters(),
        lr=config["lr"],
        momentum=config["momentum"],
        weight_decay=config["weight_decay"],
    )
    milestones = sorted(int(m) for m in config["milestones"])
    gamma = float(config["gamma"])
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda epoch: gamma ** bisect.bisect_right(milestones, epoch)
    )
    return optimizer, scheduler


def loss_fn(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean negative log-likelihood of the targets."""
    return F.nll_loss(F.log_softmax(logits, dim=1), targets, reduction="mean")


def train_step(
    model: torch.nn.Module, batch: Batch, optimizer: torch.optim.Optimizer, loss_fn: LossFn
) -> float:
    x, y = batch
    for p in model.parameters():  # start from empty gradients
        p.grad = None
    loss = loss_fn(model(x), y)
    loss.backward()
    optimizer.step()
    return loss.item()


def train_one_epoch(
    model: torch.nn.Module,
    loader: Iterable[Batch],
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    loss_fn: LossFn,
) -> float:
    losses, sizes = [], []
    for batch in loader:
        losses.append(train_step(model, batch, optimizer, loss_fn))
        sizes.append(len(batch[1]))
    scheduler.step()  # milestones count epochs
    return sum(v * n for v, n in zip(losses, sizes, strict=True)) / max(sum(sizes), 1)


def evaluate(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> dict[str, Any]:
    """Inference on a copy of the model, so the caller's model is never touched."""
    frozen = copy.deepcopy(model).eval()
    with torch.inference_mode():
        logits = frozen(x)
        loss = F.cross_entropy(logits, y).item()
        acc = (logits.argmax(dim=1) == y).float().mean().item()
    return {"loss": loss, "accuracy": acc, "logits": logits.clone()}


def batches(x: torch.Tensor, y: torch.Tensor, size: int, gen: torch.Generator) -> list[Batch]:
    """One epoch of shuffled mini-batches (the last, smaller one kept)."""
    order = torch.randperm(len(y), generator=gen)
    return [(x[idx], y[idx]) for idx in order.split(size)]


def train(config: dict[str, Any], split: dict[str, list[int]], verbose: bool = False) -> DigitsNet:
    torch.manual_seed(config["seed"])
    gen = torch.Generator().manual_seed(config["seed"])
    data = make_data(split, config)
    model = build_model(data, config)
    optimizer, scheduler = make_optimizer(model, config)
    for epoch in range(config["epochs"]):
        model.train()
        epoch_batches = batches(data["x_train"], data["y_train"], config["batch_size"], gen)
        train_loss = train_one_epoch(model, epoch_batches, optimizer, scheduler, loss_fn)
        val = evaluate(model, data["x_val"], data["y_val"])
        if verbose:
            print(
                f"epoch {epoch + 1:3d}  train loss {train_loss:.4f}  "
                f"val loss {val['loss']:.4f}  val acc {val['accuracy']:.4f}"
            )
    return model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seed", type=int, default=CONFIG["seed"])
    args = parser.parse_args()
    torch.set_num_threads(1)
    split = default_split(seed=0)
    model = train({**CONFIG, "seed": args.seed}, split, verbose=True)
    x, y = load_digits_tensors()
    test = torch.as_tensor(split["test"])
    print(f"test accuracy {evaluate(model, x[test], y[test])['accuracy']:.4f}")


if __name__ == "__main__":
    main()
