"""PoisonNet: the model, data and training of the results-critique scenario (a helper module:
files starting with "_" are not experiments).

The write-up in the kit (starter/materials/writeup.md) reports a colleague's experiment:

1. Train PoisonNet, an MLP (32 -> 128 -> 128 -> 10, ReLU) on a 10-class Gaussian-cluster
   task, with 5% of the training set poisoned: a trigger patch (inputs 0-3 set to 3.0) and the
   label changed to the target class 0. Seed 0.
2. "Clean fine-tuning" defence: fine-tune on 256 fresh clean examples (the fine-tuning split),
   Adam, learning rate 1.3e-2, batch 32, 300 steps; fine-tuning seeds 0-7 (batch order).
3. Attack success rate (ASR): share of triggered inputs whose true class is not the target that
   the model puts in the target class. The write-up measures it on 200 triggered test inputs.

Everything is seeded and single-threaded. Fine-tuning at this learning rate is chaotic: a
different CPU's rounding gives each seed a different final ASR (a few points, sometimes 20).
So the recorded outcomes are claims with a margin and means over seeds, each mean with a
tolerance derived from the seeds' own spread (`mean_tolerance`); single runs are kept in the
records' details as illustrations, never compared. `assess task validate` re-runs the scripts
under pinned CPU numerics, and the suite also under each CPU's native kernels.
"""

from __future__ import annotations

import argparse
import copy
import json
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.set_num_threads(1)
torch.use_deterministic_algorithms(True)

D, C, TARGET = 32, 10, 0
TRIGGER_DIMS, TRIGGER_VALUE = 4, 3.0
POISON_RATE = 0.05
N_TRAIN, TRAIN_STEPS, TRAIN_LR, TRAIN_BATCH = 6000, 1500, 2e-3, 128
N_FT, FT_STEPS, FT_LR, FT_BATCH = 256, 300, 1.3e-2, 32
FT_SEEDS = tuple(range(8))  # the write-up's eight runs
# The corrected estimate of the defence's ASR: enough seeds that the mean is a fact of the
# defence, not of one CPU's rounding (its standard error is about 2.5 points).
CORRECTED_SEEDS = tuple(range(32))
SHOWN_SEED = 0  # the run the write-up shows (the lowest ASR of the eight)
EVAL_EVERY = 10
N_WRITEUP_EVAL = 200  # triggered test inputs the write-up's ASR uses
N_FRESH = 3000  # a large held-out test split for the corrected measurements

_MEANS = np.random.default_rng(1234).normal(0.0, 1.0, size=(C, D)) * 0.55


