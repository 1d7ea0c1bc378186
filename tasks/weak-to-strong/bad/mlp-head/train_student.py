"""A stronger head: a two-layer MLP on the embeddings, trained to fit the weak labels."""

from __future__ import annotations

import numpy as np
import torch


def train_student(features, weak_prob, seed):
    torch.manual_seed(seed)
    torch.set_num_threads(1)
    x = torch.tensor(features, dtype=torch.float32)
    t = torch.tensor((weak_prob > 0.5).astype(np.float32))
    model = torch.nn.Sequential(
        torch.nn.Linear(x.shape[1], 64),
        torch.nn.ReLU(),
        torch.nn.Linear(64, 64),
        torch.nn.ReLU(),
        torch.nn.Linear(64, 1),
    )
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(400):
        loss = torch.nn.functional.binary_cross_entropy_with_logits(model(x).squeeze(-1), t)
        opt.zero_grad()
        loss.backward()
        opt.step()

    def predict(z):
        with torch.no_grad():
            z = torch.tensor(np.asarray(z), dtype=torch.float32)
            return torch.sigmoid(model(z).squeeze(-1)).numpy()

    return predict
