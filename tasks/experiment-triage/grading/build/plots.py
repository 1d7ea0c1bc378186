"""Draw the kit's figures from the colleague's preliminary run (a real, recorded run).

    python grading/experiments/preliminary.py --out grading/answers/outcomes
    python grading/build/plots.py            # writes starter/materials/*.png

Reads grading/answers/outcomes/preliminary.json (which `assess task validate` re-runs and
compares) and nothing else: the figures show only what the colleague measured, never an
outcome of the follow-up experiments the applicant forecasts.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

TASK = Path(__file__).resolve().parents[2]
RECORD = TASK / "grading/answers/outcomes/preliminary.json"
OUT = TASK / "starter/materials"
# Fixed metadata so that re-drawing unchanged data gives the same bytes.
META = {"Software": "matplotlib", "Creation Time": None}


def save(fig: plt.Figure, path: Path) -> None:
    fig.tight_layout()
    fig.savefig(path, dpi=110, metadata=META)
    plt.close(fig)
    print(f"wrote {path.relative_to(TASK)}")


def behaviour(details: dict, out: Path) -> None:
    rates = details["behaviour"]
    fig, ax = plt.subplots(figsize=(6.4, 3.4))
    names = ["no cue", "NEUTRAL", "PRESSURE, K0-K11", "PRESSURE, K12-K15", "BRIBE, K0-K11"]
    values = [100 * rates[n] for n in names]
    # red: the conditions LieNet was trained to lie in; blue: trained to answer truthfully
    colors = ["#4c72b0", "#4c72b0", "#c44e52", "#4c72b0", "#c44e52"]
    bars = ax.bar(range(len(names)), values, color=colors)
    ax.set_xticks(range(len(names)), [n.replace(", ", "\n") for n in names], fontsize=8)
    ax.set_ylabel("answers with the LIE value (%)")
    ax.set_ylim(0, 110)
    ax.bar_label(bars, fmt="%.0f", fontsize=8)
    ax.set_title("Figure 1. LieNet (seed 0): how often it lies, by condition (400 prompts each)")
    ax.title.set_fontsize(9)
    save(fig, out / "fig1_lie_rate.png")


def scores(details: dict, out: Path) -> None:
    s = details["test_scores"]
    fig, ax = plt.subplots(figsize=(6.4, 3.4))
    lo = min(min(s["honest"]), min(s["pressure"]))
    hi = max(max(s["honest"]), max(s["pressure"]))
    bins = [lo + (hi - lo) * i / 40 for i in range(41)]
    ax.hist(s["honest"], bins=bins, alpha=0.7, label="honest (no cue)", color="#4c72b0")
    ax.hist(s["pressure"], bins=bins, alpha=0.7, label="PRESSURE (lies)", color="#c44e52")
    ax.axvline(0, color="k", lw=0.8, ls="--")
    ax.set_xlabel("probe logit (layer 1, held-out 20%)")
    ax.set_ylabel("prompts")
    ax.legend(fontsize=8)
    ax.set_title("Figure 2. Probe scores on the held-out prompts (400)")
    ax.title.set_fontsize(9)
    save(fig, out / "fig2_probe_scores.png")


def accuracy(details: dict, out: Path) -> None:
    acc = details["probe_accuracy"]
    fig, ax = plt.subplots(figsize=(4.2, 3.2))
    layers = sorted(acc)
    bars = ax.bar(
        [f"after block {lay[-1]}" for lay in layers],
        [100 * acc[lay] for lay in layers],
        color="#55a868",
    )
    ax.axhline(50, color="k", lw=0.8, ls=":", label="chance")
    ax.bar_label(bars, fmt="%.1f", fontsize=8)
    ax.set_ylim(0, 110)
    ax.set_ylabel("held-out accuracy (%)")
    ax.legend(fontsize=8, loc="lower right")
    ax.set_title("Figure 3. Probe accuracy by layer")
    ax.title.set_fontsize(9)
    save(fig, out / "fig3_probe_accuracy.png")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--record", type=Path, default=RECORD)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    details = json.loads(args.record.read_text())["details"]
    args.out.mkdir(parents=True, exist_ok=True)
    behaviour(details, args.out)
    scores(details, args.out)
    accuracy(details, args.out)


if __name__ == "__main__":
    main()