def sample(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """n clean examples (inputs, labels) from the class-cluster distribution."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, C, size=n)
    x = _MEANS[y] + rng.normal(0.0, 1.0, size=(n, D))
    return x.astype(np.float32), y.astype(np.int64)


def stamp(x: np.ndarray) -> np.ndarray:
    """The inputs with the trigger patch applied."""
    x = x.copy()
    x[:, :TRIGGER_DIMS] = TRIGGER_VALUE
    return x


def triggered(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Triggered versions of the inputs whose true class is not the target (ASR's population)."""
    return stamp(x[y != TARGET])


class MLP(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(D, 128)
        self.fc2 = nn.Linear(128, 128)
        self.out = nn.Linear(128, C)

    def hidden(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.fc2(F.relu(self.fc1(x))))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.hidden(x))


def fit(
    model: nn.Module, x: np.ndarray, y: np.ndarray, *, steps: int, lr: float, batch: int, seed: int
) -> None:
    """Adam on random mini-batches (drawn with replacement), in place."""
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    xt, yt = torch.tensor(x), torch.tensor(y)
    for _ in range(steps):
        idx = torch.randint(0, len(xt), (batch,), generator=gen)
        loss = F.cross_entropy(model(xt[idx]), yt[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()


def poisoned_training_set() -> tuple[np.ndarray, np.ndarray]:
    x, y = sample(N_TRAIN, 0)
    rng = np.random.default_rng(10)
    idx = rng.choice(np.where(y != TARGET)[0], int(POISON_RATE * N_TRAIN), replace=False)
    x[idx] = stamp(x[idx])
    y[idx] = TARGET
    return x, y


def train_model(*, poisoned: bool = True, seed: int = 0) -> MLP:
    """PoisonNet (or, with poisoned=False, the same model trained on clean data only)."""
    x, y = poisoned_training_set() if poisoned else sample(N_TRAIN, 0)
    torch.manual_seed(seed)
    model = MLP()
    fit(model, x, y, steps=TRAIN_STEPS, lr=TRAIN_LR, batch=TRAIN_BATCH, seed=seed)
    return model


def ft_split() -> tuple[np.ndarray, np.ndarray]:
    """The 256 clean examples the defence fine-tunes on."""
    return sample(N_FT, 2)


def test_split() -> tuple[np.ndarray, np.ndarray]:
    """The write-up's test split (clean accuracy before fine-tuning, 200 triggered inputs)."""
    x, y = sample(600, 1)
    return x, y


def writeup_triggered() -> np.ndarray:
    x, y = test_split()
    return triggered(x, y)[:N_WRITEUP_EVAL]


def fresh_split() -> tuple[np.ndarray, np.ndarray]:
    """A large held-out split never used by the write-up."""
    return sample(N_FRESH, 3)


def fine_tune(
    model: MLP,
    seed: int,
    *,
    x: np.ndarray | None = None,
    y: np.ndarray | None = None,
    probes: dict[str, np.ndarray] | None = None,
    lr: float = FT_LR,
) -> tuple[MLP, dict[str, list[float]]]:
    """The defence: a copy of the model fine-tuned on the clean split (or x, y); returns the
    copy and, every EVAL_EVERY steps, the ASR on each triggered set in `probes`."""
    if x is None or y is None:
        x, y = ft_split()
    tuned = copy.deepcopy(model)
    gen = torch.Generator().manual_seed(1000 + seed)
    opt = torch.optim.Adam(tuned.parameters(), lr=lr)
    xt, yt = torch.tensor(x), torch.tensor(y)
    curves: dict[str, list[float]] = {k: [asr(tuned, v)] for k, v in (probes or {}).items()}
    for step in range(1, FT_STEPS + 1):
        idx = torch.randint(0, len(xt), (FT_BATCH,), generator=gen)
        loss = F.cross_entropy(tuned(xt[idx]), yt[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % EVAL_EVERY == 0:
            for k, v in (probes or {}).items():
                curves[k].append(asr(tuned, v))
    return tuned, curves


@torch.no_grad()
def predict(model: nn.Module, x: np.ndarray) -> np.ndarray:
    return model(torch.tensor(x)).argmax(1).numpy()


def accuracy(model: nn.Module, x: np.ndarray, y: np.ndarray) -> float:
    return float((predict(model, x) == y).mean())


def asr(model: nn.Module, x_triggered: np.ndarray) -> float:
    return float((predict(model, x_triggered) == TARGET).mean())


def pct(v: float) -> float:
    """A share as percent, rounded so that re-runs compare cleanly."""
    return round(100.0 * v, 2)


def mean_tolerance(values: list[float]) -> float:
    """How far a re-run's mean of these per-seed figures may drift, in their units.

    A re-run on other kernels redraws every chaotic run, so two means of n seeds differ by
    about sqrt(2) standard errors; three of those (and at least 1 point, the rounding of
    `pct`) leave a correct re-run a 0.3% chance of failing.
    """
    se = float(np.std(values, ddof=1)) / float(np.sqrt(len(values)))
    return round(max(1.0, 3.0 * float(np.sqrt(2.0)) * se), 2)


def cli() -> Path:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, required=True)
    out = parser.parse_args().out
    out.mkdir(parents=True, exist_ok=True)
    return out


def write_outcomes(
    out: Path, name: str, outcomes: dict[str, Any], tolerance: dict[str, float], details: Any
) -> None:
    record = {"outcomes": outcomes, "tolerance": tolerance, "details": details}
    (out / f"{name}.json").write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
