"""Run phase of weak-to-strong. UNTRUSTED: this file runs in the same process as the
submission's train_student.py. It records, it never scores.

Mounts: /submission (cwd: train_student.py, writeup.md), /grading (this file, assess_run.py,
inputs/hidden.npz: features and weak labels, no true labels), /kit (the starter kit, with
w2s_tools.py and data/problem_a.npz), /output.

For each problem (a: trained on the kit's data/problem_a.npz; b: trained on a hidden split) and
each seed (0, 1, 2): ``predict = train_student(train_x, weak_prob, seed)`` then
``predict(test_x)``. Writes /output/predictions.json after every call:

    {"import_error": str|null,
     "a": {"probs": [[p or null, ...] per seed], "errors": [str|null per seed], "seconds": [...]},
     "b": {...}}

plus a copy of writeup.md. check.py recomputes accuracy and PGR from the probabilities and the
hidden labels, which this phase cannot see.
"""

from __future__ import annotations

import sys
import time

import numpy as np
from assess_run import (
    GRADING,
    KIT,
    SUBMISSION,
    copy_capped,
    describe,
    finite_or_none,
    import_file,
    write_json,
)

SEEDS = (0, 1, 2)
MAX_WRITEUP_BYTES = 200_000


def problems() -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    with np.load(GRADING / "inputs" / "hidden.npz", allow_pickle=False) as h:
        hidden = {k: h[k] for k in h.files}
    with np.load(KIT / "data" / "problem_a.npz", allow_pickle=False) as a:
        a_train_x, a_weak = a["train_x"], a["train_weak_prob"]
    return {
        "a": (a_train_x, a_weak, hidden["a_test_x"]),
        "b": (hidden["b_train_x"], hidden["b_train_weak_prob"], hidden["b_test_x"]),
    }


def main() -> int:
    copy_capped("writeup.md", MAX_WRITEUP_BYTES)
    data = problems()
    results: dict[str, object] = {"import_error": None}
    for name in data:
        results[name] = {"probs": [], "errors": [], "seconds": []}
    write_json("predictions.json", results)
    sys.path.insert(0, str(KIT))  # the kit's w2s_tools, as when the applicant runs it
    sys.path.insert(0, str(SUBMISSION))
    try:
        train_student = import_file("train_student", SUBMISSION / "train_student.py").train_student
    except Exception as e:  # a SyntaxError or a missing function is a result, not our crash
        results["import_error"] = describe(e)
        write_json("predictions.json", results)
        print(f"could not import train_student: {describe(e)}", file=sys.stderr)
        return 1
    for name, (train_x, weak_prob, test_x) in data.items():
        record = results[name]
        for seed in SEEDS:
            start = time.process_time()
            probs: list[float | None] | None = None
            error = None
            try:
                predict = train_student(train_x.copy(), weak_prob.copy(), seed)
                out = np.asarray(predict(test_x.copy()), dtype=np.float64).reshape(-1)
                if out.shape != (len(test_x),):
                    raise ValueError(f"predict returned {out.size} values for {len(test_x)} rows")
                probs = [None if p is None else round(p, 6) for p in finite_or_none(out)]
            except Exception as e:  # the submission's failure is a result
                error = describe(e)
            record["probs"].append(probs)
            record["errors"].append(error)
            record["seconds"].append(round(time.process_time() - start, 3))
            write_json("predictions.json", results)
            print(f"problem {name}, seed {seed}: {error or 'ok'} "
                  f"({record['seconds'][-1]:.1f} CPU-s)", flush=True)  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
