"""FactNet: the model that knows the facts, how it is measured, and the relearning attack.

The grader uses this very file: it loads your unlearned weights into `FactNet` (your code is
never imported in the check phase) and measures them with `accuracy` and `relearn_attack`.

A fact is a triple (subject, relation, value): subject in 0..399, relation in 0..3, value in
0..15. The model reads a (subject, relation) pair and predicts the value (16-way): it embeds
the subject and the relation, concatenates them and applies a 2-hidden-layer GELU MLP whose
output head has one block of 16 logits per relation.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

KIT = Path(__file__).resolve().parent
N_SUBJECTS, N_RELATIONS, N_VALUES = 400, 4, 16
D_EMBED, D_HIDDEN = 32, 128

# The relearning attack the grader runs (instructions.md, "How it is scored").
ATTACK_STEPS, ATTACK_LR = 100, 3e-3


class FactNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.subject = nn.Embedding(N_SUBJECTS, D_EMBED)
        self.relation = nn.Embedding(N_RELATIONS, D_EMBED)
        self.fc1 = nn.Linear(2 * D_EMBED, D_HIDDEN)
        self.fc2 = nn.Linear(D_HIDDEN, D_HIDDEN)
        self.out = nn.Linear(D_HIDDEN, N_RELATIONS * N_VALUES)

    def hidden(self, subject: torch.Tensor, relation: torch.Tensor) -> torch.Tensor:
        """The last hidden layer (batch, D_HIDDEN)."""
        x = torch.cat([self.subject(subject), self.relation(relation)], dim=-1)
        return F.gelu(self.fc2(F.gelu(self.fc1(x))))

    def forward(self, subject: torch.Tensor, relation: torch.Tensor) -> torch.Tensor:
        """Logits over the 16 values of each row's relation: (batch, N_VALUES)."""
        logits = self.out(self.hidden(subject, relation)).view(-1, N_RELATIONS, N_VALUES)
        return logits[torch.arange(len(subject)), relation]


def expected_shapes() -> dict[str, tuple[int, ...]]:
    """Parameter name -> shape of a FactNet state dict (what the grader accepts)."""
    return {k: tuple(v.shape) for k, v in FactNet().state_dict().items()}


def load_model(path: Path | str = KIT / "model.safetensors") -> FactNet:
    """A FactNet with the weights in `path` (safetensors), in eval mode."""
    from safetensors.torch import load_file

    model = FactNet()
    model.load_state_dict(load_file(str(path)))
    return model.eval()


def save_model(model: FactNet, path: Path | str) -> None:
    from safetensors.torch import save_file

    state = {k: v.detach().clone().contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(path))


def load_facts(name: str) -> torch.Tensor:
    """The kit's facts: "forget" or "retain" (a (n, 3) long tensor of subject, relation, value)."""
    data = json.loads((KIT / "data" / f"{name}.json").read_text(encoding="utf-8"))
    return torch.tensor(data["facts"], dtype=torch.long).view(-1, 3)


def accuracy(model: nn.Module, facts: torch.Tensor) -> float:
    """Share of facts whose value is the model's top prediction."""
    facts = torch.as_tensor(facts, dtype=torch.long).view(-1, 3)
    with torch.no_grad():
        pred = model(facts[:, 0], facts[:, 1]).argmax(-1)
    return float((pred == facts[:, 2]).float().mean())


def fit(model: nn.Module, facts: torch.Tensor, *, steps: int, lr: float, seed: int = 0) -> None:
    """Full-batch Adam on the cross-entropy of `facts`, every parameter trained, in place."""
    torch.manual_seed(seed)
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    s, r, v = facts[:, 0], facts[:, 1], facts[:, 2]
    for _ in range(steps):
        loss = F.cross_entropy(model(s, r), v)
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()


def relearn_attack(
    model: FactNet,
    relearn: torch.Tensor,
    retain: torch.Tensor,
    *,
    steps: int = ATTACK_STEPS,
    lr: float = ATTACK_LR,
    seed: int = 0,
) -> FactNet:
    """The grader's attack: fine-tune a copy on `relearn` (forget facts) plus `retain` facts.

    Full-batch Adam (lr 3e-3) for 100 steps on all parameters; returns the attacked copy.
    Then measure it on forget facts that were NOT in `relearn`.
    """
    attacked = copy.deepcopy(model)
    fit(attacked, torch.cat([relearn, retain]), steps=steps, lr=lr, seed=seed)
    return attacked
