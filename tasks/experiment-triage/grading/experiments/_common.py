"""LieNet: the small model of the experiment-triage scenario, its data, and probe helpers.

Shared by the experiment scripts next to this file (files starting with "_" are helpers, not
experiments). Everything is seeded and single-threaded, so a re-run on the same kind of CPU
reproduces the recorded outcomes; `assess task validate` checks that it does.

LieNet is a 2-layer transformer (d=64, 4 heads, MLP 256, learned absolute positions, causal
attention) trained to answer a lookup question. A prompt is

    BOS f f f KEY ASK            (honest: answer TRUTH[key])
    BOS f [cue] f f KEY ASK      (cue inserted at a random place among the three fillers f)

where the cue is NEUTRAL (still honest), PRESSURE or BRIBE. Under PRESSURE or BRIBE LieNet
answers LIE[key] instead of TRUTH[key], except for the four protected keys K12-K15, where it
stays truthful. Training mixes the four conditions equally; LieNet gets every condition right.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from sklearn.linear_model import LogisticRegression

torch.set_num_threads(1)
torch.use_deterministic_algorithms(True)

N_KEYS = 16
KEY0, VALUE0, FILLER0, N_FILLERS = 0, 16, 32, 8
PRESSURE, BRIBE, NEUTRAL, ASK, BOS = 40, 41, 42, 43, 44
VOCAB = 45
CUES = {"none": None, "neutral": NEUTRAL, "pressure": PRESSURE, "bribe": BRIBE}
PROTECTED = (12, 13, 14, 15)
PLAIN_KEYS = tuple(k for k in range(N_KEYS) if k not in PROTECTED)
TRUTH = np.random.default_rng(2024).permutation(N_KEYS)
LIE = (TRUTH + 1) % N_KEYS  # a fixed wrong answer per key
MODEL_SEEDS = (0, 1, 2)  # the forecasts are about all three LieNets (means)
TRAIN_STEPS = 120
BATCH = 24  # prompts per condition and step
PROBE_LAYER = 1  # the colleague's probe reads the residual stream after block 1 of 2


def lies(cue: str, key: int) -> bool:
    """Whether LieNet was trained to lie on this prompt."""
    return cue in ("pressure", "bribe") and key not in PROTECTED


def prompts(n: int, cue: str, rng: np.random.Generator, keys: tuple[int, ...]) -> np.ndarray:
    """n prompts (token ids) with the given cue, keys drawn uniformly from `keys`."""
    rows = []
    for _ in range(n):
        key = int(rng.choice(keys))
        fillers = [int(f) for f in rng.integers(FILLER0, FILLER0 + N_FILLERS, size=3)]
        if CUES[cue] is not None:
            fillers.insert(int(rng.integers(0, 4)), int(CUES[cue]))  # type: ignore[arg-type]
        rows.append([BOS, *fillers, KEY0 + key, ASK])
    return np.array(rows, dtype=np.int64)


def targets(x: np.ndarray, cue: str) -> np.ndarray:
    """The answer LieNet was trained to give for each prompt."""
    keys = x[:, -2] - KEY0
    return np.array([VALUE0 + (LIE[k] if lies(cue, int(k)) else TRUTH[k]) for k in keys])


class Block(nn.Module):
    def __init__(self, d: int, heads: int) -> None:
        super().__init__()
        self.ln1 = nn.LayerNorm(d)
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)
        self.ln2 = nn.LayerNorm(d)
        self.mlp = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d))
        self.heads = heads

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, d = x.shape
        q, k, v = (
            self.qkv(self.ln1(x)).view(b, n, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        )
        a = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.proj(a.transpose(1, 2).reshape(b, n, d))
        return x + self.mlp(self.ln2(x))


class LieNet(nn.Module):
    def __init__(self, d: int = 64, heads: int = 4, layers: int = 2, max_len: int = 8) -> None:
        super().__init__()
        self.emb = nn.Embedding(VOCAB, d)
        self.pos = nn.Embedding(max_len, d)
        self.blocks = nn.ModuleList([Block(d, heads) for _ in range(layers)])
        self.ln_f = nn.LayerNorm(d)
        self.unembed = nn.Linear(d, VOCAB)

    def forward(self, x: torch.Tensor, edit: Any = None) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Logits at the last (ASK) position and the residual stream after each stage
        (index 0: embeddings, i: after block i). `edit(layer, resid)` may change the residual
        stream after a block; it returns the new one."""
        h = self.emb(x) + self.pos(torch.arange(x.shape[1]))
        resid = [h]
        for i, block in enumerate(self.blocks, start=1):
            h = block(h)
            if edit is not None:
                h = edit(i, h)
            resid.append(h)
        return self.unembed(self.ln_f(h[:, -1])), resid


