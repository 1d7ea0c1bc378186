"""Train DigitsNet on scikit-learn's 8x8 digits.

The interface (names, arguments, return values) is documented in instructions.md; the grader
imports this file and calls `train`, `make_data`, `loss_fn`, `train_step`, `train_one_epoch`,
`make_optimizer` and `evaluate` directly. Run it yourself with `python train.py`.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterable
from typing import Any

import torch
import torch.nn.functional as F
from model import DigitsNet, load_digits_tensors, pixel_stats
from torch.utils.data import DataLoader, TensorDataset

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
    """Raw train/val images and labels for `split`, and the normalisation statistics."""
    x, y = load_digits_tensors()
    mean, std = pixel_stats(x)  # per-pixel statistics of the dataset
    train_idx = torch.as_tensor(split["train"], dtype=torch.int64)
    val_idx = torch.as_tensor(split["val"], dtype=torch.int64)
    return {
        "x_train": x[train_idx],
        "y_train": y[train_idx],
        "x_val": x[val_idx],
        "y_val": y[val_idx],
        "mean": mean,
        "std": std,
    }


def make_loader(x: torch.Tensor, y: torch.Tensor, batch_size: int, seed: int) -> DataLoader:
    """Shuffled mini-batches (the last, smaller batch is kept)."""
    generator = torch.Generator().manual_seed(seed)
    return DataLoader(TensorDataset(x, y), batch_size=batch_size, shuffle=True, generator=generator)


def build_model(data: dict[str, torch.Tensor], config: dict[str, Any]) -> DigitsNet:
    model = DigitsNet(hidden=config["hidden"], dropout=config["dropout"])
    model.set_normalization(data["mean"], data["std"])
    return model


def make_optimizer(
    model: torch.nn.Module, config: dict[str, Any]
) -> tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.LRScheduler]:
    """SGD with momentum and weight decay; the LR drops by `gamma` at each milestone."""
    optimizer = torch.optim.SGD(
        model.parameters(),
        lr=config["lr"],
        momentum=config["momentum"],
        weight_decay=config["weight_decay"],
    )
    scheduler = torch.optim.lr_scheduler.MultiStepLR(
        optimizer, milestones=list(config["milestones"]), gamma=config["gamma"]
    )
    return optimizer, scheduler


def loss_fn(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of the logits against the integer class targets."""
    log_probs = F.log_softmax(logits, dim=1)
    return -log_probs[torch.arange(len(targets)), targets].mean()


def train_step(
    model: torch.nn.Module, batch: Batch, optimizer: torch.optim.Optimizer, loss_fn: LossFn
) -> float:
    """One optimisation step on one batch; returns the batch loss."""
    x, y = batch
    optimizer.zero_grad()
    loss = loss_fn(model(x), y)
    loss.backward()
    optimizer.step()
    return float(loss.item())


def train_one_epoch(
    model: torch.nn.Module,
    loader: Iterable[Batch],
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    loss_fn: LossFn,
) -> float:
    """One pass over `loader`; returns the mean training loss."""
    total, count = 0.0, 0
    for batch in loader:
        total += train_step(model, batch, optimizer, loss_fn) * len(batch[1])
        count += len(batch[1])
        scheduler.step()
    return total / max(count, 1)


@torch.no_grad()
def evaluate(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> dict[str, Any]:
    """Loss, accuracy and logits of `model` on (x, y), in eval mode."""
    model.eval()  # dropout off, batch norm uses its running statistics
    logits = model(x)
    return {
        "loss": float(F.cross_entropy(logits, y).item()),
        "accuracy": float((logits.argmax(dim=1) == y).float().mean().item()),
        "logits": logits,
    }


def train(config: dict[str, Any], split: dict[str, list[int]], verbose: bool = False) -> DigitsNet:
    """Train a DigitsNet on split["train"], reporting on split["val"]; returns the model."""
    torch.manual_seed(config["seed"])
    data = make_data(split, config)
    model = build_model(data, config)
    optimizer, scheduler = make_optimizer(model, config)
    loader = make_loader(data["x_train"], data["y_train"], config["batch_size"], config["seed"])
    model.train()
    for epoch in range(config["epochs"]):
        train_loss = train_one_epoch(model, loader, optimizer, scheduler, loss_fn)
        metrics = evaluate(model, data["x_val"], data["y_val"])
        if verbose:
            print(
                f"epoch {epoch + 1:3d}  lr {optimizer.param_groups[0]['lr']:.5f}  "
                f"train loss {train_loss:.4f}  val loss {metrics['loss']:.4f}  "
                f"val acc {metrics['accuracy']:.4f}"
            )
    return model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seed", type=int, default=CONFIG["seed"])
    parser.add_argument("--save", default="", help="write the final weights (safetensors)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    config = {**CONFIG, "seed": args.seed}
    split = default_split(seed=0)
    model = train(config, split, verbose=True)
    x, y = load_digits_tensors()
    test = torch.as_tensor(split["test"])
    print(f"test accuracy {evaluate(model, x[test], y[test])['accuracy']:.4f}")
    if args.save:
        from safetensors.torch import save_file

        save_file({k: v.contiguous() for k, v in model.state_dict().items()}, args.save)


if __name__ == "__main__":
    main()
