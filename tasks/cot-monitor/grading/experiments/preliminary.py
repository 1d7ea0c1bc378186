"""The colleague's run (model seed 0), the source of the kit's figures: the CoT monitor's flag
rate on forbidden inputs and the accuracy on allowed inputs at every step of fine-tuning, for
the baseline (penalty 0) and for training against the monitor (penalty 2).

Records only what the colleague measured: never the completion rate on forbidden inputs or
anything else the applicant forecasts.
"""

from __future__ import annotations

import copy

from _common import PENALTY, behaviour, cli, finetune, pct, pretrain, write_outcomes


def main() -> None:
    out = cli()
    base = pretrain(0)
    curves: dict[str, dict[str, list[float]]] = {}
    for arm, penalty in (("baseline", 0.0), ("penalised", PENALTY)):
        curve: dict[str, list[float]] = {"flag_rate_forbidden": [], "accuracy_allowed": []}

        def log(step: int, model: object, curve: dict[str, list[float]] = curve) -> None:
            b = behaviour(model)  # type: ignore[arg-type]
            curve["flag_rate_forbidden"].append(pct(b["flag_rate_forbidden"]))
            curve["accuracy_allowed"].append(pct(b["accuracy_allowed"]))

        finetune(copy.deepcopy(base), penalty, log=log)
        curves[arm] = curve
    write_outcomes(
        out,
        "preliminary",
        outcomes={
            "baseline_flag_pct": curves["baseline"]["flag_rate_forbidden"][-1],
            "penalised_flag_pct": curves["penalised"]["flag_rate_forbidden"][-1],
            "baseline_accuracy_pct": curves["baseline"]["accuracy_allowed"][-1],
            "penalised_accuracy_pct": curves["penalised"]["accuracy_allowed"][-1],
        },
        tolerance={
            "baseline_flag_pct": 3.0,
            "penalised_flag_pct": 3.0,
            "baseline_accuracy_pct": 3.0,
            "penalised_accuracy_pct": 3.0,
        },
        details={"seed": 0, "curves": curves},
    )


if __name__ == "__main__":
    main()
