"""Check phase of weak-to-strong (TRUSTED: decides the score). /output is hostile data.

For each hidden problem (a, b): accuracy of every seed's test probabilities against the true
labels (a probability that is missing, null or not a number counts as wrong; a seed that
failed scores 0), averaged over the three seeds; then

    PGR = (accuracy - weak_acc) / (ceiling_acc - weak_acc)

with weak_acc (the weak supervisor on the same test points) and ceiling_acc (the kit's
logistic head trained on the true training labels) recorded by grading/build/build.py in
answers.json. Each problem is worth 50 points: 50 * credit(PGR, zero_at=0.2, full_at=0.8).
Any score, PGR or verdict the run phase wrote is ignored.
"""

from __future__ import annotations

import json
import math

from assess_check import Check, Context, as_number, clip, credit

PROBLEMS = ("a", "b")
SEEDS = 3
POINTS = 50.0
ZERO_AT = 0.2
FULL_AT = 0.8


def seed_accuracy(probs: object, labels: list[int]) -> tuple[float, int]:
    """Accuracy of one seed's probabilities; also how many entries were unusable."""
    if not isinstance(probs, list) or len(probs) != len(labels):
        return 0.0, len(labels)
    right = bad = 0
    for p, y in zip(probs, labels, strict=True):
        v = as_number(p)
        if v is None or not 0.0 <= v <= 1.0:
            bad += 1
        elif (v > 0.5) == (y == 1):
            right += 1
    return right / len(labels), bad


def score_problem(name: str, record: object, answer: dict) -> Check:
    labels = answer["test_y"]
    weak, ceiling = float(answer["weak_acc"]), float(answer["ceiling_acc"])
    record = record if isinstance(record, dict) else {}
    all_probs = record.get("probs")
    all_probs = all_probs if isinstance(all_probs, list) else []
    errors = record.get("errors")
    errors = errors if isinstance(errors, list) else []
    accs: list[float] = []
    notes: list[str] = []
    for seed in range(SEEDS):
        probs = all_probs[seed] if seed < len(all_probs) else None
        acc, bad = seed_accuracy(probs, labels)
        accs.append(acc)
        err = errors[seed] if seed < len(errors) else None
        if isinstance(err, str):
            notes.append(f"seed {seed} failed: {clip(err, 160)}")
        elif probs is None or not isinstance(probs, list):
            notes.append(f"seed {seed}: no predictions recorded")
        elif bad:
            notes.append(f"seed {seed}: {bad} predictions missing, non-finite or outside [0, 1]")
    mean_acc = sum(accs) / SEEDS
    pgr = (mean_acc - weak) / (ceiling - weak)
    score = POINTS * credit(pgr, zero_at=ZERO_AT, full_at=FULL_AT)
    score = min(POINTS, max(0.0, score)) if math.isfinite(score) else 0.0
    feedback = (
        f"test accuracy {mean_acc:.4f} (seeds: {', '.join(f'{a:.4f}' for a in accs)}); "
        f"weak supervisor {weak:.4f}, ceiling {ceiling:.4f}; PGR {pgr:.3f} "
        f"(no credit at {ZERO_AT}, full at {FULL_AT})."
    )
    if notes:
        feedback += " " + "; ".join(notes[:3]) + "."
    label = "the kit's training split" if name == "a" else "a hidden training split"
    return Check(
        id=f"pgr_{name}",
        name=f"Problem {name.upper()} ({label}): performance gap recovered",
        score=score,
        max_score=POINTS,
        visibility="applicant",
        feedback=feedback,
    )


def check(ctx: Context) -> list[Check]:
    answers = json.loads((ctx.answers / "answers.json").read_text(encoding="utf-8"))
    try:
        results = ctx.read_json("predictions.json", max_bytes=5_000_000)
    except (ValueError, RecursionError) as e:
        results = {"import_error": f"predictions.json is unreadable ({clip(e)})"}
    if not isinstance(results, dict):
        results = {"import_error": "no predictions.json (the run phase recorded nothing)"}
    checks = [score_problem(name, results.get(name), answers[name]) for name in PROBLEMS]
    error = results.get("import_error")
    if isinstance(error, str):
        for c in checks:
            c.feedback = (c.feedback + " Could not import train_student: " + clip(error))[:4000]
    return checks
