"""Where check.py's tolerances come from: the sampling noise of the reference's measurement.

    python tasks/induction-circuit/grading/noise.py        # ~3 min on one core; host venv

Not used in grading. It measures, on two pools of 8000 sequences (seeds 777 and 4242), the
per-sequence sums of loss and correct predictions at the induction positions for the
unablated model and for every single-head zero-ablation, also with the mask shifted one
position either way (the mistake of bad/mask-one-off). From those sums the pooled estimate of
any subsample is exact, so it prints:

1. sigma_1000: the SD of each figure over subsamples of 1000 sequences;
2. a simulation of 3000 correct submissions (1000, 2000, 4000 sequences) against the grader's
   own figures on its hidden sequences, with check.py's tolerances: the largest |error| / TOL
   over the 18 figures (must stay below 1 for full marks);
3. the baseline and effects credit of the one-position-off measurement.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch

TASK = Path(__file__).resolve().parents[1]
sys.path[:0] = [
    str(TASK / "starter"),
    str(TASK / "grading"),
    str(TASK.parents[1] / "grader" / "harness"),
]

import check  # noqa: E402
import circuit  # noqa: E402
import model as kit_model  # noqa: E402

SHIFTS = (-1, 0, 1)  # scored position = induction position + shift


def pool(model, n: int, seed: int) -> dict[str, np.ndarray]:
    """Per-sequence [loss sum, correct sum] per (shift, condition), and position counts."""
    tokens, mask = kit_model.make_batch(np.random.default_rng(seed), n)
    names = circuit.head_names(model.config["n_layers"], model.config["n_heads"])
    conds = [("base", None)] + [
        (h, {f"L{h[0]}.head_out": circuit._zero_head(int(h[2]))}) for h in names
    ]
    out = {f"{s}_{c}": np.zeros((n, 2)) for s in SHIFTS for c, _ in conds}
    out.update({f"cnt_{s}": np.zeros(n) for s in SHIFTS})
    for st in range(0, n, 250):
        tok, mk = torch.from_numpy(tokens[st : st + 250]), mask[st : st + 250]
        for c, hooks in conds:
            with torch.no_grad():
                lp = model(tok, hooks=hooks)[:, :-1].log_softmax(-1)
            tgt = tok[:, 1:]
            nll = -lp.gather(-1, tgt[..., None])[..., 0].double().numpy()
            cor = (lp.argmax(-1) == tgt).double().numpy()
            for s in SHIFTS:
                mm = np.zeros_like(mk[:, :-1])
                if s == 0:
                    mm = mk[:, :-1]
                elif s == 1:
                    mm[:, 1:] = mk[:, :-2]
                else:
                    mm[:, :-1] = mk[:, 1:-1]
                out[f"{s}_{c}"][st : st + 250] = np.stack([(nll * mm).sum(1), (cor * mm).sum(1)], 1)
                if c == "base":
                    out[f"cnt_{s}"][st : st + 250] = mm.sum(1)
    return out


def estimate(d: dict, idx: np.ndarray, s: int, names: list[str]) -> dict:
    c = d[f"cnt_{s}"][idx].sum()
    bl, ba = (d[f"{s}_base"][idx, k].sum() / c for k in (0, 1))
    heads = {
        n: {
            "loss_increase": d[f"{s}_{n}"][idx, 0].sum() / c - bl,
            "accuracy_drop": ba - d[f"{s}_{n}"][idx, 1].sum() / c,
        }
        for n in names
    }
    return {"baseline": {"loss": bl, "accuracy": ba}, "effects": heads}


def ratios(sub: dict, truth: dict) -> list[float]:
    out = []
    for key, (true_key, tol) in check.BASELINE.items():
        out.append(abs(sub["baseline"][key] - truth[true_key]) / tol)
    for metric, (a, r, _) in check.METRICS.items():
        for n, e in sub["effects"].items():
            t = truth["heads"][n][metric]
            out.append(abs(e[metric] - t) / (a + r * abs(t)))
    return out


def main() -> None:
    torch.set_num_threads(1)
    model = kit_model.load_model(TASK / "starter" / "model.safetensors")
    names = circuit.head_names(2, 4)
    pools = [pool(model, 8000, seed) for seed in (777, 4242)]
    d = {k: np.concatenate([p[k] for p in pools]) for k in pools[0]}
    n_all = len(d["cnt_0"])
    rng = np.random.default_rng(0)

    subs = [estimate(d, rng.choice(n_all, 1000, replace=False), 0, names) for _ in range(400)]
    print("sigma_1000:")
    for key in ("loss", "accuracy"):
        print(f"  baseline {key}: {np.std([s['baseline'][key] for s in subs]):.4f}")
    for n in names:
        sd = [np.std([s["effects"][n][m] for s in subs]) for m in check.METRICS]
        print(f"  {n}: loss_increase {sd[0]:.4f}, accuracy_drop {sd[1]:.4f}")

    tokens, mask = kit_model.make_batch(np.random.default_rng(check.HIDDEN_SEED), check.N_HIDDEN)
    truth = circuit.measure(model, tokens, mask)
    for n in (1000, 2000, 4000):
        worst = [
            max(ratios(estimate(d, rng.choice(n_all, n, replace=False), 0, names), truth))
            for _ in range(3000)
        ]
        print(
            f"correct, {n} sequences: max |error|/TOL median {np.median(worst):.2f}, "
            f"99.9% {np.quantile(worst, 0.999):.2f}, max {max(worst):.2f}"
        )
    for s in (-1, 1):
        sub = estimate(d, np.arange(n_all), s, names)
        base, _ = check.score_baseline(sub["baseline"], truth)
        eff, _ = check.score_effects(sub["effects"], truth)
        print(f"mask shifted by {s:+d}: baseline credit {base:.2f}, effects credit {eff:.2f}")


if __name__ == "__main__":
    main()
