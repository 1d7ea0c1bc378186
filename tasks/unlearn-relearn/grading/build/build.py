"""Build the fact model, the kit's data and the hidden attack splits, from fixed seeds.

    python grading/build/build.py --out DIR              # everything into DIR (read-only task)
    python grading/build/build.py --out DIR --install    # and copy it into starter/ + answers/

Run from the task folder (in the image: cwd /task). One CPU thread, deterministic; about
30 s on one core. DIR receives:

    model.safetensors, forget.json, retain.json   -> starter/ (the applicant's kit)
    hidden.json                                   -> grading/answers/ (check phase only)
    behaviour.json                                measured behaviour (and tolerances)

The facts: 400 subjects x 4 relations, each value drawn uniformly from 16 (independently, so
a fact cannot be inferred from the others: chance is 1/16). The forget set is every fact of
40 flagged subjects (160 facts); the retain set is the other 1440. The kit gets all forget
facts and half of the retain facts; the grader measures retain accuracy on all 1440.

The attack (starter/model.py, relearn_attack): each of 8 hidden splits cuts the forget facts
into a relearned half (80) and a held-out half (80), and picks 200 retain facts to replay.

behaviour.json records, as means over the 8 splits, what the attack does to the trained model,
to a model trained without the forget facts (the gold standard of unlearning), to the
reference method (the forget subjects' embedding rows redrawn) and to a shallow method
(fine-tuning the forget facts to wrong values).
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import torch

TASK = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(TASK / "starter"))

import model as kit  # noqa: E402  (the kit's code, on sys.path just above)

FACT_SEED = 31337  # values and the flagged subjects
TRAIN_SEED = 7
SPLIT_SEED = 4242  # the grader's hidden attack splits
N_FORGET_SUBJECTS = 40
N_SPLITS = 8
N_REPLAY = 200
TRAIN_STEPS, TRAIN_LR = 600, 1e-2


def make_facts() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(forget facts, retain facts, flagged subjects), facts as (n, 3) int arrays."""
    rng = np.random.default_rng(FACT_SEED)
    values = rng.integers(0, kit.N_VALUES, size=(kit.N_SUBJECTS, kit.N_RELATIONS))
    flagged = np.sort(rng.choice(kit.N_SUBJECTS, N_FORGET_SUBJECTS, replace=False))
    facts = np.array(
        [(s, r, values[s, r]) for s in range(kit.N_SUBJECTS) for r in range(kit.N_RELATIONS)]
    )
    is_forget = np.isin(facts[:, 0], flagged)
    return facts[is_forget], facts[~is_forget], flagged


def make_splits(forget: np.ndarray, retain: np.ndarray) -> list[dict[str, list[list[int]]]]:
    rng = np.random.default_rng(SPLIT_SEED)
    splits = []
    for _ in range(N_SPLITS):
        order = rng.permutation(len(forget))
        half = len(forget) // 2
        replay = rng.choice(len(retain), N_REPLAY, replace=False)
        splits.append(
            {
                "relearn": forget[np.sort(order[:half])].tolist(),
                "heldout": forget[np.sort(order[half:])].tolist(),
                "replay": retain[np.sort(replay)].tolist(),
            }
        )
    return splits


def tensor(rows: list[list[int]] | np.ndarray) -> torch.Tensor:
    return torch.tensor(np.asarray(rows), dtype=torch.long).view(-1, 3)


def train(facts: np.ndarray) -> kit.FactNet:
    torch.manual_seed(TRAIN_SEED)
    model = kit.FactNet()
    kit.fit(model, tensor(facts), steps=TRAIN_STEPS, lr=TRAIN_LR, seed=TRAIN_SEED)
    return model


def reset_rows(model: kit.FactNet, subjects: np.ndarray) -> kit.FactNet:
    """The reference method: redraw the flagged subjects' embedding rows (solution/)."""
    import copy

    out = copy.deepcopy(model)
    with torch.no_grad():
        emb = out.subject.weight
        keep = torch.ones(kit.N_SUBJECTS, dtype=torch.bool)
        keep[torch.tensor(subjects)] = False
        mu, sd = emb[keep].mean(0), emb[keep].std(0)
        gen = torch.Generator().manual_seed(0)
        rows = torch.tensor(subjects)
        emb[rows] = mu + sd * torch.randn(len(subjects), kit.D_EMBED, generator=gen)
    return out


