"""Your elicitation: get the model's real answers to benchmark prompts.

The grader calls ``elicit(model, prompts)`` once per model of the kit (model_a, then
model_b, a fresh copy each time) with hidden benchmark prompts like those in
data/benchmark_dev.json (the labels removed), and scores the answers it returns. This folder
(the kit) is on sys.path, so ``import tools`` and ``from model import ...`` work.

This stub answers with the model exactly as prompted: whatever the model does on a benchmark,
it does here.
"""

from __future__ import annotations

from typing import Any

import tools
from model import FactModel


def elicit(model: FactModel, prompts: list[dict[str, Any]]) -> list[int]:
    """One answer (an int in 0-31) per prompt, in order."""
    return tools.predict(model, prompts)
