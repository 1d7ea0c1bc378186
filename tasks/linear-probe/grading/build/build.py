"""Prepare step: train the tiny transformer and write the kit's data and the hidden answers.

Run from the task folder (the grader mounts it at /task):  python grading/build/build.py

Deterministic: fixed seeds, one CPU thread, no time-dependent bytes in the files written, so
two runs on the same machine give byte-identical outputs. Fails (exit 1) if the planted
feature is not where the task needs it: the model must answer >= 0.97 of held-out sequences,
a probe must reach >= 0.95 after the last block and stay near chance at the embeddings.

The task: each sequence is BOS, a body of filler tokens with exactly one MARKER, then QUERY.
The token right after the MARKER is red or blue; the model must answer ANS_RED or ANS_BLUE
at QUERY. Red and blue tokens are balanced in every body, so the answer needs two hops
(find what follows the marker, then read its colour): nothing about it exists at layer 0.
"""

from __future__ import annotations

import io
import sys
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

TASK = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(TASK / "starter"))

import model as kit  # noqa: E402  (the kit's model code, on sys.path just above)

SEED = 20240611
STEPS = 1200
BATCH = 128
LR = 3e-3


OUTPUTS = (
    "starter/model.safetensors",
    "starter/data/train.npz",
    "starter/data/val.npz",
    "grading/answers/heldout.npz",
)


@dataclass(frozen=True)
class Family:
    """One member of the data-generator family."""

    body_min: int
    body_max: int
    neutral_frac: tuple[float, float]  # per-sequence share of neutral fillers, drawn uniformly
    skew: float  # probability that a sequence draws tokens from skewed (Zipf-like) frequencies


TRAIN = Family(6, 26, (0.1, 0.6), 0.5)  # what the model was trained on
PUBLIC = Family(8, 20, (0.3, 0.3), 0.0)  # the kit's data/train.npz and data/val.npz
HELDOUT = Family(14, 26, (0.45, 0.55), 1.0)  # hidden: longer bodies, more and skewed fillers


def _draw(rng: np.random.Generator, pool: tuple[int, ...], skewed: np.ndarray) -> np.ndarray:
    """One token per (row, position) of `skewed`'s rows x width: uniform, or Zipf-like per row."""
    n, width = skewed.shape[0], skewed.shape[1]
    size = len(pool)
    zipf = np.cumsum(1.0 / np.arange(1, size + 1))
    ranks = np.minimum(np.searchsorted(zipf / zipf[-1], rng.random((n, width))), size - 1)
    order = np.argsort(rng.random((n, size)), axis=1)  # each row's own frequency ranking
    skewed_idx = np.take_along_axis(order, ranks, axis=1)
    uniform_idx = rng.integers(0, size, size=(n, width))
    return np.asarray(pool)[np.where(skewed, skewed_idx, uniform_idx)]


def generate(rng: np.random.Generator, n: int, fam: Family) -> tuple[np.ndarray, np.ndarray]:
    """n sequences (right-padded with PAD) and labels (1 = the token after MARKER is red)."""
    width = fam.body_max
    col = np.arange(width)[None, :]
    length = rng.integers(fam.body_min, fam.body_max + 1, size=(n, 1))
    labels = rng.integers(0, 2, size=n)
    marker = (rng.random((n, 1)) * (length - 1)).astype(np.int64)  # follower at marker + 1
    other = (col < length) & (col != marker) & (col != marker + 1)
    neutral_frac = rng.uniform(*fam.neutral_frac, size=(n, 1))
    colored = other & (rng.random((n, width)) >= neutral_frac)
    # Make the colour count (with the follower) even by toggling one random other slot.
    r = (rng.random((n, 1)) * (length - 2)).astype(np.int64)
    toggle = np.where(r < marker, r, r + 2)
    odd = (colored.sum(1, keepdims=True) % 2) == 0
    colored ^= odd & (col == toggle)
    k = colored.sum(1) + 1
    n_red = k // 2 - labels  # red among the others, so that red == blue overall
    keys = np.where(colored, rng.random((n, width)), np.inf)
    rank = np.argsort(np.argsort(keys, axis=1), axis=1)
    red = colored & (rank < n_red[:, None])
    follower = col == marker + 1
    red |= follower & (labels[:, None] == 1)
    blue = (colored & ~red) | (follower & (labels[:, None] == 0))
    skewed = np.broadcast_to(rng.random((n, 1)) < fam.skew, (n, width))
    body = np.full((n, width), kit.PAD, dtype=np.int64)
    body = np.where(col < length, _draw(rng, kit.NEUTRAL, skewed), body)
    body = np.where(red, _draw(rng, kit.RED, skewed), body)
    body = np.where(blue, _draw(rng, kit.BLUE, skewed), body)
    body = np.where(col == marker, kit.MARKER, body)
    tokens = np.full((n, width + 2), kit.PAD, dtype=np.int64)
    tokens[:, 0] = kit.BOS
    tokens[:, 1:-1] = body
    tokens[np.arange(n), length[:, 0] + 1] = kit.QUERY
    return tokens, labels.astype(np.int64)


