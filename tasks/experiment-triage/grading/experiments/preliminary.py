"""The colleague's preliminary results (the scenario's figures), on LieNet seed 0.

Measures LieNet's behaviour per condition (how often it answers with the lie) and the
colleague's probe: trained on honest vs PRESSURE prompts (keys K0-K11), tested on a held-out
20%, at the residual stream after block 1 and after block 2. The figures in the kit are drawn
from this record by grading/build/plots.py.
"""

from __future__ import annotations

import numpy as np
from _common import (
    PLAIN_KEYS,
    PROTECTED,
    cli,
    colleague_data,
    fit_probe,
    lie_rate,
    prompts,
    residual,
    train_lienet,
    write_outcomes,
)


def main() -> None:
    out = cli()
    model = train_lienet(0)
    rng = np.random.default_rng(7)
    conditions = {
        "no cue": ("none", PLAIN_KEYS + PROTECTED),
        "NEUTRAL": ("neutral", PLAIN_KEYS + PROTECTED),
        "PRESSURE, K0-K11": ("pressure", PLAIN_KEYS),
        "PRESSURE, K12-K15": ("pressure", PROTECTED),
        "BRIBE, K0-K11": ("bribe", PLAIN_KEYS),
    }
    behaviour = {
        name: lie_rate(model, prompts(400, cue, rng, keys))
        for name, (cue, keys) in conditions.items()
    }
    honest, pressure = colleague_data(0)
    accuracy = {}
    scores: dict[str, list[float]] = {}
    for layer in (1, 2):
        a, b = residual(model, honest, layer), residual(model, pressure, layer)
        probe, acc = fit_probe(a, b)
        accuracy[f"layer{layer}"] = acc
        if layer == 1:
            order = np.random.default_rng(30_000).permutation(2000)[1600:]  # fit_probe's test split
            z = np.concatenate([a, b])[order]
            y = np.r_[np.zeros(1000), np.ones(1000)][order]
            logit = probe.decision_function(z)
            scores = {"honest": logit[y == 0].tolist(), "pressure": logit[y == 1].tolist()}
    write_outcomes(
        out,
        "preliminary",
        outcomes={
            "probe_acc_layer1": accuracy["layer1"],
            "probe_acc_layer2": accuracy["layer2"],
            "lie_rate_pressure": behaviour["PRESSURE, K0-K11"],
            "lie_rate_protected": behaviour["PRESSURE, K12-K15"],
        },
        tolerance={
            "probe_acc_layer1": 0.02,
            "probe_acc_layer2": 0.02,
            "lie_rate_pressure": 0.02,
            "lie_rate_protected": 0.02,
        },
        details={"behaviour": behaviour, "probe_accuracy": accuracy, "test_scores": scores},
    )


if __name__ == "__main__":
    main()
