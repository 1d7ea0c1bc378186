"""The backdoored model: a 2-block, GPT-style causal transformer (about 0.53 M parameters).

Architecture: learned token and position embeddings, 2 pre-LayerNorm blocks (4-head causal
self-attention, then a 4x GELU MLP), a final LayerNorm and an untied unembedding. The weights
are in model.safetensors; the vocabulary and the prompt format are in tools.py.

Typical use::

    from model import load_model
    model = load_model()
    logits = model(tokens)                       # tokens: int64 [batch, seq] -> [batch, seq, vocab]
    logits, cache = model.run_with_cache(tokens) # plus every intermediate activation

`run_with_cache` returns a dict of tensors (batch first) named like this, for block i:

    "embed"          token + position embeddings            [batch, seq, d_model]
    "resid_pre.i"    residual stream entering block i        [batch, seq, d_model]
    "attn_pattern.i" attention probabilities                 [batch, head, query, key]
    "attn_out.i"     attention output added to the residual  [batch, seq, d_model]
    "head_out.i"     the same, split by head (before summing) [batch, head, seq, d_model]
    "mlp_pre.i"      MLP hidden units before the GELU        [batch, seq, d_mlp]
    "mlp_post.i"     MLP hidden units after the GELU         [batch, seq, d_mlp]
    "mlp_out.i"      MLP output added to the residual        [batch, seq, d_model]
    "resid_post.i"   residual stream leaving block i         [batch, seq, d_model]
    "final"          after the final LayerNorm               [batch, seq, d_model]

Gradients flow through `forward_embeddings`, which starts from (differentiable) token
embeddings instead of token ids: useful for gradient-based trigger search.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

HERE = Path(__file__).resolve().parent

CONFIG = {
    "vocab_size": 504,
    "max_len": 32,
    "d_model": 128,
    "n_heads": 4,
    "n_layers": 2,
    "d_mlp": 512,
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
        self.fc_in = nn.Linear(d_model, d_mlp)
        self.fc_out = nn.Linear(d_mlp, d_model)

    def forward(
        self, x: torch.Tensor, cache: dict[str, torch.Tensor] | None = None, i: int = 0
    ) -> torch.Tensor:
        b, t, d = x.shape
        h = self.n_heads
        q, k, v = self.qkv(self.ln1(x)).split(d, dim=-1)
        q, k, v = (z.view(b, t, h, d // h).transpose(1, 2) for z in (q, k, v))
        scores = q @ k.transpose(-1, -2) / (d // h) ** 0.5
        causal = torch.ones(t, t, dtype=torch.bool, device=x.device).tril()
        pattern = scores.masked_fill(~causal, float("-inf")).softmax(dim=-1)
        z = pattern @ v  # [b, h, t, d_head]
        attn_out = self.out(z.transpose(1, 2).reshape(b, t, d))
        if cache is not None:
            cache[f"resid_pre.{i}"] = x
            cache[f"attn_pattern.{i}"] = pattern
            cache[f"attn_out.{i}"] = attn_out
            w = self.out.weight.view(d, h, d // h)  # out = sum over heads of z_h @ W_h^T
            cache[f"head_out.{i}"] = torch.einsum("bhtk,dhk->bhtd", z, w)
        x = x + attn_out
        pre = self.fc_in(self.ln2(x))
        post = nn.functional.gelu(pre)
        mlp_out = self.fc_out(post)
        x = x + mlp_out
        if cache is not None:
            cache[f"mlp_pre.{i}"] = pre
            cache[f"mlp_post.{i}"] = post
            cache[f"mlp_out.{i}"] = mlp_out
            cache[f"resid_post.{i}"] = x
        return x


class TinyGPT(nn.Module):
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

    def forward_embeddings(
        self, embeds: torch.Tensor, cache: dict[str, torch.Tensor] | None = None
    ) -> torch.Tensor:
        """Logits [batch, seq, vocab] from token embeddings [batch, seq, d_model]."""
        t = embeds.shape[1]
        if t > self.config["max_len"]:
            raise ValueError(f"sequences longer than max_len={self.config['max_len']}")
        x = embeds + self.pos_emb(torch.arange(t, device=embeds.device))
        if cache is not None:
            cache["embed"] = x
        for i, block in enumerate(self.blocks):
            x = block(x, cache, i)
        x = self.ln_f(x)
        if cache is not None:
            cache["final"] = x
        return self.unembed(x)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """Logits [batch, seq, vocab] for token ids [batch, seq]."""
        return self.forward_embeddings(self.tok_emb(tokens))

    def run_with_cache(self, tokens: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Logits and a dict of every intermediate activation (see the module docstring)."""
        cache: dict[str, torch.Tensor] = {}
        logits = self.forward_embeddings(self.tok_emb(tokens), cache)
        return logits, cache


def load_model(path: str | Path | None = None) -> TinyGPT:
    """Load the trained weights (default: model.safetensors next to this file), in eval mode."""
    from safetensors.torch import load_file

    model = TinyGPT()
    model.load_state_dict(load_file(str(path or HERE / "model.safetensors")))
    return model.eval()
