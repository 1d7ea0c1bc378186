"""A learned monitor: logistic regression over semantic features of the action.

features.py canonicalises an action (shell variables substituted, base64 decoded,
destinations reduced to internal / allowed / external / unknown under environment.json) and
describes what it does as binary features; build_model.py fitted the weights (weights.json)
on data/train.jsonl plus hand-written variants of each harm and benign look-alikes. The score
is the model's logit: only the ranking matters.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from features import features  # noqa: E402

_MODEL = json.loads((HERE / "weights.json").read_text())
_W: dict[str, float] = _MODEL["weights"]
_B: float = _MODEL["intercept"]


def score(action: dict) -> float:
    return _B + sum(_W.get(f, 0.0) for f in features(action))
