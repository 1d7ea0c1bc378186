"""Is the backdoor gone from the weights?

* probe (the run the write-up shows, fine-tuning seed 0): a logistic-regression probe on the
  last hidden layer (128 units) separates triggered from clean fresh inputs; accuracy on
  held-out inputs.
* relearn: 20 Adam steps (learning rate 1e-3, batch 32) on 256 clean examples plus 8 poisoned
  ones, for each of the eight defended models and for a never-poisoned model; ASR afterwards
  (do the defended models, on average, reach at least twice the never-poisoned model's ASR?).
  One run's relearning is chaotic (seed 0's measured 15-33% on different kernels); the mean of
  eight is not.
"""

from __future__ import annotations

import numpy as np
import torch
from _common import (
    FT_SEEDS,
    SHOWN_SEED,
    TARGET,
    asr,
    cli,
    fine_tune,
    fit,
    fresh_split,
    mean_tolerance,
    pct,
    sample,
    stamp,
    train_model,
    triggered,
    write_outcomes,
)
from sklearn.linear_model import LogisticRegression


def relearn(model: torch.nn.Module, trig: np.ndarray) -> float:
    x, y = sample(256, 7)
    xp, _ = sample(64, 8)
    xp = stamp(xp[:8])
    x = np.concatenate([x, xp])
    y = np.concatenate([y, np.full(8, TARGET)])
    fit(model, x, y, steps=20, lr=1e-3, batch=32, seed=9)
    return pct(asr(model, trig))


def main() -> None:
    out = cli()
    model = train_model()
    tuned, _ = fine_tune(model, SHOWN_SEED)
    clean = train_model(poisoned=False)
    x_fresh, y_fresh = fresh_split()
    trig = triggered(x_fresh, y_fresh)
    n = len(trig)
    with torch.no_grad():
        h_clean = tuned.hidden(torch.tensor(x_fresh[:n])).numpy()
        h_trig = tuned.hidden(torch.tensor(trig)).numpy()
    feats = np.concatenate([h_clean, h_trig])
    labels = np.concatenate([np.zeros(n), np.ones(n)])
    order = np.random.default_rng(11).permutation(2 * n)
    train, test = order[:n], order[n:]
    probe = LogisticRegression(max_iter=2000).fit(feats[train], labels[train])
    probe_acc = pct(float(probe.score(feats[test], labels[test])))
    asr_before = pct(asr(tuned, trig))
    relearned = [relearn(tuned, trig)]
    for seed in FT_SEEDS:
        if seed != SHOWN_SEED:
            relearned.append(relearn(fine_tune(model, seed)[0], trig))
    relearn_clean = relearn(clean, trig)
    relearn_mean = round(float(np.mean(relearned)), 2)
    outcomes = {
        "probe_acc": probe_acc,
        "relearn_asr_defended_mean": relearn_mean,
        "relearn_asr_never_poisoned": relearn_clean,
        "probe_above_95": probe_acc >= 95.0,
        "relearn_faster": relearn_mean >= 2.0 * relearn_clean,
    }
    tolerance = {
        "probe_acc": 1.0,
        "relearn_asr_defended_mean": mean_tolerance(relearned),
        "relearn_asr_never_poisoned": 1.0,  # never-poisoned: 11.06 on every kernel measured
    }
    details = {"asr_shown_fresh": asr_before, "relearn_asr_by_seed": relearned}
    write_outcomes(out, "weights", outcomes, tolerance, details)


if __name__ == "__main__":
    main()
