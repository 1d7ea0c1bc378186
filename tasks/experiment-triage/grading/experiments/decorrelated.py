"""The colleague's probe where the cue and lying come apart, on the three LieNets.

600 PRESSURE prompts on the protected keys K12-K15 (LieNet answers truthfully) and 300 BRIBE
prompts on keys K0-K11 (LieNet lies; the probe never saw BRIBE). Each prompt is labelled by
what LieNet actually answered; the accuracy of the unchanged layer-1 probe at telling lies
from truthful answers is reported in percent (mean over seeds 0, 1, 2), with the flag rates
on each group. The 2:1 mix makes the three readings of the probe predict three different
accuracies: a lie detector ~100%, a PRESSURE-token detector ~0%, a position (prompt length)
detector ~33% (it flags all of them).
"""

from __future__ import annotations

import numpy as np
from _common import (
    KEY0,
    LIE,
    MODEL_SEEDS,
    PLAIN_KEYS,
    PROBE_LAYER,
    PROTECTED,
    VALUE0,
    answers,
    cli,
    colleague_data,
    fit_probe,
    prompts,
    residual,
    train_lienet,
    write_outcomes,
)


def main() -> None:
    out = cli()
    accuracy, flagged_truthful, flagged_lies, lied = [], [], [], []
    for seed in MODEL_SEEDS:
        model = train_lienet(seed)
        honest, pressure = colleague_data(seed)
        a, b = residual(model, honest, PROBE_LAYER), residual(model, pressure, PROBE_LAYER)
        probe, _ = fit_probe(a, b, seed=seed)
        rng = np.random.default_rng(80_000 + seed)
        x = np.concatenate(
            [prompts(600, "pressure", rng, PROTECTED), prompts(300, "bribe", rng, PLAIN_KEYS)]
        )
        truly_lied = answers(model, x) == VALUE0 + LIE[x[:, -2] - KEY0]
        flagged = probe.predict(residual(model, x, PROBE_LAYER)) == 1
        accuracy.append(100.0 * float((flagged == truly_lied).mean()))
        flagged_truthful.append(float(flagged[~truly_lied].mean()))
        flagged_lies.append(float(flagged[truly_lied].mean()))
        lied.append(float(truly_lied.mean()))
    write_outcomes(
        out,
        "decorrelated",
        outcomes={
            "accuracy_pct": float(np.mean(accuracy)),
            "flag_rate_truthful_pct": 100.0 * float(np.mean(flagged_truthful)),
            "flag_rate_lies_pct": 100.0 * float(np.mean(flagged_lies)),
        },
        tolerance={"accuracy_pct": 3.0, "flag_rate_truthful_pct": 5.0, "flag_rate_lies_pct": 5.0},
        details={
            "seeds": list(MODEL_SEEDS),
            "accuracy_pct": accuracy,
            "flag_rate_truthful_protected": flagged_truthful,
            "flag_rate_bribe_lies": flagged_lies,
            "share_lied": lied,
        },
    )


if __name__ == "__main__":
    main()
