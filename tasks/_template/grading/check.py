"""Check phase of the template task. TRUSTED: this file decides the score.

How the grader runs it: a second, fresh container runs the harness
(``python /assess/assess_check.py``, grader/harness/assess_check.py), which imports this file
and calls ``check(ctx)``. No submission code runs here. The container sees:

    /output    what the run phase left (read-only): DATA written by untrusted code
    /grading   this whole folder (read-only): check.py, inputs/, answers/, build/
    /kit       the starter/ folder (read-only)
    /result    where the harness writes checks.json (you never touch it)

`ctx` (assess_check.Context) gives those paths as ctx.output, ctx.inputs, ctx.answers,
ctx.grading and ctx.kit, plus ctx.run_exit_code (None after a timeout), ctx.run_timed_out
and ctx.read_json(name, max_bytes) for reading a JSON file from /output with a size cap.

The rules this file follows, and every check.py should:

1. Outputs are hostile. Every value read from /output may be missing, the wrong type,
   enormous, NaN, a 400-digit integer, nested 100,000 deep, or a forged "score". Read only
   the fields you need, check each one's type, and turn anything unexpected into "no credit
   for this case" with a reason -- never into an exception. (An exception here is reported
   as a *task* error, "not the applicant's fault", and the submission gets no score at all.)
   Never load a pickle (np.load(..., allow_pickle=False); safetensors and JSON are fine).
2. Recompute, don't trust. The score comes from comparing outputs with grading/answers/; any
   score, "passed" flag or checks.json that the run phase wrote is ignored.
3. Checks' max_score values must add up to task.toml's scoring.max_score (100 here); the
   grader rejects the result otherwise. Check ids: letters, digits, "_.:-", at most 64.
4. Partial credit: `credit(value, zero_at, full_at)` maps a measurement linearly onto [0, 1].
5. Visibility: "applicant" checks (score and feedback) may be shown to the applicant;
   "reviewer" checks only to reviewers. Keep checks reviewer-only when their feedback would
   reveal the hidden test set (so applicants cannot probe it by resubmitting).
6. Feedback helps without leaking: say what *kind* of input failed and *how* (raised, NaN,
   wrong shape, rows do not sum to 1, error size), never the hidden values or the expected
   outputs. Keep it short: the report caps feedback at 4000 characters per check.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from assess_check import Check, Context, as_number, clip, credit

RESULTS_FILE = "results.json"
# The honest results.json is ~8 kB; refuse to parse anything far larger (memory, time).
MAX_RESULTS_BYTES = 1_000_000
# Per-case credit from the largest absolute error against the float64 answer, linear in
# log10(error): full credit at 1e-6 (float64 round-off is ~1e-16; float32 arithmetic lands
# near 1e-7 on ordinary logits but loses a little on logits near 1000), none at 1e-2
# (clearly wrong probabilities). Measured: a float32 implementation earns ~98, float16 ~47.
FULL_CREDIT_ERROR = 1e-6
ZERO_CREDIT_ERROR = 1e-2
# Submission-controlled text (an exception message) is clipped before it enters feedback.
MAX_QUOTED_CHARS = 200
MAX_FEEDBACK_CHARS = 2000


@dataclass(frozen=True)
class Group:
    """One check: the hidden cases of one group (cases.json `group`) and their points."""

    id: str
    name: str
    points: float
    visibility: str  # "applicant" or "reviewer"


# The scoring policy in one place. 40 + 25 + 25 + 10 = 100 = task.toml scoring.max_score.
GROUPS = (
    Group("basic", "Softmax of 1-D vectors and 2-D batches", 40.0, "applicant"),
    Group("batched", "Normalises over the last axis of N-D batches", 25.0, "applicant"),
    Group("stability", "Numerically stable for large-magnitude logits", 25.0, "applicant"),
    # Reviewer-only: naming which edge cases fail would reveal the hidden edge-case list.
    Group("edge", "Edge cases (hidden list)", 10.0, "reviewer"),
)


def load_records(ctx: Context) -> tuple[dict[str, Any], str]:
    """The run phase's per-case records (possibly empty) and a note for the feedback."""
    try:
        data = ctx.read_json(RESULTS_FILE, max_bytes=MAX_RESULTS_BYTES)
    except (ValueError, RecursionError) as e:  # too big, not UTF-8, not JSON, absurdly nested
        return {}, f"{RESULTS_FILE} could not be read ({type(e).__name__}); no case scored"
    if data is None:
        return {}, f"the run phase wrote no {RESULTS_FILE} (see the run log); no case scored"
    if not isinstance(data, dict):
        return {}, f"{RESULTS_FILE} is not a JSON object; no case scored"
    note = ""
    if isinstance(data.get("import_error"), str):
        note = "solution.py could not be imported: " + clip(data["import_error"], MAX_QUOTED_CHARS)
    records = data.get("cases")
    return (records if isinstance(records, dict) else {}), note


