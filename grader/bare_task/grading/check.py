"""Check phase (TRUSTED: decides the score). /output is hostile data; recompute everything.

See tasks/_template/grading/check.py for every rule.
"""

from __future__ import annotations

import json

from assess_check import Check, Context, as_number, clip


def check(ctx: Context) -> list[Check]:
    expected = json.loads((ctx.answers / "expected.json").read_text(encoding="utf-8"))["cases"]
    try:
        results = ctx.read_json("results.json", max_bytes=100_000)
    except (FileNotFoundError, ValueError) as e:
        results = {"import_error": f"no readable results.json ({clip(e)})"}
    outputs = results.get("outputs") if isinstance(results, dict) else None
    if not isinstance(outputs, list):
        outputs = []
    right = 0
    for i, want in enumerate(expected):
        got = as_number(outputs[i]) if i < len(outputs) else None
        if got is not None and abs(got - want) <= 1e-9 * max(1.0, abs(want)):
            right += 1
    error = results.get("import_error") if isinstance(results, dict) else None
    feedback = f"{right} of {len(expected)} hidden cases correct."
    if isinstance(error, str):
        feedback += " Could not import solution.double: " + clip(error)
    return [
        Check(
            id="double",
            name="double(x) on hidden inputs",
            score=100.0 * right / len(expected),
            max_score=100.0,
            visibility="applicant",
            feedback=feedback,
        )
    ]
