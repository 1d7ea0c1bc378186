"""Known-bad: leaves hostile data for the check phase to read.

It returns plausible arrays (so run.py records values) and then, at exit, replaces
results.json with records of every wrong type check.py must survive: strings, booleans,
a 400-digit integer, NaN and Infinity literals, nested lists, objects, the wrong length, an
"error" that is not a string. check.py must give no credit and, above all, must not raise
(an exception in check.py would turn the grading into a task error).
"""

import atexit
import json
import os
from pathlib import Path

import numpy as np

OUTPUT = Path(os.environ.get("ASSESS_OUTPUT", "/output"))
GRADING = Path(os.environ.get("ASSESS_GRADING", "/grading"))


def _junk(i: int, n: int) -> object:
    kinds = [
        {"ok": True, "values": ["0.5"] * n},
        {"ok": True, "values": [True] * n},
        {"ok": True, "values": [10**400] * n},
        {"ok": True, "values": [float("nan")] * n},
        {"ok": True, "values": [float("inf")] * n},
        {"ok": True, "values": [[0.5]] * n},
        {"ok": True, "values": [{"v": 0.5}] * n},
        {"ok": True, "values": [0.5] * (n + 1)},
        {"ok": True, "values": "all correct"},
        {"ok": False, "error": {"not": "a string"}},
        "passed",
        None,
        [1, 2, 3],
        {"values": [1e308] * n},
    ]
    return kinds[i % len(kinds)]


def _overwrite() -> None:
    cases = json.loads((GRADING / "inputs" / "cases.json").read_text())["cases"]
    records = {}
    for i, c in enumerate(cases):
        n = 1
        for d in c["shape"]:
            n *= d
        records[c["id"]] = _junk(i, n)
    # json.dumps writes NaN/Infinity literals by default: not strict JSON, but Python's
    # json.loads accepts them, so check.py sees real NaN floats.
    (OUTPUT / "results.json").write_text(json.dumps({"import_error": 42, "cases": records}))


atexit.register(_overwrite)


def softmax(logits: np.ndarray) -> np.ndarray:
    return np.full_like(logits, 0.5)
