"""Low-density separation by entropy minimisation (Grandvalet & Bengio 2005), in torch.

A linear head on the standardised embedding starts by imitating the weak soft labels (binary
cross-entropy), which points it roughly at the concept. The loss is then ramped from that
imitation term to the mean prediction entropy on the same (unlabelled) points. Minimising the
entropy pushes the decision boundary away from the data, i.e. into a low-density region. The
embedding has a wide gap between the classes, while the weak boundary is a tilted hyperplane
through dense regions of both classes, so the boundary slides from the tilt into the gap. At
the end the weak labels no longer enter the loss at all: they only chose the starting basin.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F

STEPS = 600
RAMP = 200  # steps over which the loss moves from weak-label imitation to entropy
LR = 0.05


def train_student(
    features: np.ndarray, weak_prob: np.ndarray, seed: int
) -> Callable[[np.ndarray], np.ndarray]:
    torch.manual_seed(seed)
    torch.set_num_threads(1)
    x = torch.as_tensor(np.asarray(features), dtype=torch.float64)
    target = torch.as_tensor(np.asarray(weak_prob), dtype=torch.float64).clamp(0.0, 1.0)
    mean, std = x.mean(0), x.std(0).clamp_min(1e-6)
    xs = (x - mean) / std

    head = torch.nn.Linear(xs.shape[1], 1).double()
    opt = torch.optim.Adam(head.parameters(), lr=LR)
    for step in range(STEPS):
        lam = min(1.0, step / RAMP)
        logit = head(xs).squeeze(1)
        p = torch.sigmoid(logit)
        imitation = F.binary_cross_entropy_with_logits(logit, target)
        entropy = -(p * F.logsigmoid(logit) + (1 - p) * F.logsigmoid(-logit)).mean()
        loss = (1 - lam) * imitation + lam * entropy
        opt.zero_grad()
        loss.backward()
        opt.step()

    with torch.no_grad():
        w = head.weight.squeeze(0).clone()
        b = head.bias.clone()

    def predict(z: np.ndarray) -> np.ndarray:
        zt = (torch.as_tensor(np.asarray(z), dtype=torch.float64) - mean) / std
        with torch.no_grad():
            return torch.sigmoid(zt @ w + b).numpy()

    return predict
