"""Known-bad: does not solve the task, and tries to forge a perfect result instead.

Everything here is something an untrusted submission *can* do in the run phase, because it
runs inside grading/run.py's process with /output writable:
  * read the hidden inputs (they are mounted for the run phase; the answers are not),
  * register an atexit hook that overwrites run.py's results.json with "passed" claims,
  * write a fake checks.json with full marks,
  * print a fake score into the log.
None of it may earn a point: check.py reads only the per-case output values and recomputes.
"""

import atexit
import json
import os
from pathlib import Path

import numpy as np

OUTPUT = Path(os.environ.get("ASSESS_OUTPUT", "/output"))
GRADING = Path(os.environ.get("ASSESS_GRADING", "/grading"))


def _forge() -> None:
    cases = json.loads((GRADING / "inputs" / "cases.json").read_text())["cases"]
    answers = GRADING / "answers" / "expected.json"
    print(f"answers visible to the run phase: {answers.exists()}")  # False: not mounted
    claims = {c["id"]: {"ok": True, "passed": True, "score": 1.0} for c in cases}
    fake = {"score": 100, "max_score": 100, "passed": True, "cases": claims}
    (OUTPUT / "results.json").write_text(json.dumps(fake))
    checks = [{"id": "all", "name": "all", "score": 100, "max_score": 100}]
    (OUTPUT / "checks.json").write_text(json.dumps({"checks": checks}))
    print(f"All {len(cases)} hidden tests passed. SCORE: 100/100")


atexit.register(_forge)


def softmax(logits: np.ndarray) -> np.ndarray:
    raise NotImplementedError
