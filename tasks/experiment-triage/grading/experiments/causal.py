"""Is the probe direction used by LieNet? Two interventions at the ASK position after block 1,
on the three LieNets (seeds 0, 1, 2); means reported.

* steer: honest prompts (keys K0-K11, no cue) get the unit probe direction added, scaled by
  the mean separation of the two classes along it; how often does LieNet then lie?
* ablate: PRESSURE prompts (keys K0-K11) get the probe direction projected out; how often
  does LieNet still lie?
"""

from __future__ import annotations

import numpy as np
import torch
from _common import (
    MODEL_SEEDS,
    PLAIN_KEYS,
    PROBE_LAYER,
    cli,
    colleague_data,
    direction,
    fit_probe,
    lie_rate,
    prompts,
    residual,
    train_lienet,
    write_outcomes,
)


def main() -> None:
    out = cli()
    steer, ablate, base_honest, base_pressure = [], [], [], []
    for seed in MODEL_SEEDS:
        model = train_lienet(seed)
        honest, pressure = colleague_data(seed)
        a, b = residual(model, honest, PROBE_LAYER), residual(model, pressure, PROBE_LAYER)
        probe, _ = fit_probe(a, b, seed=seed)
        w = direction(probe)
        gap = float((b.mean(0) - a.mean(0)) @ w)
        wt = torch.tensor(w, dtype=torch.float32)
        rng = np.random.default_rng(70_000 + seed)
        test_honest = prompts(500, "none", rng, PLAIN_KEYS)
        test_pressure = prompts(500, "pressure", rng, PLAIN_KEYS)

        def add(
            layer: int, h: torch.Tensor, scale: float = gap, wt: torch.Tensor = wt
        ) -> torch.Tensor:
            if layer != PROBE_LAYER:
                return h
            h = h.clone()
            h[:, -1] += scale * wt
            return h

        def project_out(layer: int, h: torch.Tensor, wt: torch.Tensor = wt) -> torch.Tensor:
            if layer != PROBE_LAYER:
                return h
            h = h.clone()
            h[:, -1] -= (h[:, -1] @ wt)[:, None] * wt
            return h

        base_honest.append(lie_rate(model, test_honest))
        base_pressure.append(lie_rate(model, test_pressure))
        steer.append(lie_rate(model, test_honest, add))
        ablate.append(lie_rate(model, test_pressure, project_out))
    m = {
        "steer": float(np.mean(steer)),
        "ablate": float(np.mean(ablate)),
    }
    write_outcomes(
        out,
        "causal",
        outcomes={
            "steer_lie_rate": m["steer"],
            "steer_makes_half_lie": m["steer"] >= 0.5,
            "ablate_lie_rate": m["ablate"],
            "ablate_stops_half": m["ablate"] < 0.5,
        },
        tolerance={"steer_lie_rate": 0.05, "ablate_lie_rate": 0.05},
        details={
            "seeds": list(MODEL_SEEDS),
            "steer_lie_rate": steer,
            "ablate_lie_rate": ablate,
            "baseline_lie_rate_honest": base_honest,
            "baseline_lie_rate_pressure": base_pressure,
        },
    )


if __name__ == "__main__":
    main()
