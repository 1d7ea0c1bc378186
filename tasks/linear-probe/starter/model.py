"""The tiny transformer you will probe, plus helpers to load it and read its residual stream.

Architecture: a 2-block, pre-LayerNorm, causal (GPT-style) transformer with learned position
embeddings, 4 attention heads and a 2x MLP. It was trained from a fixed seed to answer one
question about each sequence at its final ``?`` token (see README.md for the data format).

Residual-stream layers are numbered like this:

    layer 0   token + position embeddings (before any block)
    layer 1   after block 1 (attention + MLP)
    layer 2   after block 2 (the input to the final LayerNorm and unembedding)

Typical use::

    from model import load_model, load_data, residual_stream
    model = load_model()
    tokens, labels = load_data("data/train.npz")
    acts = residual_stream(model, tokens)      # float32 [n_sequences, 3, 64]
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

HERE = Path(__file__).resolve().parent

# Vocabulary (32 tokens).
PAD, BOS, QUERY, MARKER, ANS_RED, ANS_BLUE = 0, 1, 2, 3, 4, 5
RED = tuple(range(6, 14))  # 8 "red" tokens
BLUE = tuple(range(14, 22))  # 8 "blue" tokens
NEUTRAL = tuple(range(22, 32))  # 10 neutral filler tokens

CONFIG = {
    "vocab_size": 32,
    "max_len": 32,
    "d_model": 64,
    "n_heads": 4,
    "n_layers": 2,
    "d_mlp": 128,
}


class Block(nn.Module):
    """Pre-LN transformer block: x + attn(ln1(x)), then x + mlp(ln2(x))."""

    def __init__(self, d_model: int, n_heads: int, d_mlp: int) -> None:
        super().__init__()
        self.n_heads = n_heads
        self.ln1 = nn.LayerNorm(d_model)
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.out = nn.Linear(d_model, d_model)
        self.ln2 = nn.LayerNorm(d_model)
        self.mlp = nn.Sequential(nn.Linear(d_model, d_mlp), nn.GELU(), nn.Linear(d_mlp, d_model))

    def attention(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Causal self-attention; returns (output, pattern [batch, head, query, key])."""
        b, t, d = x.shape
        h = self.n_heads
        q, k, v = self.qkv(x).split(d, dim=-1)
        q, k, v = (z.view(b, t, h, d // h).transpose(1, 2) for z in (q, k, v))
        scores = q @ k.transpose(-1, -2) / (d // h) ** 0.5
        causal = torch.ones(t, t, dtype=torch.bool, device=x.device).tril()
        pattern = scores.masked_fill(~causal, float("-inf")).softmax(dim=-1)
        z = (pattern @ v).transpose(1, 2).reshape(b, t, d)
        return self.out(z), pattern

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attention(self.ln1(x))[0]
        return x + self.mlp(self.ln2(x))


class TinyTransformer(nn.Module):
    """Token + position embeddings, `n_layers` blocks, final LayerNorm, unembedding."""

    def __init__(self, config: dict[str, int] | None = None) -> None:
        super().__init__()
        cfg = dict(CONFIG if config is None else config)
        self.config = cfg
        self.tok_emb = nn.Embedding(cfg["vocab_size"], cfg["d_model"])
        self.pos_emb = nn.Embedding(cfg["max_len"], cfg["d_model"])
        self.blocks = nn.ModuleList(
            Block(cfg["d_model"], cfg["n_heads"], cfg["d_mlp"]) for _ in range(cfg["n_layers"])
        )
        self.ln_f = nn.LayerNorm(cfg["d_model"])
        self.unembed = nn.Linear(cfg["d_model"], cfg["vocab_size"])

    def residuals(self, tokens: torch.Tensor) -> list[torch.Tensor]:
        """The residual stream at every layer: a list of n_layers + 1 tensors [batch, seq, d]."""
        if tokens.shape[1] > self.config["max_len"]:
            raise ValueError(f"sequences longer than max_len={self.config['max_len']}")
        pos = torch.arange(tokens.shape[1], device=tokens.device)
        x = self.tok_emb(tokens) + self.pos_emb(pos)
        out = [x]
        for block in self.blocks:
            x = block(x)
            out.append(x)
        return out

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """Logits [batch, seq, vocab]."""
        return self.unembed(self.ln_f(self.residuals(tokens)[-1]))


def load_model(path: str | Path | None = None) -> TinyTransformer:
    """Load the trained weights (default: model.safetensors next to this file), in eval mode."""
    from safetensors.torch import load_file

    model = TinyTransformer()
    model.load_state_dict(load_file(str(path or HERE / "model.safetensors")))
    return model.eval()


def load_data(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Load (tokens [n, seq] int64, labels [n] int64) from one of the data/*.npz files."""
    with np.load(path, allow_pickle=False) as f:
        return f["tokens"].astype(np.int64), f["labels"].astype(np.int64)


def query_positions(tokens: np.ndarray) -> np.ndarray:
    """Index of the single ``?`` (QUERY) token in each row: the read-out position."""
    tokens = np.asarray(tokens)
    is_query = tokens == QUERY
    if not np.all(is_query.sum(axis=1) == 1):
        raise ValueError("every sequence must contain exactly one QUERY token")
    return is_query.argmax(axis=1)


@torch.no_grad()
def residual_stream(
    model: TinyTransformer, tokens: np.ndarray, batch_size: int = 500
) -> np.ndarray:
    """Residual-stream activations at each sequence's ``?`` token, at every layer.

    Returns float32 [n_sequences, n_layers + 1, d_model]; index 0 is the embedding layer.
    Sequences are right-padded with PAD; attention is causal, so padding after the ``?``
    token has no effect on it.
    """
    tokens = np.asarray(tokens, dtype=np.int64)
    pos = query_positions(tokens)
    chunks = []
    for start in range(0, len(tokens), batch_size):
        batch = torch.from_numpy(tokens[start : start + batch_size])
        idx = torch.from_numpy(pos[start : start + batch_size])
        layers = model.residuals(batch)
        rows = torch.arange(len(batch))
        chunks.append(torch.stack([x[rows, idx] for x in layers], dim=1).numpy())
    d = model.config["d_model"]
    return np.concatenate(chunks) if chunks else np.zeros((0, len(model.blocks) + 1, d), "f4")


@torch.no_grad()
def predict_answers(model: TinyTransformer, tokens: np.ndarray) -> np.ndarray:
    """The model's own answer at each ``?``: 1 if it prefers ANS_RED over ANS_BLUE, else 0."""
    tokens = np.asarray(tokens, dtype=np.int64)
    pos = torch.from_numpy(query_positions(tokens))
    logits = model(torch.from_numpy(tokens))[torch.arange(len(tokens)), pos]
    return (logits[:, ANS_RED] > logits[:, ANS_BLUE]).long().numpy()