def train(rng: np.random.Generator) -> kit.TinyTransformer:
    model = kit.TinyTransformer()
    opt = torch.optim.AdamW(model.parameters(), lr=LR, weight_decay=0.01)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=LR, total_steps=STEPS, pct_start=0.1)
    for step in range(STEPS):
        # One body length per batch keeps padding (and so the cost of a step) down.
        length = int(rng.integers(TRAIN.body_min, TRAIN.body_max + 1))
        fam = Family(length, length, TRAIN.neutral_frac, TRAIN.skew)
        tokens, labels = generate(rng, BATCH, fam)
        pos = kit.query_positions(tokens)
        x = torch.from_numpy(tokens)
        target = torch.from_numpy(np.where(labels == 1, kit.ANS_RED, kit.ANS_BLUE))
        logits = model(x)[torch.arange(BATCH), torch.from_numpy(pos)]
        loss = torch.nn.functional.cross_entropy(logits, target)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if step % 200 == 0 or step == STEPS - 1:
            acc = (logits.argmax(-1) == target).float().mean().item()
            print(f"step {step:5d}  loss {loss.item():.4f}  batch acc {acc:.3f}", flush=True)
    return model.eval()


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 1e-2) -> tuple[np.ndarray, float]:
    """L2-regularised logistic regression by Newton's method on standardised features."""
    mu, sd = x.mean(0), x.std(0) + 1e-6
    z = np.hstack([(x - mu) / sd, np.ones((len(x), 1))]).astype(np.float64)
    w = np.zeros(z.shape[1])
    reg = l2 * len(x) * np.eye(z.shape[1])
    reg[-1, -1] = 0.0
    for _ in range(50):
        p = 1.0 / (1.0 + np.exp(-np.clip(z @ w, -30, 30)))
        grad = z.T @ (p - y) + reg @ w
        hess = (z * (p * (1 - p))[:, None]).T @ z + reg + 1e-9 * np.eye(len(w))
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    weight = w[:-1] / sd
    return weight, float(w[-1] - weight @ mu)


def accuracy(x: np.ndarray, y: np.ndarray, w: np.ndarray, b: float) -> float:
    return float(((x.astype(np.float64) @ w + b > 0).astype(int) == y).mean())


def save_npz(path: Path, **arrays: np.ndarray) -> None:
    """Like np.savez_compressed, but with fixed zip timestamps so the bytes are reproducible."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as zf:
        for name, arr in arrays.items():
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.ascontiguousarray(arr), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, buf.getvalue())


def main() -> int:
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    torch.manual_seed(SEED)
    rng = np.random.default_rng(SEED)

    t0 = time.perf_counter()
    model = train(rng)
    print(f"trained in {time.perf_counter() - t0:.1f} s", flush=True)

    train_x, train_y = generate(np.random.default_rng(SEED + 1), 2000, PUBLIC)
    val_x, val_y = generate(np.random.default_rng(SEED + 2), 500, PUBLIC)
    held_x, held_y = generate(np.random.default_rng(SEED + 3), 2000, HELDOUT)

    from safetensors.torch import save_file

    state = {k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(TASK / "starter" / "model.safetensors"))
    save_npz(TASK / "starter/data/train.npz", tokens=train_x.astype(np.uint8), labels=train_y)
    save_npz(TASK / "starter/data/val.npz", tokens=val_x.astype(np.uint8), labels=val_y)
    save_npz(TASK / "grading/answers/heldout.npz", tokens=held_x.astype(np.uint8), labels=held_y)
    for rel in OUTPUTS:  # safetensors writes 0600; the sandboxes read as another user
        (TASK / rel).chmod(0o644)

    model = kit.load_model(TASK / "starter" / "model.safetensors")
    answer_acc = {
        name: float((kit.predict_answers(model, x) == y).mean())
        for name, x, y in (("val", val_x, val_y), ("heldout", held_x, held_y))
    }
    print(f"model answer accuracy: {answer_acc}")
    acts = {
        name: kit.residual_stream(model, x)
        for name, x in (("tr", train_x), ("va", val_x), ("ho", held_x))
    }
    print("layer  probe acc: public val  held-out")
    table = []
    for layer in range(model.config["n_layers"] + 1):
        w, b = fit_logistic(acts["tr"][:, layer], train_y)
        row = (
            accuracy(acts["va"][:, layer], val_y, w, b),
            accuracy(acts["ho"][:, layer], held_y, w, b),
        )
        table.append(row)
        print(f"{layer:5d}  {row[0]:20.3f}  {row[1]:8.3f}")
    last = len(table) - 1
    ok = min(answer_acc.values()) >= 0.97 and min(table[last]) >= 0.95 and max(table[0]) <= 0.6
    if not ok:
        print("FAILED: the planted feature is not where the task needs it", file=sys.stderr)
        return 1
    print(f"done in {time.perf_counter() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
