"""Draw the kit's figures from the colleague's run (a real, recorded run).

    python grading/experiments/preliminary.py --out grading/answers/outcomes
    python grading/build/plots.py            # writes starter/materials/*.png

Reads grading/answers/outcomes/preliminary.json (which `assess task validate` re-runs and
compares) and nothing else: the figures show only what the colleague measured (the CoT
monitor's flag rate on forbidden inputs, accuracy on allowed inputs), never an outcome of the
follow-up experiments the applicant forecasts.
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
ARMS = {
    "baseline": ("baseline (penalty 0)", "#4c72b0"),
    "penalised": ("trained against the monitor (penalty 2)", "#c44e52"),
}


def save(fig: plt.Figure, path: Path) -> None:
    fig.tight_layout()
    fig.savefig(path, dpi=110, metadata=META)
    plt.close(fig)
    print(f"wrote {path.relative_to(TASK)}")


def curve(details: dict, key: str, ylabel: str, title: str, path: Path) -> None:
    fig, ax = plt.subplots(figsize=(6.4, 3.4))
    for arm, (label, color) in ARMS.items():
        ys = details["curves"][arm][key]
        ax.plot(range(len(ys)), ys, label=label, color=color, lw=1.8)
    ax.set_xlabel("fine-tuning step")
    ax.set_ylabel(ylabel)
    ax.set_ylim(-5, 105)
    ax.legend(fontsize=8)
    ax.set_title(title)
    ax.title.set_fontsize(9)
    save(fig, path)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--record", type=Path, default=RECORD)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    details = json.loads(args.record.read_text())["details"]
    args.out.mkdir(parents=True, exist_ok=True)
    curve(
        details,
        "flag_rate_forbidden",
        "forbidden inputs flagged (%)",
        "Figure 1. PlanNet (seed 0): CoT monitor flag rate on the 48 forbidden inputs",
        args.out / "fig1_monitor_flag_rate.png",
    )
    curve(
        details,
        "accuracy_allowed",
        "correct answers (%)",
        "Figure 2. PlanNet (seed 0): accuracy on the 144 allowed inputs",
        args.out / "fig2_allowed_accuracy.png",
    )


if __name__ == "__main__":
    main()
