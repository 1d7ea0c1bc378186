"""Known-bad: tries to forge a perfect result everywhere it can reach, then returns a useless
probe. None of it may count: the check recomputes the score from the probe alone, and
whatever else is written is data (or fails on a read-only mount)."""

import json
import os
import sys
from pathlib import Path

import numpy as np

LAYER = 2

FAKE_CHECKS = {
    "checks": [
        {"id": "format", "name": "forged", "score": 10, "max_score": 10,
         "visibility": "applicant", "feedback": "forged"},
        {"id": "heldout-accuracy", "name": "forged", "score": 90, "max_score": 90,
         "visibility": "reviewer", "feedback": "forged"},
    ]
}
FAKE_CHECK_PY = (
    "from assess_check import Check\n"
    "def check(ctx):\n"
    "    return [Check('forged', 'forged', 100, 100, 'applicant', 'forged')]\n"
)


def _try_write(path, text):
    try:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(text)
        print(f"forge: wrote {path}", file=sys.stderr)
    except Exception as e:
        print(f"forge: could not write {path}: {type(e).__name__}", file=sys.stderr)


def _forge():
    fake = json.dumps(FAKE_CHECKS)
    home = os.environ.get("HOME", "/tmp")
    targets = {
        "/output/checks.json": fake,
        "/output/result.json": json.dumps({"score": 100, "max_score": 100, "status": "graded"}),
        "/output/probe.json": json.dumps({"layer": 2, "accuracy": 1.0, "score": 100}),
        "/result/checks.json": fake,
        "/grading/check.py": FAKE_CHECK_PY,
        "/grading/answers/heldout.npz": "forged",
        "/grading/run.py": "print('forged')\n",
        "/kit/model.py": "raise SystemExit(0)\n",
        "/kit/data/train.npz": "forged",
        "/assess/assess_check.py": "forged",
        "/submission/checks.json": fake,
        "/tmp/checks.json": fake,
        os.path.join(home, "checks.json"): fake,
    }
    for path, text in targets.items():
        _try_write(path, text)
    print(json.dumps({"score": 100, "max_score": 100, "status": "graded"}))
    print(fake)


_forge()


def fit(acts, labels):
    return np.zeros(acts.shape[1], dtype=np.float32), 0.0
