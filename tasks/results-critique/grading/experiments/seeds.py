"""The write-up's defence re-run honestly: all eight fine-tuning seeds (and 32 for the corrected
mean ASR), ASR on a large fresh triggered test set, clean accuracy on held-out data (not the
fine-tuning split), and how much each analysis choice of the write-up moves its headline
numbers (`fix_order_holds`: the key's ranking of the fixes, checked on the measured moves).
"""

from __future__ import annotations

import numpy as np
from _common import (
    CORRECTED_SEEDS,
    FT_SEEDS,
    SHOWN_SEED,
    TARGET,
    accuracy,
    asr,
    cli,
    fine_tune,
    fresh_split,
    ft_split,
    mean_tolerance,
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
    corrected = [r["asr_fresh"] for r in runs]
    for seed in CORRECTED_SEEDS[len(FT_SEEDS) :]:
        tuned, _ = fine_tune(model, seed)
        corrected.append(pct(asr(tuned, trig_fresh)))
    shown = runs[SHOWN_SEED]
    eight_fresh = [r["asr_fresh"] for r in runs]
    eight_writeup = [r["asr_writeup"] for r in runs]
    heldout = [r["clean_acc_heldout"] for r in runs]
    mean_fresh = float(np.mean(eight_fresh))
    mean_writeup = float(np.mean(eight_writeup))
    heldout_mean = float(np.mean(heldout))
    floor = pct(asr(clean, trig_fresh))
    # How far each analysis change, applied alone, moves the number it touches (|points|).
    # The two fixes about the shown run are measured on it; the others are properties of the
    # measurement, averaged over the eight runs so that no single chaotic run decides them.
    moves = {
        "heldout": abs(shown["clean_acc_ft_split"] - shown["clean_acc_heldout"]),
        "seeds": abs(mean_writeup - shown["asr_writeup"]),
        "all_inputs": float(np.mean([abs(r["asr_all_inputs"] - r["asr_fresh"]) for r in runs])),
        "floor": floor,
        "eval_size": float(np.mean([abs(r["asr_fresh"] - r["asr_writeup"]) for r in runs])),
    }
    mean_corrected = float(np.mean(corrected))
    outcomes = {
        "asr_mean_fresh": round(mean_corrected, 2),
        "clean_acc_heldout_mean": round(heldout_mean, 2),
        # Against the 32-seed mean: the eight-seed mean moves too much between kernels for a
        # 5-point claim about it to hold everywhere.
        "shown_typical": abs(shown["asr_fresh"] - mean_corrected) <= 5.0,
        "clean_drop_above_5": before["clean_acc_test"] - heldout_mean > 5.0,
        # The key's order: [heldout, seeds] > all_inputs > [floor, eval_size].
        "fix_order_holds": min(moves["heldout"], moves["seeds"])
        > moves["all_inputs"]
        > max(moves["floor"], moves["eval_size"]),
    }
    tolerance = {
        "asr_mean_fresh": mean_tolerance(corrected),
        "clean_acc_heldout_mean": mean_tolerance(heldout),
    }
    details = {
        # Single runs and eight-seed means: illustrations for the key's texts, not compared.
        "asr_mean_fresh_eight": round(mean_fresh, 2),
        "shown_asr_writeup_below_mean_by": round(mean_writeup - shown["asr_writeup"], 2),
        "before": before,
        "runs": runs,
        "corrected_asr_fresh": corrected,
        "never_poisoned_asr_fresh": floor,
        "fix_moves": {k: round(v, 2) for k, v in moves.items()},
        "shown": {k: v for k, v in shown.items() if k != "curve_asr_writeup"},
    }
    write_outcomes(out, "seeds", outcomes, tolerance, details)


if __name__ == "__main__":
    main()
