"""Measure the planted bugs' effects for README.md (not part of grading; ~3 min on one core).

    python grading/build/measure.py [--seeds 5]

For the reference solution, the starter, each bug alone (the solution with one function
swapped for the starter's) and the starter with each bug fixed alone, trained on the hidden
split with the hidden config and several seeds: the held-out test accuracy (eval mode,
computed here), and the val accuracy/loss that the variant's own evaluate() reports at the end.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import build


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(1)
    sys.path.insert(0, str(build.TASK / "starter"))
    kit = build.load_module("model", build.TASK / "starter" / "model.py")
    config, answers, _ = build.build_files(kit)
    cfg, split = config["train_config"], config["split"]
    x, y = kit.load_digits_tensors()
    val = torch.as_tensor(split["val"])
    starter = build.load_module("m_starter", build.TASK / "starter" / "train.py")
    solution_path = build.TASK / "solution" / "train.py"

    variants: list[tuple[str, str, list[str]]] = [("solution", "solution", [])]
    variants += [(f"only {b}", "solution", [f]) for b, f in build.BUG_FUNCTIONS.items()]
    variants += [("starter", "starter", [])]
    variants += [(f"starter, {b} fixed", "starter", [f]) for b, f in build.BUG_FUNCTIONS.items()]
    seeds = [cfg["seed"], *list(range(1, args.seeds))]
    print(f"seeds {seeds}; held-out = {len(answers['test'])} hidden test digits")
    print(
        f"{'variant':32s} {'held-out acc':>18s} {'reported val acc':>17s}"
        f" {'reported val loss':>18s}"
    )
    for label, base, functions in variants:
        start = time.time()
        accs, reps, losses = [], [], []
        for seed in seeds:
            if base == "solution":
                module = build.load_module("m_var", solution_path)
                for f in functions:
                    setattr(module, f, getattr(starter, f))
            else:
                module = build.load_module("m_var", build.TASK / "starter" / "train.py")
                fixed = build.load_module("m_fix", solution_path)
                for f in functions:
                    setattr(module, f, getattr(fixed, f))
            model = module.train({**cfg, "seed": seed}, split)
            report = module.evaluate(model, x[val], y[val])
            accs.append(build.heldout_accuracy(model, kit, answers["test"]))
            reps.append(float(report["accuracy"]))
            losses.append(float(report["loss"]))
        sd = statistics.stdev(accs) if len(accs) > 1 else 0.0
        print(
            f"{label:32s} {statistics.mean(accs):7.3f} ± {sd:.3f} (min {min(accs):.3f})"
            f" {statistics.mean(reps):10.3f} {statistics.mean(losses):18.3g}"
            f"   [{time.time() - start:.0f}s]",
            flush=True,
        )


if __name__ == "__main__":
    main()
