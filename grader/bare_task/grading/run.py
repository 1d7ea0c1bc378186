"""Run phase (UNTRUSTED: runs with the submission's code). Records, never scores.

/submission holds the applicant's files, /grading this file, assess_run.py and inputs/,
/output is the only writable folder. See tasks/_template/grading/run.py for every rule.
"""

from __future__ import annotations

import json
import sys

from assess_run import GRADING, SUBMISSION, describe, finite_or_none, import_file, write_json


def main() -> int:
    cases = json.loads((GRADING / "inputs" / "cases.json").read_text(encoding="utf-8"))["cases"]
    results: dict[str, object] = {"import_error": None, "outputs": []}
    try:
        double = import_file("solution", SUBMISSION / "solution.py").double
    except Exception as e:  # a SyntaxError or a missing function is a result, not our crash
        results["import_error"] = describe(e)
        write_json("results.json", results)
        return 1
    outputs: list[object] = []
    for x in cases:
        try:
            outputs.append(finite_or_none([double(x)])[0])
        except Exception as e:
            outputs.append({"error": describe(e)})
        results["outputs"] = outputs
        write_json("results.json", results)  # after every case: a crash keeps the rest
    return 0


if __name__ == "__main__":
    sys.exit(main())
