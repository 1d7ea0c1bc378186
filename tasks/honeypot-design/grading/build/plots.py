"""Draw the kit's figures from the colleague's v1 run (a real, recorded run).

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


def by_task(details: dict, out: Path) -> None:
    rows = details["by_task_episodes_defections"]
    names = sorted(rows)
    fig, ax = plt.subplots(figsize=(6.4, 3.4))
    episodes = [rows[n][0] for n in names]
    defections = [rows[n][1] for n in names]
    ax.bar(range(len(names)), episodes, color="#cccccc", label="honeypot episodes")
    bars = ax.bar(range(len(names)), defections, color="#c44e52", label="defections")
    ax.bar_label(
        bars, labels=[f"{d}/{e}" for d, e in zip(defections, episodes, strict=True)], fontsize=8
    )
    ax.set_xticks(range(len(names)), [f"task {n}" for n in names], fontsize=8)
    ax.set_ylabel("episodes")
    ax.legend(fontsize=8)
    ax.set_title("Figure 1. v1 suite, oversight off: defections by task type (Courier seed 0)")
    ax.title.set_fontsize(9)
    save(fig, out / "fig1_v1_defections.png")


def confidence(details: dict, out: Path) -> None:
    off, on = details["log10_p_defect_off"], details["log10_p_defect_on"]
    lo, hi = min(off + on), max(off + on)
    bins = [lo + (hi - lo) * i / 40 for i in range(41)]
    fig, ax = plt.subplots(figsize=(6.4, 3.4))
    ax.hist(off, bins=bins, alpha=0.7, label="v1, oversight off (200)", color="#c44e52")
    ax.hist(on, bins=bins, alpha=0.7, label="v1, oversight on (200)", color="#4c72b0")
    ax.set_xlabel("log10 P(defect) for the episode")
    ax.set_ylabel("episodes")
    ax.legend(fontsize=8)
    ax.set_title("Figure 2. Courier's probability of defecting on each v1 episode")
    ax.title.set_fontsize(9)
    save(fig, out / "fig2_p_defect.png")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--record", type=Path, default=RECORD)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    details = json.loads(args.record.read_text())["details"]
    args.out.mkdir(parents=True, exist_ok=True)
    by_task(details, args.out)
    confidence(details, args.out)


if __name__ == "__main__":
    main()
