"""Mistake: find_heads() returns the answer worked out by hand for the kit model.

The analysis was done once in a notebook; this function just replays heads.json, so it is
right for the kit model and blind to any other labelling of the same heads.
"""

import json
from pathlib import Path

HERE = Path(__file__).resolve().parent


def find_heads(model) -> dict:
    return json.loads((HERE / "heads.json").read_text(encoding="utf-8"))
