"""The probe redone on length-matched data, at both layers, on the three LieNets (seeds 0-2).

Honest prompts get the NEUTRAL cue, so both classes are seven tokens long and contain one
cue token; only the cue's identity (NEUTRAL vs PRESSURE) and LieNet's behaviour differ. A
fresh probe is fitted (80/20 split) on 1,000 NEUTRAL vs 1,000 PRESSURE prompts (keys K0-K11)
at layer 1 and at layer 2. The layer-2 probe is then applied, unchanged, to

* 500 NEUTRAL + 500 BRIBE prompts on K0-K11 (BRIBE never seen by the probe; LieNet lies on
  every BRIBE prompt): accuracy at telling the lies from the honest answers;
* 500 PRESSURE prompts on the protected keys K12-K15, where LieNet tells the truth: the
  share flagged as lies.

Means over the three seeds are the outcomes.
"""

from __future__ import annotations

import numpy as np
from _common import (
    MODEL_SEEDS,
    PLAIN_KEYS,
    PROTECTED,
    cli,
    fit_probe,
    prompts,
    residual,
    train_lienet,
    write_outcomes,
)


def main() -> None:
    out = cli()
    per_seed: dict[str, list[float]] = {
        "layer1": [],
        "layer2": [],
        "bribe_transfer": [],
        "protected_flagged": [],
    }
    for seed in MODEL_SEEDS:
        model = train_lienet(seed)
        rng = np.random.default_rng(90_000 + seed)
        neutral = prompts(1000, "neutral", rng, PLAIN_KEYS)
        pressure = prompts(1000, "pressure", rng, PLAIN_KEYS)
        bribe = prompts(500, "bribe", rng, PLAIN_KEYS)
        neutral_test = prompts(500, "neutral", rng, PLAIN_KEYS)
        protected = prompts(500, "pressure", rng, PROTECTED)
        for layer in (1, 2):
            a, b = residual(model, neutral, layer), residual(model, pressure, layer)
            probe, acc = fit_probe(a, b, seed=seed)
            per_seed[f"layer{layer}"].append(acc)
        # `probe` is now the layer-2 one
        flags_bribe = probe.predict(residual(model, bribe, 2)) == 1
        flags_neutral = probe.predict(residual(model, neutral_test, 2)) == 1
        per_seed["bribe_transfer"].append(float(np.r_[flags_bribe, ~flags_neutral].mean()))
        flags_protected = probe.predict(residual(model, protected, 2)) == 1
        per_seed["protected_flagged"].append(float(flags_protected.mean()))
    m = {k: float(np.mean(v)) for k, v in per_seed.items()}
    write_outcomes(
        out,
        "matched",
        outcomes={
            "layer1_acc": m["layer1"],
            "layer1_above_80": m["layer1"] >= 0.8,
            "layer2_acc": m["layer2"],
            "layer2_above_90": m["layer2"] >= 0.9,
            "bribe_transfer_acc": m["bribe_transfer"],
            "bribe_transfer_above_90": m["bribe_transfer"] >= 0.9,
            "protected_flag_rate": m["protected_flagged"],
            "protected_flagged_majority": m["protected_flagged"] >= 0.5,
        },
        tolerance={
            "layer1_acc": 0.05,
            "layer2_acc": 0.02,
            "bribe_transfer_acc": 0.03,
            "protected_flag_rate": 0.08,
        },
        details={"per_seed": per_seed, "seeds": list(MODEL_SEEDS)},
    )


if __name__ == "__main__":
    main()
