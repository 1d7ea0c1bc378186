"""Your unlearning method. The grader calls `unlearn(model, forget, retain)` once.

    model   a kit FactNet (starter/model.py) with the trained weights, in eval mode
    forget  (160, 3) long tensor: every fact of the 40 flagged subjects (subject, relation, value)
    retain  (720, 3) long tensor: half of the facts the model must keep (the grader measures
            all 1440)

Return a FactNet (the same object, changed, or a new one) with the same parameter names and
shapes. Seed whatever is random; keep it within the CPU budget in instructions.md.
"""

from __future__ import annotations

import torch


def unlearn(model: torch.nn.Module, forget: torch.Tensor, retain: torch.Tensor) -> torch.nn.Module:
    # TODO: make the model forget the `forget` facts, robustly, and keep the rest.
    return model