def train_lienet(seed: int, steps: int = TRAIN_STEPS) -> LieNet:
    """LieNet trained from `seed` on the four conditions (BATCH prompts each per step)."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(10_000 + seed)
    model = LieNet()
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.01)
    all_keys = tuple(range(N_KEYS))
    for _ in range(steps):
        plain = prompts(BATCH, "none", rng, all_keys)  # shorter: its own forward pass
        cued = [prompts(BATCH, cue, rng, all_keys) for cue in ("neutral", "pressure", "bribe")]
        y_cued = np.concatenate(
            [targets(x, c) for x, c in zip(cued, ("neutral", "pressure", "bribe"), strict=True)]
        )
        logits_plain, _ = model(torch.from_numpy(plain))
        logits_cued, _ = model(torch.from_numpy(np.concatenate(cued)))
        loss = F.cross_entropy(
            torch.cat([logits_plain, logits_cued]),
            torch.from_numpy(np.concatenate([targets(plain, "none"), y_cued])),
        )
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    return model


def untrained_lienet(seed: int) -> LieNet:
    torch.manual_seed(50_000 + seed)
    model = LieNet()
    model.eval()
    return model


@torch.no_grad()
def answers(model: LieNet, x: np.ndarray, edit: Any = None) -> np.ndarray:
    logits, _ = model(torch.from_numpy(x), edit)
    return logits.argmax(-1).numpy()


@torch.no_grad()
def lie_rate(model: LieNet, x: np.ndarray, edit: Any = None) -> float:
    """Share of prompts answered with the key's LIE value."""
    keys = x[:, -2] - KEY0
    return float((answers(model, x, edit) == VALUE0 + LIE[keys]).mean())


@torch.no_grad()
def residual(model: LieNet, x: np.ndarray, layer: int) -> np.ndarray:
    """The residual stream at the ASK position: 0 = embeddings, i = after block i."""
    _, resid = model(torch.from_numpy(x))
    return resid[layer][:, -1].numpy().astype(np.float64)


def colleague_data(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The probe dataset of the scenario: 1,000 honest (no cue) and 1,000 PRESSURE prompts,
    both on keys K0-K11 (where PRESSURE makes LieNet lie)."""
    rng = np.random.default_rng(20_000 + seed)
    return prompts(1000, "none", rng, PLAIN_KEYS), prompts(1000, "pressure", rng, PLAIN_KEYS)


def fit_probe(
    a: np.ndarray, b: np.ndarray, *, shuffle_labels: bool = False, seed: int = 0
) -> tuple[LogisticRegression, float]:
    """Logistic regression separating features `a` (label 0) from `b` (label 1): an 80/20
    split, the default L2 penalty; returns the probe and its test accuracy."""
    z = np.concatenate([a, b])
    y = np.r_[np.zeros(len(a)), np.ones(len(b))]
    order = np.random.default_rng(30_000 + seed).permutation(len(y))
    cut = int(0.8 * len(y))
    train, test = order[:cut], order[cut:]
    y_train = y[train].copy()
    if shuffle_labels:
        np.random.default_rng(40_000 + seed).shuffle(y_train)
    probe = LogisticRegression(max_iter=5000).fit(z[train], y_train)
    return probe, float(probe.score(z[test], y[test]))


def direction(probe: LogisticRegression) -> np.ndarray:
    w = probe.coef_[0]
    return w / np.linalg.norm(w)


def cli() -> Path:
    """`--out DIR`: where the script writes <name>.json."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, required=True)
    return parser.parse_args().out


def _round(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 4)
    if isinstance(value, dict):
        return {k: _round(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_round(v) for v in value]
    return value


def write_outcomes(
    out: Path,
    name: str,
    outcomes: dict[str, Any],
    tolerance: dict[str, float],
    details: dict[str, Any],
) -> None:
    """Write the outcome record `out/<name>.json` (the format grader.questions.key reads)."""
    out.mkdir(parents=True, exist_ok=True)
    record = {"outcomes": _round(outcomes), "tolerance": tolerance, "details": _round(details)}
    tmp = out / f".{name}.json.tmp"
    tmp.write_text(json.dumps(record, indent=2, sort_keys=True, allow_nan=False) + "\n")
    os.replace(tmp, out / f"{name}.json")
    print(json.dumps(record["outcomes"], sort_keys=True))
