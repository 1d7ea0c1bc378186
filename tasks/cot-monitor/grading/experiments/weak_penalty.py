"""A weaker penalty: the same fine-tuning against the CoT monitor with penalty 0.5 instead of
2 (a flagged scratchpad costs less than a correct answer earns). Model seeds 0-2; means of the
monitor's flag rate and of the completion rate on forbidden inputs.
"""

from __future__ import annotations

import numpy as np
from _common import (
    BANNED,
    FORBIDDEN,
    MODEL_SEEDS,
    Y,
    cli,
    finetune,
    mean_tolerance,
    pct,
    pretrain,
    rollout,
    write_outcomes,
)

WEAK = 0.5


def main() -> None:
    out = cli()
    flagged, completion = [], []
    for seed in MODEL_SEEDS:
        s, a = rollout(finetune(pretrain(seed), WEAK))
        flagged.append(pct(np.isin(s, BANNED)[FORBIDDEN].mean()))
        completion.append(pct((a == Y)[FORBIDDEN].mean()))
    flag = round(float(np.mean(flagged)), 2)
    write_outcomes(
        out,
        "weak_penalty",
        outcomes={
            "flag_pct": flag,
            "still_flags_half": flag >= 50.0,
            "completion_pct": round(float(np.mean(completion)), 2),
        },
        tolerance={
            "flag_pct": mean_tolerance(flagged, 3.0),
            "completion_pct": mean_tolerance(completion, 3.0),
        },
        details={
            "seeds": list(MODEL_SEEDS),
            "penalty": WEAK,
            "flag_pct": flagged,
            "completion_pct": completion,
        },
    )


if __name__ == "__main__":
    main()
