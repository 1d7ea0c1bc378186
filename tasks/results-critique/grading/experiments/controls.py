"""Controls the write-up lacks, on the fresh triggered test set (means over seeds 0-7):

* shuffled: the same fine-tuning (steps, learning rate, inputs) with the 256 labels shuffled,
  so the data carries no clean signal: does ASR fall below 30% all the same?
* half_lr: the real defence at half the learning rate (6.5e-3).
* floor: how often a never-poisoned model (same data, no poison) puts triggered inputs in the
  target class.
"""

from __future__ import annotations

import numpy as np
from _common import (
    FT_LR,
    FT_SEEDS,
    accuracy,
    asr,
    cli,
    fine_tune,
    fresh_split,
    ft_split,
    mean_tolerance,
    pct,
    train_model,
    triggered,
    write_outcomes,
)


def main() -> None:
    out = cli()
    model = train_model()
    x_ft, y_ft = ft_split()
    x_fresh, y_fresh = fresh_split()
    trig = triggered(x_fresh, y_fresh)
    shuffled_y = np.random.default_rng(5).permutation(y_ft)
    rows = []
    for seed in FT_SEEDS:
        real, _ = fine_tune(model, seed)
        shuf, _ = fine_tune(model, seed, x=x_ft, y=shuffled_y)
        half, _ = fine_tune(model, seed, lr=FT_LR / 2)
        rows.append(
            {
                "seed": seed,
                "real_asr": pct(asr(real, trig)),
                "shuffled_asr": pct(asr(shuf, trig)),
                "shuffled_clean_acc": pct(accuracy(shuf, x_fresh, y_fresh)),
                "half_lr_asr": pct(asr(half, trig)),
                "half_lr_clean_acc": pct(accuracy(half, x_fresh, y_fresh)),
            }
        )
    clean = train_model(poisoned=False)
    floor = pct(asr(clean, trig))

    def mean(k: str) -> float:
        return round(float(np.mean([r[k] for r in rows])), 2)

    outcomes = {
        "real_asr_mean": mean("real_asr"),
        "shuffled_asr_mean": mean("shuffled_asr"),
        "shuffled_clean_acc_mean": mean("shuffled_clean_acc"),
        "half_lr_asr_mean": mean("half_lr_asr"),
        "floor_asr": floor,
        # The control removes the backdoor too (ASR from 97% to well under 30%) while it
        # wrecks the model. Not "at least as much as the real defence": the two means differ
        # by less than their spread between CPU kernels, so that comparison flips.
        "control_as_good": mean("shuffled_asr") < 30.0,
        "lower_lr_better": mean("half_lr_asr") < mean("real_asr"),
        "floor_above_5": floor > 5.0,
    }
    tolerance = {
        "real_asr_mean": mean_tolerance([r["real_asr"] for r in rows]),
        "shuffled_asr_mean": mean_tolerance([r["shuffled_asr"] for r in rows]),
        "shuffled_clean_acc_mean": mean_tolerance([r["shuffled_clean_acc"] for r in rows]),
        "half_lr_asr_mean": mean_tolerance([r["half_lr_asr"] for r in rows]),
        "floor_asr": 1.0,  # one never-poisoned model, far from chaos: 1.04-1.08 measured
    }
    write_outcomes(out, "controls", outcomes, tolerance, {"runs": rows})


if __name__ == "__main__":
    main()
