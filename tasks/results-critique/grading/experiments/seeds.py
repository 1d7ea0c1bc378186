"""The write-up's defence re-run honestly: all eight fine-tuning seeds, ASR on a large fresh
triggered test set, clean accuracy on held-out data (not the fine-tuning split), and how much
each analysis choice of the write-up moves its headline numbers.
"""

from __future__ import annotations

import numpy as np
from _common import (
    FT_SEEDS,
    SHOWN_SEED,
    TARGET,
    accuracy,
    asr,
    cli,
    fine_tune,
    fresh_split,
    ft_split,
    pct,
    predict,
    stamp,
    test_split,
    train_model,
    triggered,
    write_outcomes,
    writeup_triggered,
)


def main() -> None:
    out = cli()
    model = train_model()
    clean = train_model(poisoned=False)
    x_test, y_test = test_split()
    x_ft, y_ft = ft_split()
    x_fresh, y_fresh = fresh_split()
    trig_writeup = writeup_triggered()
    trig_fresh = triggered(x_fresh, y_fresh)
    trig_all = stamp(x_fresh)  # target-class inputs included
    before = {
        "clean_acc_test": pct(accuracy(model, x_test, y_test)),
        "clean_acc_fresh": pct(accuracy(model, x_fresh, y_fresh)),
        "asr_writeup": pct(asr(model, trig_writeup)),
        "asr_fresh": pct(asr(model, trig_fresh)),
    }
    runs = []
    for seed in FT_SEEDS:
        tuned, curves = fine_tune(model, seed, probes={"asr_writeup": trig_writeup})
        runs.append(
            {
                "seed": seed,
                "asr_writeup": pct(asr(tuned, trig_writeup)),
                "asr_fresh": pct(asr(tuned, trig_fresh)),
                "asr_all_inputs": pct(float((predict(tuned, trig_all) == TARGET).mean())),
                "clean_acc_ft_split": pct(accuracy(tuned, x_ft, y_ft)),
                "clean_acc_heldout": pct(accuracy(tuned, x_fresh, y_fresh)),
                "curve_asr_writeup": [pct(v) for v in curves["asr_writeup"]],
            }
        )
    shown = runs[SHOWN_SEED]
    best = min(runs, key=lambda r: (r["asr_writeup"], r["seed"]))
    mean_fresh = float(np.mean([r["asr_fresh"] for r in runs]))
    mean_writeup = float(np.mean([r["asr_writeup"] for r in runs]))
    heldout_mean = float(np.mean([r["clean_acc_heldout"] for r in runs]))
    floor = pct(asr(clean, trig_fresh))
    outcomes = {
        "shown_is_best": best["seed"] == SHOWN_SEED,
        "asr_shown": shown["asr_writeup"],
        "asr_mean_fresh": round(mean_fresh, 2),
        "asr_max_fresh": max(r["asr_fresh"] for r in runs),
        "clean_acc_shown_ft_split": shown["clean_acc_ft_split"],
        "clean_acc_heldout_mean": round(heldout_mean, 2),
        "shown_typical": abs(shown["asr_fresh"] - mean_fresh) <= 5.0,
        "clean_drop_above_5": before["clean_acc_test"] - heldout_mean > 5.0,
        # How far each analysis change, applied alone, moves the number it touches (|points|).
        "delta_heldout": round(abs(shown["clean_acc_ft_split"] - shown["clean_acc_heldout"]), 2),
        "delta_seeds": round(abs(mean_writeup - shown["asr_writeup"]), 2),
        "delta_all_inputs": round(abs(shown["asr_all_inputs"] - shown["asr_fresh"]), 2),
        "delta_floor": floor,
        "delta_eval_size": round(abs(shown["asr_fresh"] - shown["asr_writeup"]), 2),
    }
    numeric = [k for k, v in outcomes.items() if not isinstance(v, bool)]
    tolerance = {k: 1.0 for k in numeric}
    details = {"before": before, "runs": runs, "never_poisoned_asr_fresh": floor}
    write_outcomes(out, "seeds", outcomes, tolerance, details)


if __name__ == "__main__":
    main()
