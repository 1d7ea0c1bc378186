"""Visible self-checks (run with `assess check`, or `python -m pytest -q tests` in this folder).

They check that probe.py has the right shape and that your probe does well on the public
validation split (data/val.npz). The grader scores it on held-out sequences instead.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

KIT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(KIT))

import probe  # noqa: E402
from model import CONFIG, load_data, load_model, residual_stream  # noqa: E402

VAL_TARGET = 0.9

Fitted = tuple[np.ndarray, float, np.ndarray, np.ndarray]  # weight, bias, val acts, val labels


@pytest.fixture(scope="module")
def fitted() -> Fitted:
    model = load_model()
    tokens, labels = load_data(KIT / "data" / "train.npz")
    acts = residual_stream(model, tokens)[:, probe.LAYER]
    weight, bias = probe.fit(acts.copy(), labels.copy())
    val_tokens, val_labels = load_data(KIT / "data" / "val.npz")
    val_acts = residual_stream(model, val_tokens)[:, probe.LAYER]
    return np.asarray(weight), bias, val_acts, val_labels


def test_layer_is_valid() -> None:
    layer = probe.LAYER
    assert isinstance(layer, int) and not isinstance(layer, bool), "LAYER must be an int"
    assert 0 <= layer <= CONFIG["n_layers"], f"LAYER must be in 0..{CONFIG['n_layers']}"


def test_fit_returns_weight_and_bias(fitted: Fitted) -> None:
    weight, bias, _, _ = fitted
    assert weight.shape == (CONFIG["d_model"],), f"weight shape {weight.shape}, want (64,)"
    assert np.issubdtype(weight.dtype, np.floating), "weight must be a float array"
    assert np.all(np.isfinite(weight)), "weight has NaN or inf"
    assert np.ndim(bias) == 0 and np.isfinite(float(bias)), "bias must be a finite float"


def test_validation_accuracy(fitted: Fitted) -> None:
    weight, bias, val_acts, val_labels = fitted
    pred = (val_acts.astype(np.float64) @ weight.astype(np.float64) + float(bias)) > 0
    acc = float((pred == val_labels).mean())
    assert acc >= VAL_TARGET, (
        f"validation accuracy {acc:.3f} at LAYER={probe.LAYER} (this self-check wants "
        f">= {VAL_TARGET})"
    )
