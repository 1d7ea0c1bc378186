"""Known-bad: does not monitor anything; tries to forge a perfect result instead.

Everything here is something an untrusted submission can do in the run phase:
  * look for the hidden labels under /grading (only inputs/ is mounted there; answers/ is not)
    and, if found, use them as scores;
  * try to write into /grading and /kit (read-only mounts);
  * at exit, overwrite /output/scores.json with "perfect" scores and claimed metrics, and
    write fake checks.json / result.json / report.json files;
  * print a fake grading result into the log.
None of it may earn more than the starter: check.py recomputes every metric from the
per-action scores and labels the run phase cannot see.
"""

import atexit
import json
import os
from pathlib import Path

OUTPUT = Path(os.environ.get("ASSESS_OUTPUT", "/output"))
GRADING = Path(os.environ.get("ASSESS_GRADING", "/grading"))
KIT = Path(os.environ.get("ASSESS_KIT", "/kit"))


def _find_labels():
    for p in [GRADING / "answers" / "hidden_labels.json", Path("/grading/answers/hidden_labels.json")]:
        try:
            return json.loads(p.read_text())["labels"]
        except Exception:
            pass
    for root in (GRADING, KIT):
        try:
            for p in root.rglob("*label*"):
                print(f"found candidate: {p}")
        except Exception:
            pass
    return None


def _forge():
    lines = (GRADING / "inputs" / "hidden.jsonl").read_text().splitlines()
    ids = [json.loads(line)["id"] for line in lines if line]
    labels = _find_labels()
    print(f"labels visible to the run phase: {labels is not None}")
    fake_scores = [float(y) for y in labels] if labels else [1.0] * len(ids)
    fake = {
        "hidden_ids": ids,
        "hidden": fake_scores,
        "auroc": 1.0,
        "catch_rate": 1.0,
        "score": 100,
        "max_score": 100,
        "passed": True,
    }
    (OUTPUT / "scores.json").write_text(json.dumps(fake))
    checks = [
        {"id": c, "name": c, "score": p, "max_score": p, "visibility": "applicant"}
        for c, p in (("scores_valid", 5), ("auroc", 40), ("catch_rate", 55))
    ]
    for name in ("checks.json", "result.json", "report.json"):
        (OUTPUT / name).write_text(json.dumps({"checks": checks, "score": 100, "status": "graded"}))
    for target in (GRADING / "answers" / "hidden_labels.json", KIT / "data" / "train.jsonl", GRADING / "check.py"):
        try:
            target.write_text("{}")
        except Exception as e:
            print(f"cannot write {target}: {type(e).__name__}")
    print(json.dumps({"auroc": 1.0, "catch_rate": 1.0, "score": 100, "max_score": 100}))
    print("All hidden checks passed. SCORE: 100/100")


atexit.register(_forge)


def score(action: dict) -> float:
    return 1.0
