"""Controls for the probe's accuracy, on the three LieNets (seeds 0, 1, 2); means reported.

* layer0: the same probe on the residual stream before block 1 (token + position embedding
  at the ASK position: no attention has moved any information there yet);
* untrained: the same probe at layer 1 of an untrained LieNet (random weights);
* shuffled: the same probe at layer 1, trained with shuffled labels, tested on true labels.

The length-matched probes are in matched.py.
"""

from __future__ import annotations

import numpy as np
from _common import (
    MODEL_SEEDS,
    PROBE_LAYER,
    cli,
    colleague_data,
    fit_probe,
    residual,
    train_lienet,
    untrained_lienet,
    write_outcomes,
)


def main() -> None:
    out = cli()
    per_seed: dict[str, list[float]] = {"layer0": [], "untrained": [], "shuffled": []}
    for seed in MODEL_SEEDS:
        model = train_lienet(seed)
        honest, pressure = colleague_data(seed)
        a0, b0 = residual(model, honest, 0), residual(model, pressure, 0)
        per_seed["layer0"].append(fit_probe(a0, b0, seed=seed)[1])
        blank = untrained_lienet(seed)
        au, bu = residual(blank, honest, PROBE_LAYER), residual(blank, pressure, PROBE_LAYER)
        per_seed["untrained"].append(fit_probe(au, bu, seed=seed)[1])
        a1, b1 = residual(model, honest, PROBE_LAYER), residual(model, pressure, PROBE_LAYER)
        per_seed["shuffled"].append(fit_probe(a1, b1, shuffle_labels=True, seed=seed)[1])
    mean = {k: float(np.mean(v)) for k, v in per_seed.items()}
    write_outcomes(
        out,
        "probe_controls",
        outcomes={
            "layer0_acc": mean["layer0"],
            "layer0_high": mean["layer0"] >= 0.9,
            "untrained_acc": mean["untrained"],
            "untrained_high": mean["untrained"] >= 0.9,
            "shuffled_acc": mean["shuffled"],
            "shuffled_above_70": mean["shuffled"] >= 0.7,
        },
        tolerance={
            "layer0_acc": 0.03,
            "untrained_acc": 0.03,
            "shuffled_acc": 0.05,
        },
        details={"per_seed": per_seed, "seeds": list(MODEL_SEEDS)},
    )


if __name__ == "__main__":
    main()
