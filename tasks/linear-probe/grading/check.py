"""TRUSTED phase: score the applicant's probe on held-out sequences it never saw.

Reads only data from /output (probe.json, probe.safetensors), treating it as hostile: any
missing file, wrong type, shape, dtype or non-finite value scores 0 with feedback, never an
exception. Activations are recomputed here, with the kit's model code and weights, on the
hidden grading/answers/heldout.npz (longer bodies and a different filler mix than the public
data). Errors in the task's own files (kit model, answers) do raise: that is a task error,
not the applicant's fault.

Checks (sum 100):
  format            10  applicant  the run phase produced a well-formed probe
  heldout-accuracy  50  reviewer   accuracy on held-out sequences; none at <= 0.60 (chance is
                                   0.50), linear to full credit at >= 0.98
  noise-robustness  40  reviewer   the probe's accuracy on the held-out activations with
                                   isotropic Gaussian noise (sigma 4.0 per coordinate) added,
                                   computed exactly from each sequence's margin; none at
                                   <= 0.60, full at >= 0.97

Why the robustness check: at the right layer the feature is so strong that almost any
separating hyperplane is 100% accurate on the public data, and accuracy alone cannot tell a
probe that reads the feature's direction from one that separates the public data along
directions in which the activations barely vary (unregularised least squares / LDA / a
logistic regression fitted to convergence by Newton's method). Those probes have margins of
1-2 units where the two classes' mean activations are ~80 apart, and they are the ones that
lose accuracy on the held-out set's longer bodies. The expected accuracy under noise of a
fixed size is a margin measure that does not depend on the scale of the weight vector.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
from assess_check import Check, Context, credit, import_kit

FORMAT_POINTS = 10.0
ACCURACY_POINTS = 50.0
ROBUSTNESS_POINTS = 40.0
ZERO_AT, FULL_AT = 0.60, 0.98
# Noise per coordinate of the residual stream. At layer 2 the class means are ~80 apart
# (distance) and a probe along that direction has held-out margins of ~15-40, so it keeps
# >= 0.99 of its accuracy; probes with margins of 1-2 keep ~0.65 (see the README).
NOISE_SIGMA = 4.0
ROBUST_ZERO_AT, ROBUST_FULL_AT = 0.60, 0.97
PUBLIC_MAX_BODY = 20  # the public data's longest body; held-out bodies go up to 26
MAX_JSON_BYTES = 64 * 1024
MAX_TENSOR_BYTES = 1024 * 1024


class BadOutput(Exception):
    """What the run phase wrote is missing or malformed; the message is the feedback."""


def _output_file(ctx: Context, name: str, max_bytes: int) -> Path:
    path = ctx.output / name
    if path.is_symlink() or (path.exists() and not path.is_file()):
        raise BadOutput(f"{name} is not a regular file")
    if not path.exists():
        raise BadOutput(f"{name} is missing")
    if path.stat().st_size > max_bytes:
        raise BadOutput(f"{name} is larger than {max_bytes} bytes")
    return path


def _read_layer(ctx: Context, n_layers: int) -> int:
    path = _output_file(ctx, "probe.json", MAX_JSON_BYTES)
    try:
        data: Any = json.loads(path.read_bytes().decode("utf-8"))
    except Exception:  # bad UTF-8, bad JSON, absurd nesting: all hostile input
        raise BadOutput("probe.json is not valid JSON") from None
    layer = data.get("layer") if isinstance(data, dict) else None
    if isinstance(layer, bool) or not isinstance(layer, int):
        raise BadOutput("probe.json has no integer 'layer'")
    if not 0 <= layer <= n_layers:
        raise BadOutput(f"probe.json layer {layer} is outside 0..{n_layers}")
    return layer


def _read_tensors(ctx: Context, d_model: int) -> tuple[np.ndarray, float]:
    path = _output_file(ctx, "probe.safetensors", MAX_TENSOR_BYTES)
    try:
        from safetensors.numpy import load_file

        tensors = load_file(str(path))
    except Exception:
        raise BadOutput("probe.safetensors cannot be read as safetensors") from None
    weight, bias = tensors.get("weight"), tensors.get("bias")
    if weight is None or bias is None:
        raise BadOutput("probe.safetensors needs tensors 'weight' and 'bias'")
    if weight.dtype != np.float32 or bias.dtype != np.float32:
        raise BadOutput("'weight' and 'bias' must be float32")
    if weight.shape != (d_model,):
        raise BadOutput(f"'weight' has shape {list(weight.shape)}; expected [{d_model}]")
    if bias.shape != (1,):
        raise BadOutput(f"'bias' has shape {list(bias.shape)}; expected [1]")
    if not (np.all(np.isfinite(weight)) and np.all(np.isfinite(bias))):
        raise BadOutput("the probe has NaN or infinite values")
    return weight.astype(np.float64), float(bias[0])


def _why_no_output(ctx: Context) -> str:
    if ctx.run_timed_out:
        return "the run phase timed out before writing a probe; fit() must finish in time"
    if ctx.run_exit_code not in (None, 0):
        return f"the run phase exited with code {ctx.run_exit_code}; see the run log"
    return ""


def check(ctx: Context) -> list[Check]:
    import torch

    torch.set_num_threads(1)
    kit = import_kit(ctx, "model.py", "linear_probe_kit_model")
    n_layers, d_model = kit.CONFIG["n_layers"], kit.CONFIG["d_model"]
    try:
        layer = _read_layer(ctx, n_layers)
        weight, bias = _read_tensors(ctx, d_model)
    except BadOutput as e:
        why = "; ".join(s for s in (_why_no_output(ctx), str(e)) if s)
        return [
            _format_check(0.0, f"No valid probe: {why}."),
            _accuracy_check(0.0, "Not scored: no valid probe."),
            _robustness_check(0.0, "Not scored: no valid probe."),
        ]
    fmt = _format_check(FORMAT_POINTS, f"Valid probe at layer {layer}: weight [{d_model}], bias.")
    norm = float(np.sqrt(np.sum(weight * weight)))

    model = kit.load_model(ctx.kit / "model.safetensors")
    with np.load(ctx.answers / "heldout.npz", allow_pickle=False) as f:
        tokens, labels = f["tokens"].astype(np.int64), f["labels"].astype(np.int64)
    acts = kit.residual_stream(model, tokens)[:, layer].astype(np.float64)
    with np.errstate(all="ignore"):
        logits = acts @ weight + bias
    correct = np.isfinite(logits) & ((logits > 0) == (labels == 1))
    acc = float(correct.mean())
    robust, margins = noise_robust_accuracy(logits, labels, norm, correct)
    long = kit.query_positions(tokens) - 1 > PUBLIC_MAX_BODY
    feedback = (
        f"Layer {layer}: held-out accuracy {acc:.3f} on {len(labels)} sequences "
        f"({float(correct[~long].mean()):.3f} on bodies of <= {PUBLIC_MAX_BODY} tokens, "
        f"{float(correct[long].mean()):.3f} on longer ones; predicted-red rate "
        f"{float((logits > 0).mean()):.2f}). Credit is 0 at <= {ZERO_AT:.2f} (chance is 0.50) "
        f"and full at >= {FULL_AT:.2f}."
    )
    if margins.size:
        margin_text = (
            f"signed distance of the held-out activations from the decision boundary: "
            f"10th percentile {float(np.percentile(margins, 10)):.2f}, median "
            f"{float(np.median(margins)):.2f}"
        )
    else:
        margin_text = "the weight vector is zero: the prediction is the same for every sequence"
    robust_feedback = (
        f"Layer {layer}: with isotropic Gaussian noise of standard deviation {NOISE_SIGMA:g} "
        f"added to each coordinate of the held-out activations, the probe is expected to "
        f"classify {robust:.3f} correctly ({margin_text}). Credit is 0 at <= "
        f"{ROBUST_ZERO_AT:.2f} and full at >= {ROBUST_FULL_AT:.2f}."
    )
    return [
        fmt,
        _accuracy_check(round(ACCURACY_POINTS * credit(acc, ZERO_AT, FULL_AT), 2), feedback),
        _robustness_check(
            round(ROBUSTNESS_POINTS * credit(robust, ROBUST_ZERO_AT, ROBUST_FULL_AT), 2),
            robust_feedback,
        ),
    ]


def noise_robust_accuracy(
    logits: np.ndarray, labels: np.ndarray, norm: float, correct: np.ndarray
) -> tuple[float, np.ndarray]:
    """Expected accuracy when N(0, NOISE_SIGMA^2 I) noise is added to each activation.

    For a probe (w, b) and activation a with label y in {-1, +1}, the prediction survives
    the noise with probability Phi(y (a.w + b) / (sigma |w|)): the noise's component along w
    is N(0, sigma^2 |w|^2). Returns that probability averaged over the sequences, and the
    signed margins y (a.w + b) / |w| (empty when w = 0: then the prediction ignores the noise
    and each sequence counts as it is classified).
    """
    if not (norm > 0 and np.isfinite(norm)):
        return float(correct.mean()), np.zeros(0)
    sign = np.where(labels == 1, 1.0, -1.0)
    with np.errstate(all="ignore"):
        margins = sign * logits / norm
    # A margin too large for a float (a huge bias over a tiny weight) keeps its side.
    margins = np.where(np.isfinite(margins), margins, np.where(correct, np.inf, -np.inf))
    z = margins / (NOISE_SIGMA * math.sqrt(2.0))
    survive = 0.5 * (1.0 + np.array([math.erf(v) for v in z.tolist()]))
    return float(survive.mean()), margins[np.isfinite(margins)]


def _format_check(score: float, feedback: str) -> Check:
    return Check(
        id="format",
        name="Probe written in the expected format",
        score=score,
        max_score=FORMAT_POINTS,
        visibility="applicant",
        feedback=feedback,
    )


def _robustness_check(score: float, feedback: str) -> Check:
    return Check(
        id="noise-robustness",
        name="Probe accuracy under activation noise (margin)",
        score=score,
        max_score=ROBUSTNESS_POINTS,
        visibility="reviewer",
        feedback=feedback,
    )


def _accuracy_check(score: float, feedback: str) -> Check:
    return Check(
        id="heldout-accuracy",
        name="Probe accuracy on held-out sequences",
        score=score,
        max_score=ACCURACY_POINTS,
        visibility="reviewer",
        feedback=feedback,
    )
