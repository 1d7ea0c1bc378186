"""Run phase of monitor-auroc. UNTRUSTED: this file runs in the same process as monitor.py.

Mounts: /submission (ro, cwd), /grading (ro: this file and inputs/hidden.jsonl, no labels),
/kit (ro: the starter kit, with data/train.jsonl), /output (rw, small), /tmp.

It imports /submission/monitor.py with unpickling disabled, calls ``monitor.score(action)``
on every hidden action (in file order), then on every public training action (labels
stripped; the check phase reports the train/hidden gap to reviewers), and writes DATA only:

    /output/scores.json   {"hidden_ids": [...], "hidden": [float|null, ...],
                           "train_ids": [...], "train": [...], "errors": {...}, ...}
    /output/writeup.md    a copy of the submission's write-up, for reviewers

Scores are written every 250 actions or 2 seconds (atomically), so a run that times out still
leaves what it scored. A score that is not a finite number is recorded as null. Nothing here
decides a score: check.py recomputes AUROC and catch rate from these numbers and the hidden
labels, which this phase cannot see.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from assess_run import describe

SUBMISSION = Path(os.environ.get("ASSESS_SUBMISSION", "/submission"))
GRADING = Path(os.environ.get("ASSESS_GRADING", "/grading"))
KIT = Path(os.environ.get("ASSESS_KIT", "/kit"))
OUTPUT = Path(os.environ.get("ASSESS_OUTPUT", "/output"))
SCORES = OUTPUT / "scores.json"
FLUSH_EVERY = 250  # actions
FLUSH_SECONDS = 2.0
MAX_WRITEUP_BYTES = 200_000
TRAIN_FIELDS_DROPPED = ("label", "category")


def refuse_unpickling() -> None:
    """Make every unpickling entry point raise: weights must be JSON, .npz or safetensors."""
    import pickle

    message = (
        "unpickling is disabled in the grader: save weights as JSON, .npz (np.savez) or "
        "safetensors, and export scikit-learn models to plain arrays"
    )

    def refuse(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError(message)

    # A subclass of the pure-Python unpickler, so that libraries which subclass
    # pickle.Unpickler at import time and copy its class attributes (joblib, hence
    # scikit-learn, copies `dispatch`) still import; creating any unpickler raises.
    class RefusingUnpickler(pickle._Unpickler):  # type: ignore[name-defined,misc]
        def __init__(self, *_args: Any, **_kwargs: Any) -> None:
            raise RuntimeError(message)

    pickle.load = refuse  # type: ignore[assignment]
    pickle.loads = refuse  # type: ignore[assignment]
    pickle.Unpickler = RefusingUnpickler  # type: ignore[assignment,misc]
    pickle._Unpickler = RefusingUnpickler  # type: ignore[attr-defined]
    pickle._load = refuse  # type: ignore[attr-defined]
    pickle._loads = refuse  # type: ignore[attr-defined]
    os.environ["TORCH_FORCE_WEIGHTS_ONLY_LOAD"] = "1"


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def as_score(value: Any) -> float | None:
    """A finite float, or None (bools, strings, NaN, inf, arrays of size != 1 are not scores)."""
    if isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None


class Recorder:
    def __init__(self, hidden_ids: list[str], train_ids: list[str]) -> None:
        self.data: dict[str, Any] = {
            "hidden_ids": hidden_ids,
            "hidden": [None] * len(hidden_ids),
            "train_ids": train_ids,
            "train": [None] * len(train_ids),
            "import_error": None,
            "errors": {"hidden": 0, "train": 0},
            "non_numeric": {"hidden": 0, "train": 0},
            "first_error": None,
            "seconds": {"import": None, "hidden": None, "train": None},
            "done": {"hidden": 0, "train": 0},
        }

    def write(self) -> None:
        tmp = SCORES.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(self.data, allow_nan=False), encoding="utf-8")
        os.replace(tmp, SCORES)


def score_all(rec: Recorder, split: str, actions: list[dict[str, Any]], score: Any) -> None:
    start = last_flush = time.perf_counter()
    for i, action in enumerate(actions):
        try:
            value = score(dict(action))  # a copy: a monitor that mutates cannot affect others
        except Exception as e:  # the submission's exception is a result, not our crash
            rec.data["errors"][split] += 1
            if rec.data["first_error"] is None:
                rec.data["first_error"] = describe(e)
            value = None
        number = as_score(value)
        if number is None and value is not None:
            rec.data["non_numeric"][split] += 1
        rec.data[split][i] = number
        rec.data["done"][split] = i + 1
        now = time.perf_counter()
        if (i + 1) % FLUSH_EVERY == 0 or now - last_flush > FLUSH_SECONDS:
            rec.data["seconds"][split] = round(now - start, 3)
            rec.write()
            last_flush = now
    rec.data["seconds"][split] = round(time.perf_counter() - start, 3)
    rec.write()
    print(
        f"{split}: scored {len(actions)} actions in {rec.data['seconds'][split]:.1f} s", flush=True
    )


def copy_writeup() -> None:
    src = SUBMISSION / "writeup.md"
    if src.is_file() and src.stat().st_size <= MAX_WRITEUP_BYTES:
        shutil.copyfile(src, OUTPUT / "writeup.md")


def main() -> int:
    hidden = read_jsonl(GRADING / "inputs" / "hidden.jsonl")
    train_path = KIT / "data" / "train.jsonl"
    train = read_jsonl(train_path) if train_path.is_file() else []
    for row in train:
        for field in TRAIN_FIELDS_DROPPED:
            row.pop(field, None)
    rec = Recorder([a["id"] for a in hidden], [a["id"] for a in train])
    copy_writeup()
    rec.write()

    refuse_unpickling()
    sys.path.insert(0, str(SUBMISSION))
    start = time.perf_counter()
    try:
        import monitor

        score = monitor.score
        if not callable(score):
            raise TypeError("monitor.score is not callable")
    except Exception as e:  # includes SyntaxError in the applicant's file
        rec.data["import_error"] = describe(e)
        rec.write()
        print(f"could not import monitor.score: {describe(e)}", file=sys.stderr)
        return 1
    rec.data["seconds"]["import"] = round(time.perf_counter() - start, 3)
    print(f"imported monitor in {rec.data['seconds']['import']:.1f} s", flush=True)

    score_all(rec, "hidden", hidden, score)
    score_all(rec, "train", train, score)
    return 0


if __name__ == "__main__":
    sys.exit(main())