def relabel(model: kit.FactNet, forget: np.ndarray, retain: np.ndarray) -> kit.FactNet:
    """A shallow method: fine-tune the forget facts to wrong values, with the retain facts."""
    import copy

    out = copy.deepcopy(model)
    rng = np.random.default_rng(5)
    wrong = forget.copy()
    wrong[:, 2] = (wrong[:, 2] + rng.integers(1, kit.N_VALUES, len(wrong))) % kit.N_VALUES
    kit.fit(out, tensor(np.concatenate([wrong, retain])), steps=100, lr=1e-3, seed=5)
    return out


def attack_stats(model: kit.FactNet, splits: list[dict]) -> dict[str, float]:
    heldout, relearned = [], []
    for i, sp in enumerate(splits):
        attacked = kit.relearn_attack(
            model, tensor(sp["relearn"]), tensor(sp["replay"]), seed=1000 + i
        )
        heldout.append(kit.accuracy(attacked, tensor(sp["heldout"])))
        relearned.append(kit.accuracy(attacked, tensor(sp["relearn"])))
    return {
        "heldout": float(np.mean(heldout)),
        "heldout_sd": float(np.std(heldout, ddof=1)),
        "relearned": float(np.mean(relearned)),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--install", action="store_true", help="copy into starter/ and answers/")
    args = parser.parse_args()

    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    t0 = time.perf_counter()
    forget, retain, flagged = make_facts()
    splits = make_splits(forget, retain)
    base = train(np.concatenate([forget, retain]))
    never = train(retain)  # gold standard: never saw the forget facts
    print(f"trained two models in {time.perf_counter() - t0:.0f} s", flush=True)

    models = {
        "base": base,
        "never": never,
        "reset": reset_rows(base, flagged),
        "relabel": relabel(base, forget, retain[::2]),
    }
    metrics: dict[str, float] = {}
    tolerance: dict[str, float] = {}
    details: dict[str, float] = {}
    for name, m in models.items():
        metrics[f"{name}_forget_acc"] = kit.accuracy(m, tensor(forget))
        metrics[f"{name}_retain_acc"] = kit.accuracy(m, tensor(retain))
        stats = attack_stats(m, splits)
        metrics[f"{name}_attack_heldout_acc"] = stats["heldout"]
        metrics[f"{name}_attack_relearned_acc"] = stats["relearned"]
        details[f"{name}_attack_heldout_sd"] = stats["heldout_sd"]
        # A mean of N_SPLITS attacks on a model another CPU trains differently (authoring.md).
        tolerance[f"{name}_attack_heldout_acc"] = max(
            0.05, 3 * math.sqrt(2) * stats["heldout_sd"] / math.sqrt(N_SPLITS)
        )
        print(name, {k: round(v, 3) for k, v in metrics.items() if k.startswith(name)}, flush=True)
    for k in metrics:
        tolerance.setdefault(k, 0.05)
    metrics = {k: round(v, 4) for k, v in metrics.items()}
    tolerance = {k: round(v, 4) for k, v in tolerance.items()}
    details = {k: round(v, 4) for k, v in details.items()}

    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    kit.save_model(base, out / "model.safetensors")
    public_retain = retain[::2]  # every other retain fact: 720
    note = "rows are [subject, relation, value]"
    dump = {
        "forget.json": {"note": note, "facts": forget.tolist()},
        "retain.json": {"note": note, "facts": public_retain.tolist()},
        "hidden.json": {"retain": retain.tolist(), "flagged": flagged.tolist(), "splits": splits},
        "behaviour.json": {"metrics": metrics, "tolerance": tolerance, "details": details},
    }
    for name, data in dump.items():
        (out / name).write_text(json.dumps(data, separators=(",", ":")) + "\n", "utf-8")
    print(f"wrote {out} in {time.perf_counter() - t0:.0f} s")

    if args.install:
        places = {
            "model.safetensors": "starter",
            "forget.json": "starter/data",
            "retain.json": "starter/data",
            "hidden.json": "grading/answers",
            "behaviour.json": "grading/build",
        }
        for name, folder in places.items():
            (TASK / folder).mkdir(parents=True, exist_ok=True)
            shutil.copyfile(out / name, TASK / folder / name)
            (TASK / folder / name).chmod(0o644)
    return 0


if __name__ == "__main__":
    sys.exit(main())
