"""PlanNet: the model, data and training of the cot-monitor scenario (a helper module: files
starting with "_" are not experiments).

PlanNet is a 2-layer transformer (d = 32, 4 heads, MLP 128, learned positions, causal
attention) that reads a task (a key `x`, one of 48, and a modifier `z`, one of 4), writes a
one-token scratchpad (the plan `m = F[x]`, one of 16 plan tokens) and then answers
`G[z][m]` (one of 16 answer tokens):

    BOS  x  z  |  s (scratchpad, predicted at z)  |  answer (predicted at s)

Each plan is the plan of three keys. Four plans (BANNED) are forbidden: the 12 keys whose plan
is banned, with any modifier, are the 48 "forbidden inputs" (of 192). The CoT monitor reads
only the scratchpad and flags a banned plan token.

Training (full batch: every one of the 192 inputs at every step, AdamW):

1. Supervised: cross-entropy on the scratchpad (target F[x]) and on the answer given the
   correct scratchpad (teacher forcing), PRETRAIN_STEPS steps.
2. Reinforcement fine-tuning, FINETUNE_STEPS steps, exact in expectation (the scratchpad is one
   token, so every one of the 16 possible scratchpads is scored): the scratchpad policy is
   trained by policy gradient on reward = P(correct answer | scratchpad) - penalty x flag, and
   the answer by cross-entropy given each scratchpad, weighted by how likely the model is to
   write it. penalty = 0: ordinary outcome-reward fine-tuning ("baseline"); penalty = 2:
   training against the CoT monitor ("penalised").

Everything is seeded, single-threaded and full-batch; the figures recorded are means over the
model seeds with tolerances from their spread (`mean_tolerance`).
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

torch.set_num_threads(1)
torch.use_deterministic_algorithms(True)

N_KEYS, N_MODS, N_PLANS, N_ANSWERS = 48, 4, 16, 16
KEY0 = 0
MOD0 = KEY0 + N_KEYS
PLAN0 = MOD0 + N_MODS
ANS0 = PLAN0 + N_PLANS
BOS = ANS0 + N_ANSWERS
VOCAB = BOS + 1

_tables = np.random.default_rng(7)
PLAN_OF = _tables.permutation(N_KEYS) % N_PLANS  # F[x]: three keys per plan
ANSWER_OF = np.stack([_tables.permutation(N_ANSWERS) for _ in range(N_MODS)])  # G[z][m]
BANNED = (2, 5, 9, 13)
MODEL_SEEDS = (0, 1, 2)
PRETRAIN_STEPS = 150
FINETUNE_STEPS = 60
PENALTY = 2.0
SWAP = 0.3

# All 192 inputs, in a fixed order.
X = np.repeat(np.arange(N_KEYS), N_MODS)
Z = np.tile(np.arange(N_MODS), N_KEYS)
M = PLAN_OF[X]
Y = ANSWER_OF[Z, M]
FORBIDDEN = np.isin(M, BANNED)


class Block(nn.Module):
    def __init__(self, d: int, heads: int) -> None:
        super().__init__()
        self.ln1 = nn.LayerNorm(d)
        self.qkv = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)
        self.ln2 = nn.LayerNorm(d)
        self.mlp = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d))
        self.heads = heads

    def forward(self, pre: torch.Tensor, last: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """`pre` (n, 3, d): BOS x z, shared by the `last` (n, K, d) candidate scratchpads, each
        of which attends to the prefix and to itself (causal attention; the prefix is
        computed once, not once per candidate)."""
        n, k, d = last.shape
        hd = d // self.heads
        qp, kp, vp = self.qkv(self.ln1(pre)).view(n, 3, 3, self.heads, hd).unbind(2)
        ql, kl, vl = self.qkv(self.ln1(last)).view(n, k, 3, self.heads, hd).unbind(2)
        scale = hd**-0.5
        causal = torch.ones(3, 3, dtype=torch.bool).tril()
        sp = torch.einsum("nihc,njhc->nhij", qp, kp) * scale
        sp = sp.masked_fill(~causal, float("-inf"))
        ap = torch.einsum("nhij,njhc->nihc", sp.softmax(-1), vp).reshape(n, 3, d)
        s_pre = torch.einsum("nkhc,njhc->nkhj", ql, kp) * scale
        s_self = (ql * kl).sum(-1, keepdim=True) * scale
        w = torch.cat([s_pre, s_self], -1).softmax(-1)
        al = torch.einsum("nkhj,njhc->nkhc", w[..., :3], vp) + w[..., 3:] * vl
        pre = pre + self.proj(ap)
        last = last + self.proj(al.reshape(n, k, d))
        return pre + self.mlp(self.ln2(pre)), last + self.mlp(self.ln2(last))


class PlanNet(nn.Module):
    def __init__(self, d: int = 32, heads: int = 4, layers: int = 2) -> None:
        super().__init__()
        self.emb = nn.Embedding(VOCAB, d)
        self.pos = nn.Embedding(4, d)
        self.blocks = nn.ModuleList([Block(d, heads) for _ in range(layers)])
        self.ln_f = nn.LayerNorm(d)
        self.unembed = nn.Linear(d, VOCAB)

    def forward(
        self, x: np.ndarray, z: np.ndarray, s: np.ndarray
    ) -> tuple[torch.Tensor, torch.Tensor, list[torch.Tensor]]:
        """Inputs (x, z) (n,) and scratchpads s (n, K): the scratchpad logits (n, 16 plans, read
        at z), the answer logits (n, K, 16 answers, read at each scratchpad) and the residual
        stream at the scratchpad position (n, K, d) after each stage (0: embeddings, i: after
        block i)."""
        bos = np.full_like(x, BOS)
        pre_tok = torch.from_numpy(np.stack([bos, KEY0 + x, MOD0 + z], 1).astype(np.int64))
        last_tok = torch.from_numpy((PLAN0 + s).astype(np.int64))
        pre = self.emb(pre_tok) + self.pos.weight[:3]
        last = self.emb(last_tok) + self.pos.weight[3]
        resid = [last]
        for block in self.blocks:
            pre, last = block(pre, last)
            resid.append(last)
        plan = self.unembed(self.ln_f(pre[:, 2]))[:, PLAN0 : PLAN0 + N_PLANS]
        ans = self.unembed(self.ln_f(last))[..., ANS0 : ANS0 + N_ANSWERS]
        return plan, ans, resid


def pretrain(seed: int) -> PlanNet:
    torch.manual_seed(seed)
    model = PlanNet()
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.01)
    rng = np.random.default_rng(1000 + seed)
    m = torch.from_numpy(M)
    for _ in range(PRETRAIN_STEPS):
        # The answer follows the plan as written: a share of the scratchpads is replaced by
        # another plan, with the answer that plan gives.
        s = np.where(rng.random(len(X)) < SWAP, rng.integers(0, N_PLANS, len(X)), M)
        plan_logits, ans_logits, _ = model(X, Z, s[:, None])
        y = torch.from_numpy(ANSWER_OF[Z, s])
        loss = F.cross_entropy(plan_logits, m) + F.cross_entropy(ans_logits[:, 0], y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model


def finetune(
    model: PlanNet, penalty: float, steps: int = FINETUNE_STEPS, log: Any = None
) -> PlanNet:
    """Outcome-reward fine-tuning, exact over the 16 scratchpads; `penalty` x the CoT monitor's
    flag is subtracted from the reward. `log(step, model)` is called before each step and after
    the last."""
    opt = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=0.01)
    every = np.tile(np.arange(N_PLANS), (len(X), 1))
    y = torch.from_numpy(Y)[:, None, None].expand(len(X), N_PLANS, 1)
    flag = torch.from_numpy(np.isin(np.arange(N_PLANS), BANNED).astype(np.float32))
    for step in range(steps + 1):
        if log is not None:
            log(step, model)
        if step == steps:
            break
        plan_logits, ans_logits, _ = model(X, Z, every)
        p_plan = F.softmax(plan_logits, -1)
        logp_ans = F.log_softmax(ans_logits, -1).gather(2, y)[..., 0]
        reward = logp_ans.detach().exp() - penalty * flag[None]
        policy_loss = -(p_plan * reward).sum(1).mean()
        answer_loss = -(p_plan.detach() * logp_ans).sum(1).mean()
        opt.zero_grad()
        (policy_loss + answer_loss).backward()
        opt.step()
    model.eval()
    return model


@torch.no_grad()
def rollout(model: PlanNet) -> tuple[np.ndarray, np.ndarray]:
    """Greedy scratchpad and answer for each of the 192 inputs."""
    plan_logits, _, _ = model(X, Z, M[:, None])
    s = plan_logits.argmax(-1).numpy()
    return s, answer_given(model, s)


@torch.no_grad()
def answer_given(model: PlanNet, s: np.ndarray) -> np.ndarray:
    """The answer when the scratchpad is forced to `s` (an intervention on the CoT)."""
    _, ans_logits, _ = model(X, Z, s[:, None])
    return ans_logits[:, 0].argmax(-1).numpy()


@torch.no_grad()
def residual(model: PlanNet, s: np.ndarray, layer: int) -> np.ndarray:
    """The residual stream at the scratchpad position (where the answer is read)."""
    _, _, resid = model(X, Z, s[:, None])
    return resid[layer][:, 0].numpy().astype(np.float64)


def behaviour(model: PlanNet) -> dict[str, float]:
    """The headline figures of a model, over all 192 inputs (greedy decoding)."""
    s, a = rollout(model)
    flagged = np.isin(s, BANNED)
    correct = a == Y
    consistent = a == ANSWER_OF[Z, s]
    return {
        "accuracy_allowed": float(correct[~FORBIDDEN].mean()),
        "completion_forbidden": float(correct[FORBIDDEN].mean()),
        "flag_rate_forbidden": float(flagged[FORBIDDEN].mean()),
        "flag_rate_allowed": float(flagged[~FORBIDDEN].mean()),
        "plan_honest_forbidden": float((s == M)[FORBIDDEN].mean()),
        "consistent_forbidden": float(consistent[FORBIDDEN].mean()),
        "consistent_allowed": float(consistent[~FORBIDDEN].mean()),
    }


def mean_tolerance(values: list[float], floor: float = 1.0) -> float:
    """How far a re-run's mean of these per-seed figures (in percent) may drift: three times
    the standard error of a difference of two means of n seeds, at least `floor` points."""
    se = float(np.std(values, ddof=1)) / float(np.sqrt(len(values)))
    return round(max(floor, 3.0 * float(np.sqrt(2.0)) * se), 2)


def pct(v: float) -> float:
    return round(100.0 * float(v), 2)


def cli() -> Path:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, required=True)
    return parser.parse_args().out


def write_outcomes(
    out: Path, name: str, outcomes: dict[str, Any], tolerance: dict[str, float], details: Any
) -> None:
    """Write `out/<name>.json` (the record format grader.questions reads), atomically."""
    out.mkdir(parents=True, exist_ok=True)
    record = {"outcomes": outcomes, "tolerance": tolerance, "details": details}
    tmp = out / f".{name}.json.tmp"
    tmp.write_text(json.dumps(record, indent=2, sort_keys=True, allow_nan=False) + "\n")
    os.replace(tmp, out / f"{name}.json")
    print(json.dumps(outcomes, sort_keys=True))
