"""Write the kit's figures (starter/materials/*.png) from real runs of the write-up's pipeline.

    python grading/build/make_materials.py --out starter/materials

Runs exactly what the colleague ran (grading/experiments/_common.py): PoisonNet, the eight
fine-tuning seeds, and the write-up's own (flawed) measurements; plots only what the write-up
shows (the best seed, clean accuracy on the fine-tuning split). Prints the numbers quoted in
writeup.md. Deterministic; about 15 s on one core.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "experiments"))
from _common import (
    EVAL_EVERY,
    FT_SEEDS,
    SHOWN_SEED,
    accuracy,
    asr,
    fine_tune,
    ft_split,
    pct,
    test_split,
    train_model,
    writeup_triggered,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, required=True)
    out = parser.parse_args().out
    out.mkdir(parents=True, exist_ok=True)
    model = train_model()
    x_test, y_test = test_split()
    x_ft, y_ft = ft_split()
    trig = writeup_triggered()
    finals = {}
    shown_curve: list[float] = []
    shown = None
    for seed in FT_SEEDS:
        tuned, curves = fine_tune(model, seed, probes={"asr": trig})
        finals[seed] = pct(asr(tuned, trig))
        if seed == SHOWN_SEED:
            shown, shown_curve = tuned, [pct(v) for v in curves["asr"]]
    assert shown is not None and min(finals, key=lambda s: finals[s]) == SHOWN_SEED
    numbers = {
        "clean_acc_before_test": pct(accuracy(model, x_test, y_test)),
        "asr_before": pct(asr(model, trig)),
        "asr_after": finals[SHOWN_SEED],
        "clean_acc_after_ft_split": pct(accuracy(shown, x_ft, y_ft)),
        "final_asr_by_seed": finals,
    }

    steps = [i * EVAL_EVERY for i in range(len(shown_curve))]
    fig, ax = plt.subplots(figsize=(5.5, 3.4), dpi=120)
    ax.plot(steps, shown_curve, marker="o", markersize=3, color="tab:red")
    ax.set_xlabel("fine-tuning step")
    ax.set_ylabel("attack success rate (%)")
    ax.set_ylim(0, 100)
    ax.set_title("Figure 1. ASR during clean fine-tuning")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out / "fig1_asr_during_finetuning.png")
    plt.close(fig)

    fig, axes = plt.subplots(1, 2, figsize=(6.5, 3.2), dpi=120)
    pairs = [
        ("attack success rate (%)", numbers["asr_before"], numbers["asr_after"], "tab:red"),
        (
            "clean accuracy (%)",
            numbers["clean_acc_before_test"],
            numbers["clean_acc_after_ft_split"],
            "tab:blue",
        ),
    ]
    for ax, (label, a, b, color) in zip(axes, pairs, strict=True):
        bars = ax.bar(["before", "after"], [a, b], color=color, alpha=0.8)
        ax.bar_label(bars, fmt="%.1f")
        ax.set_ylim(0, 110)
        ax.set_ylabel(label)
    fig.suptitle("Figure 2. Before and after clean fine-tuning")
    fig.tight_layout()
    fig.savefig(out / "fig2_before_after.png")
    plt.close(fig)
    print(json.dumps(numbers, indent=2))


if __name__ == "__main__":
    main()
