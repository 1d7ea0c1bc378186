"""A 2-layer, attention-only transformer with hook points, plus the data generator.

Architecture (no MLPs, no attention biases; LayerNorm LN_l before each layer and LN_f at the end):

    resid = W_E[tokens] + W_pos[positions]                         "L0.resid_pre"
    for layer in 0, 1:
        x        = LN_l(resid)
        q, k, v  = x @ W_Q[h], x @ W_K[h], x @ W_V[h]               "L{l}.q", "L{l}.k", "L{l}.v"
        pattern  = softmax(q k^T / sqrt(d_head), causal)           "L{l}.pattern"
        z        = pattern @ v                                     "L{l}.z"
        head_out = z @ W_O[h]        (one d_model vector per head) "L{l}.head_out"
        resid    = resid + head_out.sum(over heads)     "L{l+1}.resid_pre" (last: "resid_final")
    logits = LN_f(resid) @ W_U + b_U

Every quoted name is a hook point. Shapes ([batch, ...]):

    L{l}.resid_pre            [B, T, d_model]
    L{l}.q / .k / .v / .z     [B, H, T, d_head]
    L{l}.pattern              [B, H, T_query, T_key]   (rows sum to 1; causal)
    L{l}.head_out             [B, H, T, d_model]       (what head h adds to the residual stream)
    resid_final               [B, T, d_model]

Typical use::

    from model import load_model, make_batch
    model = load_model()
    tokens, mask = make_batch(np.random.default_rng(0), 256)
    logits, cache = model.run_with_cache(torch.from_numpy(tokens))
    cache["L0.pattern"]                 # [256, 4, 64, 64]

    def zero_head_2(x):                 # a hook gets the tensor and returns a replacement
        x = x.clone(); x[:, 2] = 0.0; return x
    logits = model(torch.from_numpy(tokens), hooks={"L0.head_out": zero_head_2})
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch import nn

HERE = Path(__file__).resolve().parent

CONFIG = {
    "vocab_size": 128,  # token 0 is BOS; ordinary tokens are 1..127
    "n_ctx": 64,  # every sequence is exactly 64 tokens long, BOS first
    "d_model": 64,
    "n_heads": 4,
    "d_head": 16,
    "n_layers": 2,
    "ln": 1,  # LayerNorm before each layer's attention input and before the unembedding
}
BOS = 0

# Data generator parameters (see make_batch).
SEG_MIN, SEG_MAX = 12, 30  # length of the repeated segment

Hook = Callable[[torch.Tensor], "torch.Tensor | None"]


class AttnOnlyTransformer(nn.Module):
    def __init__(self, config: dict[str, int] | None = None) -> None:
        super().__init__()
        c = dict(CONFIG if config is None else config)
        self.config = c
        d, h, dh, v, n = c["d_model"], c["n_heads"], c["d_head"], c["vocab_size"], c["n_layers"]
        self.W_E = nn.Parameter(torch.randn(v, d) / d**0.5)
        self.W_pos = nn.Parameter(torch.randn(c["n_ctx"], d) / d**0.5)
        self.W_Q = nn.Parameter(torch.randn(n, h, d, dh) / d**0.5)
        self.W_K = nn.Parameter(torch.randn(n, h, d, dh) / d**0.5)
        self.W_V = nn.Parameter(torch.randn(n, h, d, dh) / d**0.5)
        self.W_O = nn.Parameter(torch.randn(n, h, dh, d) / (h * dh) ** 0.5)
        self.W_U = nn.Parameter(torch.randn(d, v) / d**0.5)
        self.b_U = nn.Parameter(torch.zeros(v))
        self.use_ln = bool(c.get("ln", 0))
        if self.use_ln:  # LayerNorm before each layer's attention and before the unembedding
            self.ln = nn.ModuleList([nn.LayerNorm(d) for _ in range(n + 1)])

    def forward(
        self,
        tokens: torch.Tensor,
        hooks: dict[str, Hook] | None = None,
        cache: dict[str, torch.Tensor] | None = None,
    ) -> torch.Tensor:
        """Logits [B, T, vocab]. `hooks` maps hook names to functions that may return a
        replacement tensor (or None to keep it); `cache`, if given, receives every hook
        point's value (after any hook ran)."""
        hooks = hooks or {}

        def hp(name: str, x: torch.Tensor) -> torch.Tensor:
            fn = hooks.get(name)
            if fn is not None:
                out = fn(x)
                if out is not None:
                    x = out
            if cache is not None:
                cache[name] = x
            return x

        tokens = torch.as_tensor(tokens, dtype=torch.long)
        t = tokens.shape[-1]
        resid = self.W_E[tokens] + self.W_pos[:t]
        causal = torch.ones(t, t, dtype=torch.bool, device=resid.device).tril()
        dh = self.config["d_head"]
        for layer in range(self.config["n_layers"]):
            resid = hp(f"L{layer}.resid_pre", resid)
            x = self.ln[layer](resid) if self.use_ln else resid
            q = hp(f"L{layer}.q", torch.einsum("btd,hde->bhte", x, self.W_Q[layer]))
            k = hp(f"L{layer}.k", torch.einsum("btd,hde->bhte", x, self.W_K[layer]))
            v = hp(f"L{layer}.v", torch.einsum("btd,hde->bhte", x, self.W_V[layer]))
            scores = (q @ k.transpose(-1, -2)) / dh**0.5
            scores = scores.masked_fill(~causal, float("-inf"))
            pattern = hp(f"L{layer}.pattern", scores.softmax(-1))
            z = hp(f"L{layer}.z", pattern @ v)
            head_out = hp(f"L{layer}.head_out", torch.einsum("bhte,hed->bhtd", z, self.W_O[layer]))
            resid = resid + head_out.sum(dim=1)
        resid = hp("resid_final", resid)
        if self.use_ln:
            resid = self.ln[-1](resid)
        return resid @ self.W_U + self.b_U

    def run_with_cache(
        self, tokens: torch.Tensor, hooks: dict[str, Hook] | None = None
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        cache: dict[str, torch.Tensor] = {}
        logits = self.forward(tokens, hooks=hooks, cache=cache)
        return logits, cache


def load_model(path: str | Path = HERE / "model.safetensors") -> AttnOnlyTransformer:
    """The trained model, in eval mode, on the CPU."""
    from safetensors.torch import load_file

    model = AttnOnlyTransformer()
    model.load_state_dict(load_file(str(path)))
    return model.eval()


def make_batch(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """n sequences with one repeated segment each, and the mask of induction positions.

    Each sequence: BOS, then 63 tokens drawn uniformly from 1..127. A segment of length
    L ~ U{12..30} starting at position a is copied to start at position b = a + offset, with
    the offset uniform in L..63-L (so the copies never overlap and b + L <= 64), then a
    uniform among the starts that fit; the copy overwrites what was there.

    Returns:
        tokens: int64 [n, 64].
        mask:   bool [n, 64]; mask[i, t] is True where the NEXT token, tokens[i, t + 1], is
                predictable by induction: t = b, ..., b + L - 2 (the current token is inside
                the second copy and the next token is too).
    """
    t_len = CONFIG["n_ctx"]
    tokens = rng.integers(1, CONFIG["vocab_size"], size=(n, t_len))
    tokens[:, 0] = BOS
    mask = np.zeros((n, t_len), dtype=bool)
    for i in range(n):
        seg = int(rng.integers(SEG_MIN, SEG_MAX + 1))
        offset = int(rng.integers(seg, t_len - seg))  # b - a, uniform in seg..63-seg
        a = int(rng.integers(1, t_len - seg - offset + 1))
        b = a + offset
        tokens[i, b : b + seg] = tokens[i, a : a + seg]
        mask[i, b : b + seg - 1] = True
    return tokens.astype(np.int64), mask
