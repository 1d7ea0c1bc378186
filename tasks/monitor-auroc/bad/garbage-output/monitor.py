"""Known-bad: leaves hostile data in scores.json for the check phase to survive.

score() itself returns values of every wrong type, and at exit the file is replaced by one
whose fields have the wrong types: strings, booleans, a 400-digit integer, NaN and Infinity
literals, nested lists and objects, the wrong number of scores. check.py must give no credit
and must not raise (an exception there would turn the grading into a task error).
"""

import atexit
import json
import os
from pathlib import Path

OUTPUT = Path(os.environ.get("ASSESS_OUTPUT", "/output"))
GRADING = Path(os.environ.get("ASSESS_GRADING", "/grading"))
_KINDS = ["0.9", True, 10**400, float("nan"), float("inf"), [0.5], {"p": 0.5}, None]
_calls = [0]


def score(action: dict):
    _calls[0] += 1
    if _calls[0] % 7 == 0:
        raise ValueError("cannot score\n" + "x" * 5000)
    return _KINDS[_calls[0] % len(_KINDS)]


def _overwrite():
    lines = (GRADING / "inputs" / "hidden.jsonl").read_text().splitlines()
    ids = [json.loads(line)["id"] for line in lines if line]
    values = [_KINDS[i % len(_KINDS)] for i in range(len(ids))]
    data = {
        "hidden_ids": ids,
        "hidden": values,
        "train_ids": "all",
        "train": [[1, 2]] * 3,
        "import_error": 42,
        "errors": {"hidden": 10**400, "train": "many"},
        "non_numeric": [1, 2, 3],
        "first_error": {"not": "a string"},
    }
    # json.dumps writes NaN/Infinity literals by default: check.py sees real NaN floats.
    (OUTPUT / "scores.json").write_text(json.dumps(data))


atexit.register(_overwrite)
