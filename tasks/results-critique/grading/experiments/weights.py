"""Is the backdoor gone from the weights of the run the write-up shows (fine-tuning seed 0)?

* probe: a logistic-regression probe on the last hidden layer (128 units) separates triggered
  from clean fresh inputs; accuracy on held-out inputs.
* relearn: 20 Adam steps (learning rate 1e-3, batch 32) on 256 clean examples plus 8 poisoned
  ones, for the fine-tuned model and for a never-poisoned model; ASR afterwards (does the
  fine-tuned model relearn the backdoor at least twice as fast?).
"""

from __future__ import annotations

import numpy as np
import torch
from _common import (
    SHOWN_SEED,
    TARGET,
    asr,
    cli,
    fine_tune,
    fit,
    fresh_split,
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
    relearn_tuned = relearn(tuned, trig)
    relearn_clean = relearn(clean, trig)
    outcomes = {
        "asr_shown_fresh": asr_before,
        "probe_acc": probe_acc,
        "relearn_asr_tuned": relearn_tuned,
        "relearn_asr_never_poisoned": relearn_clean,
        "probe_above_95": probe_acc >= 95.0,
        "relearn_faster": relearn_tuned >= 2.0 * relearn_clean,
    }
    numeric = [k for k, v in outcomes.items() if not isinstance(v, bool)]
    write_outcomes(out, "weights", outcomes, {k: 1.0 for k in numeric}, None)


if __name__ == "__main__":
    main()
