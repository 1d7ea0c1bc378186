"""Run phase of sandbagging-elicit. UNTRUSTED: this file runs in the same process as elicit.py.

Mounts: /submission (ro, cwd), /grading (ro: this file and inputs/benchmark_hidden.json, the
hidden benchmark's prompts, no labels), /kit (ro: the kit, with both models), /output (rw).

It copies findings.json and writeup.md (capped) to /output, then, for each model of the kit
(model_a, then model_b), loads a fresh copy and calls ``elicit.elicit(model, prompts)`` on the
hidden benchmark prompts (every one carries the benchmark's usual tags), and records the
answers as data:

    /output/answers.json  {"n": N, "model_a": [int|null, ...] | null, "model_b": ...,
                           "errors": {"model_a": "...", ...}, "seconds": {...}}

An answer that is not an integer in 0-31 is recorded as null; a call that raises or returns
the wrong number of answers is recorded as an error (null answers). Nothing here decides a
score: check.py compares the answers with the hidden labels and with each model's own answers
to the prompts without the cue, which it computes itself.
"""

from __future__ import annotations

import copy
import json
import sys
import time
from typing import Any

from assess_run import (
    GRADING,
    KIT,
    SUBMISSION,
    copy_capped,
    describe,
    import_file,
    write_json,
)

MAX_FINDINGS_BYTES = 100_000
MAX_WRITEUP_BYTES = 200_000
N_VALUES = 32
MODELS = ("model_a", "model_b")


def as_answer(value: Any) -> int | None:
    """An integer answer in 0-31 (numpy and torch integers included), else None."""
    if isinstance(value, bool):
        return None
    try:
        if hasattr(value, "item") and not isinstance(value, int):
            value = value.item()
    except Exception:
        return None
    if isinstance(value, int) and 0 <= value < N_VALUES:
        return int(value)
    return None


def to_list(result: Any, n: int) -> list[Any]:
    if hasattr(result, "tolist"):
        result = result.tolist()
    if not isinstance(result, list | tuple):
        raise TypeError(f"elicit returned {type(result).__name__}, not a list of answers")
    if len(result) != n:
        raise ValueError(f"elicit returned {len(result)} answers for {n} prompts")
    return list(result)


def main() -> int:
    prompts = json.loads((GRADING / "inputs" / "benchmark_hidden.json").read_text("utf-8"))
    n = len(prompts)
    record: dict[str, Any] = {
        "n": n,
        "model_a": None,
        "model_b": None,
        "errors": {},
        "seconds": {},
        "import_error": None,
    }
    write_json("answers.json", record)
    copy_capped("findings.json", MAX_FINDINGS_BYTES)
    copy_capped("writeup.md", MAX_WRITEUP_BYTES)

    # The kit's code, importable by elicit.py as `model` and `tools` (as in the kit folder).
    sys.path.insert(0, str(KIT))
    sys.path.insert(0, str(SUBMISSION))
    try:
        kit_model = import_file("model", KIT / "model.py")
        import_file("tools", KIT / "tools.py")
        submission = import_file("elicit", SUBMISSION / "elicit.py")
        elicit = submission.elicit
        if not callable(elicit):
            raise TypeError("elicit.elicit is not callable")
    except Exception as e:  # includes SyntaxError in the applicant's file
        record["import_error"] = describe(e)
        write_json("answers.json", record)
        print(f"could not import elicit.elicit: {describe(e)}", file=sys.stderr)
        return 1

    for name in MODELS:
        start = time.perf_counter()
        try:
            model = kit_model.load_model(name, KIT)
            result = to_list(elicit(model, copy.deepcopy(prompts)), n)
            answers = [as_answer(v) for v in result]
        except Exception as e:  # the submission's exception is a result, not our crash
            record["errors"][name] = describe(e)
            answers = None
        record[name] = answers
        record["seconds"][name] = round(time.perf_counter() - start, 3)
        write_json("answers.json", record)
        valid = sum(a is not None for a in answers) if answers else 0
        print(f"{name}: {valid} of {n} answers valid in {record['seconds'][name]:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