def rows_sum_to_one(values: list[float], last: int) -> bool:
    """Whether consecutive rows of length `last` (the last axis) each sum to about 1."""
    return all(
        abs(math.fsum(values[i : i + last]) - 1.0) < 1e-4 for i in range(0, len(values), last)
    )


def score_case(record: object, expected: list[float], last: int) -> tuple[float, str, str]:
    """Credit in [0, 1] for one case, why it is below 1, and a per-case detail.

    `record` is whatever the run phase left for this case: treat it as hostile. The reason
    names a kind of failure (cases that fail the same way share one feedback line); the
    detail carries this case's own numbers.
    """
    if not isinstance(record, dict):
        return 0.0, "no result (the run did not reach this case, or its record is malformed)", ""
    if isinstance(record.get("error"), str):
        return 0.0, "failed: " + clip(record["error"], MAX_QUOTED_CHARS), ""
    raw = record.get("values")
    if not isinstance(raw, list) or len(raw) != len(expected):
        return 0.0, "no output values, or the wrong number of them", ""
    if any(v is None for v in raw):  # run.py writes NaN and inf as null
        return 0.0, "the output contains NaN or inf", ""
    values = [as_number(v) for v in raw]
    if any(v is None for v in values):
        return 0.0, "the output contains values that are not finite numbers", ""
    got = [v for v in values if v is not None]  # (all are, after the check above)
    worst = max(abs(g - w) for g, w in zip(got, expected, strict=True))
    fraction = credit(
        -math.log10(max(worst, 1e-300)),
        zero_at=-math.log10(ZERO_CREDIT_ERROR),
        full_at=-math.log10(FULL_CREDIT_ERROR),
    )
    if fraction >= 1.0:
        return 1.0, "", ""
    if rows_sum_to_one(got, last):
        why = f"inaccurate values (full credit needs every error below {FULL_CREDIT_ERROR:.0e})"
    else:
        why = "rows along the last axis do not sum to 1"
    detail = f"largest error {worst:.1e}" + (f", credit {fraction:.0%}" if fraction > 0 else "")
    return fraction, why, detail


def clip_lines(lines: list[str], limit: int) -> str:
    """Join lines, dropping the tail (with a marker) if the text would exceed `limit`."""
    text = "\n".join(lines)
    return text if len(text) <= limit else text[: limit - 20] + "\n[... more omitted]"


def feedback(group: Group, scored: list[tuple[dict[str, Any], float, str, str]], note: str) -> str:
    """What the check says: how many cases passed, then each kind of failure once.

    Applicants see the *kind* of input (its hint); reviewers also see the case id.
    """
    full = sum(1 for _, fraction, _, _ in scored if fraction >= 1.0)
    lines = [note] if note else []
    lines.append(f"{full} of {len(scored)} hidden cases fully correct.")
    failures: dict[str, list[str]] = {}  # reason -> the inputs that failed that way
    for case, fraction, why, detail in scored:
        if fraction >= 1.0:
            continue
        label = (
            case["hint"] if group.visibility == "applicant" else f"{case['id']} ({case['hint']})"
        )
        failures.setdefault(why, []).append(f"{label} [{detail}]" if detail else label)
    lines += [f"- {why}. Inputs: {'; '.join(labels)}" for why, labels in failures.items()]
    return clip_lines(lines, MAX_FEEDBACK_CHARS)


def check(ctx: Context) -> list[Check]:
    """One check per group of hidden cases, each with per-case partial credit."""
    # Our own files: if these fail to load, the task is broken and raising is right.
    cases = json.loads((ctx.inputs / "cases.json").read_text(encoding="utf-8"))["cases"]
    expected = json.loads((ctx.answers / "expected.json").read_text(encoding="utf-8"))["cases"]

    records, note = load_records(ctx)
    if ctx.run_timed_out:
        note = (note + " " if note else "") + "The run hit its time limit; unreached cases score 0."

    checks = []
    for group in GROUPS:
        members = [c for c in cases if c["group"] == group.id]
        scored = [
            (case, *score_case(records.get(case["id"]), expected[case["id"]], case["shape"][-1]))
            for case in members
        ]
        mean = sum(fraction for _, fraction, _, _ in scored) / len(scored)
        checks.append(
            Check(
                id=group.id,
                name=group.name,
                score=round(group.points * mean, 4),
                max_score=group.points,
                visibility=group.visibility,
                feedback=feedback(group, scored, note),
            )
        )
    return checks
