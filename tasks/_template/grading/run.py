"""Run phase of the template task. UNTRUSTED: this file runs *with the submission's code*.

How the grader runs it (task.toml `run.command`, default ``python /grading/run.py``), in a
fresh container with no network, as user 1000, on a read-only root:

    /submission   the applicant's files, read-only; also the working directory
    /grading      ONLY this run.py and grading/inputs/ (never answers/), read-only
    /kit          the task's starter/ folder, read-only (e.g. shared helpers, small data)
    /output       writable, size-capped (resources.output_mb): the phase's only product
    /tmp          small tmpfs (resources.tmp_mb); HOME=/tmp

The environment variables ASSESS_SUBMISSION, ASSESS_GRADING, ASSESS_KIT and ASSESS_OUTPUT
name those folders; reading them (with the container paths as defaults) lets an author run
this file on the host against temporary folders.

The rules this file follows, and every run.py should:

1. Nothing here is trusted afterwards. The submission runs in this very process: it can
   replace functions of this file, write anything to /output, register an ``atexit`` hook
   that overwrites results.json, or print "Score: 100/100". So this file *measures* and
   *records*; it never decides a score. grading/check.py recomputes everything from the data
   left in /output and the hidden answers, which this phase cannot see.
2. Outputs are DATA: JSON (strict: no NaN, ``allow_nan=False``), ``.npz`` or safetensors.
   Never pickle (loading a pickle executes code), never a score.
3. One broken case must not cost the others: each call is wrapped, and results are written
   after every case (atomically), so a crash or a timeout still leaves what was done.
4. Keep the record small and bounded: the output folder is size-capped, and check.py refuses
   files above its own limit.
5. Exit non-zero only when the submission could not be run at all (say, it fails to import):
   the report then shows "run phase exited with code 1, see the run log".
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from assess_run import describe, finite_or_none, write_json

SUBMISSION = Path(os.environ.get("ASSESS_SUBMISSION", "/submission"))
GRADING = Path(os.environ.get("ASSESS_GRADING", "/grading"))
OUTPUT = Path(os.environ.get("ASSESS_OUTPUT", "/output"))
RESULTS = OUTPUT / "results.json"


def run_case(softmax: Callable[..., Any], case: dict[str, Any]) -> dict[str, Any]:
    """Call the submission on one hidden input and record what came back."""
    x = np.asarray(case["values"], dtype=np.float64).reshape(case["shape"])
    start = time.perf_counter()
    try:
        # A copy, so a function that writes into its argument cannot affect later cases.
        y = np.asarray(softmax(x.copy()), dtype=np.float64)
    except Exception as e:  # anything the submission raises is a result, not our crash
        return {"ok": False, "error": describe(e)}
    seconds = round(time.perf_counter() - start, 6)
    if y.shape != x.shape:
        # Record the shape only: values of the wrong shape cannot be compared, and a huge
        # array would blow the output budget. The error text is generic on purpose (the
        # applicant sees it; the shapes are in the record for reviewers).
        return {
            "ok": False,
            "error": "returned an array whose shape differs from its input's",
            "shape": list(y.shape)[:8],
        }
    return {"ok": True, "values": finite_or_none(y), "seconds": seconds}


def main() -> int:
    cases = json.loads((GRADING / "inputs" / "cases.json").read_text(encoding="utf-8"))["cases"]
    results: dict[str, Any] = {"import_error": None, "cases": {}}

    # Import the submission the way the applicant ran it: from its folder, as a module.
    sys.path.insert(0, str(SUBMISSION))
    try:
        import solution

        softmax = solution.softmax
    except Exception as e:  # includes SyntaxError from the applicant's file
        results["import_error"] = describe(e)
        write_json(RESULTS, results)
        print(f"could not import solution.softmax: {describe(e)}", file=sys.stderr)
        return 1

    write_json(RESULTS, results)
    for case in cases:
        record = run_case(softmax, case)
        results["cases"][case["id"]] = record
        write_json(RESULTS, results)
        # The log is for reviewers (and for you while authoring): short, no hidden values.
        status = "ok" if record["ok"] else record["error"]
        print(f"{case['id']}: {status}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
