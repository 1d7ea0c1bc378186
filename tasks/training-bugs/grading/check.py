"""Check phase of training-bugs. TRUSTED: this file decides the score; no submission code runs.

Every point comes from recomputing a probe with the task's own code: the kit's model.py
(/kit: the grader's copy of the architecture and data), grading/reference.py, and the hidden
inputs (inputs/config.json, inputs/probe.safetensors) and answers (answers/test.json). What
the run phase wrote is hostile data: a missing file, a wrong dtype or shape, NaN or a forged
number scores 0 for that part, with the reason in the feedback, never an exception.

Checks (sum 100), one per planted bug plus the held-out metric:
  data       16 reviewer  make_data returns exactly the split's rows, and the normalisation
                          statistics (from make_data AND in the final model) are the
                          training split's own (leakage)
  loss       16 reviewer  loss_fn's value and gradient on fixed logits = mean cross-entropy
  steps      16 reviewer  3 consecutive train_step calls from a fixed init give the weights a
                          correct step gives (gradients zeroed each step)
  eval       16 reviewer  evaluate() returns eval-mode logits (final model and a probe model:
                          2 + 2), leaves a model given in training mode and one given in eval
                          mode exactly as found, mode included (6), and train() ran its
                          training steps, and only those, in training mode: the final
                          model's batch-norm layers counted epochs x batches per epoch (6)
  schedule   16 reviewer  make_optimizer + train_one_epoch for 6 epochs give the weights of the
                          intended per-epoch learning-rate schedule
  heldout    20 applicant the final weights' accuracy on the hidden test digits, evaluated
                          here in eval mode: 0 at <= 0.90, full at >= 0.95
"""

from __future__ import annotations

import json
import math
import traceback
from types import ModuleType
from typing import Any

import reference as ref
import torch
import torch.nn.functional as F
from assess_check import Check, Context, clip, credit, import_kit

POINTS = {"data": 16.0, "loss": 16.0, "steps": 16.0, "eval": 16.0, "schedule": 16.0}
HELDOUT_POINTS = 20.0
HELDOUT_ZERO_AT, HELDOUT_FULL_AT = 0.90, 0.95
# The eval check's parts, in points of its 16: evaluate()'s outputs are eval-mode logits (on the
# final and on a probe model); evaluate() leaves a model exactly as found, tested with one in
# training mode and one in eval mode (both must hold); train() ran every training step, and
# nothing else, in training mode. A fix that forgets to restore the mode loses the last two:
# in train() every epoch after the first then trains in eval mode.
EVAL_PARTS = {"outputs_final": 2, "outputs_probe": 2, "unchanged": 6, "train_mode": 6}
NAMES = {
    "data": "No leakage: make_data rows and normalisation statistics from the training split",
    "loss": "loss_fn is the mean cross-entropy (value and gradient)",
    "steps": "train_step: consecutive steps match correct updates (gradients zeroed)",
    "eval": "evaluate(): eval-mode outputs, model left as found; train() in training mode",
    "schedule": "Learning-rate schedule: per-epoch milestones, as configured",
}
# Tolerances. A correct submission matches the reference to float round-off (measured
# max abs differences 0 to ~1e-6); each planted bug moves the compared values by >= 1e-2.
STATS_TOL = 1e-4  # pixel mean/std (values 0..16)
LOSS_REL_TOL = 1e-4
GRAD_TOL = 1e-5
WEIGHT_TOL = 1e-4
LOGIT_TOL = 1e-3
STATE_TOL = 1e-6
MAX_TENSOR_FILE = 8_000_000
MAX_RESULTS_BYTES = 1_000_000
MAX_QUOTED = 200


class BadOutput(Exception):
    """What the run phase wrote is missing or malformed; the message is the feedback."""


def read_tensors(ctx: Context, name: str) -> dict[str, torch.Tensor]:
    path = ctx.output / name
    if path.is_symlink() or (path.exists() and not path.is_file()):
        raise BadOutput(f"{name} is not a regular file")
    if not path.exists():
        raise BadOutput(f"{name} is missing (the probe raised or never ran)")
    if path.stat().st_size > MAX_TENSOR_FILE:
        raise BadOutput(f"{name} is larger than {MAX_TENSOR_FILE} bytes")
    try:
        from safetensors.torch import load_file

        return load_file(str(path))
    except Exception:
        raise BadOutput(f"{name} cannot be read as safetensors") from None


def need(tensors: dict[str, torch.Tensor], key: str, dtype: torch.dtype, shape: tuple) -> Any:
    t = tensors.get(key)
    if t is None:
        raise BadOutput(f"tensor {clip(key, 60)!r} is missing")
    if t.dtype != dtype:
        raise BadOutput(f"tensor {clip(key, 60)!r} has dtype {t.dtype}, expected {dtype}")
    if tuple(t.shape) != tuple(shape):
        raise BadOutput(f"tensor {clip(key, 60)!r} has shape {list(t.shape)[:4]}")
    if t.is_floating_point() and not bool(torch.isfinite(t).all()):
        raise BadOutput(f"tensor {clip(key, 60)!r} has NaN or infinite values")
    return t


def state_from(
    tensors: dict[str, torch.Tensor], prefix: str, template: dict[str, torch.Tensor]
) -> dict[str, torch.Tensor]:
    """The DigitsNet state stored under `prefix`, checked against `template`'s keys/shapes."""
    return {k: need(tensors, prefix + k, v.dtype, tuple(v.shape)) for k, v in template.items()}


def state_diff(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> float:
    """Largest absolute difference over all entries (integers included)."""
    worst = 0.0
    for k, v in b.items():
        d = (a[k].double() - v.double()).abs().max().item() if v.numel() else 0.0
        worst = max(worst, d if math.isfinite(d) else math.inf)
    return worst


def final_model(ctx: Context, kit: ModuleType, cfg: dict[str, Any]) -> Any:
    """The submitted final weights in the grader's DigitsNet (eval-ready), or BadOutput."""
    model = kit.DigitsNet(hidden=int(cfg["hidden"]), dropout=float(cfg["dropout"]))
    tensors = read_tensors(ctx, "final.safetensors")
    template = model.state_dict()
    extra = sorted(set(tensors) - set(template))
    if extra:
        raise BadOutput(f"final.safetensors has keys DigitsNet lacks, e.g. {clip(extra[0], 60)!r}")
    model.load_state_dict(state_from(tensors, "", template))
    if float(model.std.min()) <= 0:
        raise BadOutput("the final model's std buffer has non-positive values")
    model.eval()
    return model


class Grader:
    """Holds the trusted inputs; one method per check returns (fraction, feedback lines)."""

    def __init__(self, ctx: Context) -> None:
        from safetensors.torch import load_file

        self.ctx = ctx
        self.kit = import_kit(ctx, "model.py", "training_bugs_kit_model")
        self.config = json.loads((ctx.inputs / "config.json").read_text(encoding="utf-8"))
        self.probe = load_file(str(ctx.inputs / "probe.safetensors"))
        self.test = json.loads((ctx.answers / "test.json").read_text(encoding="utf-8"))["test"]
        self.cfg = self.config["train_config"]
        self.split = self.config["split"]
        self.probes = self.config["probes"]
        self.hidden = int(self.cfg["hidden"])
        self.init = {k[5:]: v for k, v in self.probe.items() if k.startswith("init.")}
        self.x, self.y = self.kit.load_digits_tensors()
        self.results = self._results()
        self._final: Any = None
        self._final_error = ""

    # -------------------------------------------------------------- helpers
    def _results(self) -> dict[str, Any]:
        try:
            data = self.ctx.read_json("results.json", max_bytes=MAX_RESULTS_BYTES)
        except (ValueError, RecursionError):
            return {}
        return data if isinstance(data, dict) else {}

    def probe_note(self, name: str) -> list[str]:
        """The run phase's own account of a probe (unverified; errors help the applicant)."""
        notes = []
        if isinstance(self.results.get("import_error"), str):
            notes.append("train.py could not be imported: " + clip(self.results["import_error"]))
        probes = self.results.get("probes")
        record = probes.get(name) if isinstance(probes, dict) else None
        if isinstance(record, dict) and isinstance(record.get("error"), str):
            notes.append(f"the {name} probe raised: " + clip(record["error"]))
        if self.ctx.run_timed_out:
            notes.append("the run phase hit its time limit")
        return notes

    def batch(self, indices: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
        idx = torch.as_tensor(indices, dtype=torch.int64)
        return self.x[idx].clone(), self.y[idx].clone()

    def final(self) -> Any:
        if self._final is None and not self._final_error:
            try:
                self._final = final_model(self.ctx, self.kit, self.cfg)
            except BadOutput as e:
                self._final_error = str(e)
        if self._final is None:
            raise BadOutput("no usable final weights: " + self._final_error)
        return self._final

    # -------------------------------------------------------------- checks
    def check_data(self) -> tuple[float, list[str]]:
        tensors = read_tensors(self.ctx, "data.safetensors")
        tr, va = self.split["train"], self.split["val"]
        x_tr, y_tr = self.batch(tr)
        x_va, y_va = self.batch(va)
        rows_ok = True
        lines = []
        for key, want, dtype in (
            ("x_train", x_tr, torch.float32),
            ("y_train", y_tr, torch.int64),
            ("x_val", x_va, torch.float32),
            ("y_val", y_va, torch.int64),
        ):
            got = tensors.get(key)
            if got is None or got.dtype != dtype or tuple(got.shape) != tuple(want.shape):
                rows_ok = False
                shape = list(got.shape)[:3] if isinstance(got, torch.Tensor) else None
                lines.append(
                    f"{key}: missing or wrong shape/dtype ({shape}; expected {list(want.shape)})"
                )
            elif not torch.equal(got, want):
                rows_ok = False
                lines.append(f"{key}: not the split's rows, in the split's order (raw pixels)")
        mean_ref, std_ref = self.kit.pixel_stats(x_tr)
        mean_all, std_all = self.kit.pixel_stats(self.x)
        ok = []
        for where, get in (("make_data", lambda: tensors), ("final model", lambda: None)):
            try:
                if get() is None:
                    model = self.final()
                    mean, std = model.mean.detach(), model.std.detach()
                else:
                    mean = need(tensors, "mean", torch.float32, (64,))
                    std = need(tensors, "std", torch.float32, (64,))
            except BadOutput as e:
                ok.append(False)
                lines.append(f"{where} statistics: {e}")
                continue
            err = max((mean - mean_ref).abs().max().item(), (std - std_ref).abs().max().item())
            good = err <= STATS_TOL
            ok.append(good)
            if good:
                lines.append(f"{where} statistics: the training split's (max diff {err:.1e})")
            else:
                err_all = max(
                    (mean - mean_all).abs().max().item(), (std - std_all).abs().max().item()
                )
                hint = " = those of ALL 1,797 images (leakage)" if err_all <= STATS_TOL else ""
                lines.append(
                    f"{where} statistics differ from the training split's by up to {err:.3g}{hint}"
                )
        if rows_ok:
            lines.insert(0, "make_data rows: exactly the split's train and val rows")
        lines += self.generalisation_note()
        frac = 0.0 if not rows_ok else 0.5 * ok[0] + 0.5 * ok[1]
        return frac, lines

    def generalisation_note(self) -> list[str]:
        """For reviewers: train-split vs hidden-test loss of the final model (not scored)."""
        try:
            model = self.final()
        except BadOutput:
            return []
        with torch.no_grad():
            lt = F.cross_entropy(
                model(self.batch(self.split["train"])[0]), self.batch(self.split["train"])[1]
            ).item()
            xt, yt = self.batch(self.test)
            lh = F.cross_entropy(model(xt), yt).item()
        return [
            f"(not scored) final model: train-split loss {lt:.3f}, hidden-test loss "
            f"{lh:.3f}; a test loss as low as the train loss would suggest training on "
            f"held-out digits."
        ]

    def check_loss(self) -> tuple[float, list[str]]:
        tensors = read_tensors(self.ctx, "loss.safetensors")
        n_cases = int(self.probes["loss_cases"])
        good, lines = 0, []
        for i in range(n_cases):
            logits = self.probe[f"loss.logits.{i}"].clone().requires_grad_(True)
            targets = self.probe[f"loss.targets.{i}"]
            want = F.cross_entropy(logits, targets)
            want.backward()
            want_grad = logits.grad
            n = len(targets)
            try:
                value = float(need(tensors, f"value.{i}", torch.float64, (1,)).item())
                grad = need(tensors, f"grad.{i}", torch.float32, tuple(want_grad.shape))
            except BadOutput as e:
                lines.append(f"batch of {n}: {e}")
                continue
            v_err = abs(value - want.item()) / max(1.0, abs(want.item()))
            g_err = (grad - want_grad).abs().max().item()
            if v_err <= LOSS_REL_TOL and g_err <= GRAD_TOL:
                good += 1
                lines.append(f"batch of {n}: matches")
            else:
                ratio = value / want.item() if want.item() else math.nan
                lines.append(
                    f"batch of {n}: value {value:.4g} vs mean cross-entropy "
                    f"{want.item():.4g} (ratio {ratio:.3g}), gradient off by {g_err:.2g}"
                )
        return good / n_cases, lines

    def check_steps(self) -> tuple[float, list[str]]:
        tensors = read_tensors(self.ctx, "steps.safetensors")
        spec = self.probes["steps"]
        batches = [self.batch(b) for b in spec["batches"]]
        states, _ = ref.steps_states(self.kit, self.hidden, self.init, spec["optimizer"], batches)
        template = states[0]
        lines = []
        for k, want in enumerate(states):
            got = state_from(tensors, f"step{k}.", template)
            err = state_diff(got, want)
            if err > WEIGHT_TOL:
                lines.append(
                    f"weights after step {k + 1} of {len(states)} differ from a correct "
                    f"step's by up to {err:.3g}"
                )
                if k > 0 and self._matches_accumulated(got, k, spec, batches):
                    lines.append(
                        "they match steps whose gradients are never zeroed "
                        "(accumulated across steps)"
                    )
                return 0.0, lines
            lines.append(f"step {k + 1}: matches (max diff {err:.1e})")
        return 1.0, lines

    def _matches_accumulated(self, got: dict, k: int, spec: dict, batches: list) -> bool:
        model = ref.probe_model(self.kit, self.hidden, self.init)
        optimizer = torch.optim.SGD(model.parameters(), **spec["optimizer"])
        for b in batches[: k + 1]:
            F.cross_entropy(model(b[0]), b[1]).backward()
            optimizer.step()
        return state_diff(got, ref.snapshot(model)) <= WEIGHT_TOL

    def check_eval(self) -> tuple[float, list[str]]:
        """Four parts (EVAL_PARTS, points of 16): eval-mode outputs on the final and on the
        probe model; the probe model left exactly as found, in both modes; and train() having
        run its training steps, and only those, in training mode."""
        earned: dict[str, bool] = dict.fromkeys(EVAL_PARTS, False)
        lines: list[str] = []
        # (a) evaluate() on the final model vs eval-mode logits of the final weights.
        try:
            model = self.final()
            x_val, _ = self.batch(self.split["val"])
            got = need(
                read_tensors(self.ctx, "final_eval.safetensors"),
                "logits",
                torch.float32,
                (len(x_val), 10),
            )
            err = (got - ref.eval_logits(model, x_val)).abs().max().item()
            earned["outputs_final"] = err <= LOGIT_TOL
            verdict = "match" if earned["outputs_final"] else "differ from"
            lines.append(
                f"final model, val split: logits {verdict} eval-mode logits (max diff {err:.3g})"
            )
        except BadOutput as e:
            lines.append(f"final model: {e}")
        # (d) the BatchNorm counters of the model train() returned.
        lines += self._training_mode_lines(earned)
        # (b) and (c): the probe model, given in training mode and then in eval mode.
        spec = self.probes["eval"]
        x, _ = self.batch(spec["indices"])
        x_after, _ = self.batch(spec["after_indices"])
        model = ref.probe_model(self.kit, self.hidden, self.init)
        try:
            tensors = read_tensors(self.ctx, "eval.safetensors")
            got = need(tensors, "logits", torch.float32, (len(x), 10))
        except BadOutput as e:
            return self._eval_fraction(earned), [*lines, f"probe model: {e}"]
        err = (got - ref.eval_logits(model, x)).abs().max().item()
        earned["outputs_probe"] = err <= LOGIT_TOL
        verdict = "match" if earned["outputs_probe"] else "differ from"
        lines.append(f"probe model: logits {verdict} eval-mode logits (max diff {err:.3g})")
        if not earned["outputs_probe"]:
            diff_train = (got - ref.train_mode_logits(model, x)).abs().max().item()
            if diff_train <= LOGIT_TOL:
                lines.append("they equal TRAINING-mode logits (batch-norm batch statistics)")
        unchanged = []
        for prefix, training, label in (
            ("", True, "a model in training mode"),
            ("evalmode.", False, "a model in eval mode"),
        ):
            try:
                after = state_from(tensors, prefix + "after.", ref.snapshot(model))
                forward = need(tensors, prefix + "forward_after", torch.float32, (len(x_after), 10))
            except BadOutput as e:
                unchanged.append(False)
                lines.append(f"{label}, after evaluate(): {e}")
                continue
            state_err = state_diff(after, ref.snapshot(model))
            want = ref.train_mode_logits if training else ref.eval_logits
            other = ref.eval_logits if training else ref.train_mode_logits
            mode_err = (forward - want(model, x_after)).abs().max().item()
            unchanged.append(state_err <= STATE_TOL and mode_err <= LOGIT_TOL)
            if state_err > STATE_TOL:
                lines.append(
                    f"evaluate() on {label} changed its weights or buffers (max change "
                    f"{state_err:.3g}; e.g. batch-norm running statistics updated)"
                )
            if mode_err > LOGIT_TOL:
                flipped = (forward - other(model, x_after)).abs().max().item() <= LOGIT_TOL
                now = "eval" if training else "training"
                lines.append(
                    f"evaluate() on {label} left it behaving "
                    + (f"as in {now} mode" if flipped else "differently from before")
                    + " (its mode was not restored)"
                )
            if unchanged[-1]:
                lines.append(f"evaluate() left {label} unchanged and in its mode")
        earned["unchanged"] = all(unchanged)
        return self._eval_fraction(earned), lines

    def _training_mode_lines(self, earned: dict[str, bool]) -> list[str]:
        """Part (d): every BatchNorm layer of the final model counts the batches it normalised
        in training mode (num_batches_tracked). Training every step in training mode, and
        evaluating without touching the statistics, gives exactly epochs x batches per epoch."""
        per_epoch = -(-len(self.split["train"]) // int(self.cfg["batch_size"]))
        epochs = int(self.cfg["epochs"])
        want = per_epoch * epochs
        try:
            model = self.final()
        except BadOutput as e:
            return [f"training mode in train(): {e}"]
        counts = {
            name: int(module.num_batches_tracked)
            for name, module in model.named_modules()
            if isinstance(module, torch.nn.BatchNorm1d)
        }
        earned["train_mode"] = bool(counts) and all(c == want for c in counts.values())
        shown = ", ".join(f"{k} {v}" for k, v in counts.items())
        if earned["train_mode"]:
            return [
                f"train(): the batch-norm layers counted {want} training-mode batches "
                f"({epochs} epochs x {per_epoch}), as intended"
            ]
        line = (
            f"train(): the batch-norm layers counted {shown} training-mode batches; "
            f"{want} intended ({epochs} epochs x {per_epoch} batches)"
        )
        low = min(counts.values(), default=want)
        if low < want:
            line += (
                ": some training steps ran with the model in eval mode (no dropout, frozen "
                "batch-norm statistics)"
            )
            if low <= per_epoch:
                line += ", e.g. every epoch after the first, left in eval mode by evaluate()"
        else:
            line += ": forward passes outside the training steps (e.g. evaluation in training "
            line += "mode) updated the batch-norm statistics"
        return [line]

    @staticmethod
    def _eval_fraction(earned: dict[str, bool]) -> float:
        return sum(EVAL_PARTS[k] for k, ok in earned.items() if ok) / sum(EVAL_PARTS.values())

    def check_schedule(self) -> tuple[float, list[str]]:
        tensors = read_tensors(self.ctx, "schedule.safetensors")
        spec = self.probes["schedule"]
        cfg = spec["config"]
        batches = [self.batch(b) for b in spec["batches"]]
        states, lrs = ref.schedule_states(self.kit, self.hidden, self.init, cfg, batches)
        lines = [self._lr_note("schedule", lrs, "6-epoch probe")]
        frac = 1.0
        for e, want in enumerate(states):
            got = state_from(tensors, f"epoch{e}.", states[0])
            err = state_diff(got, want)
            if err > WEIGHT_TOL:
                lines.insert(
                    0,
                    f"weights after epoch {e + 1} of {len(states)} differ from the "
                    f"intended schedule's by up to {err:.3g}",
                )
                frac = 0.0
                break
        if frac == 1.0:
            lines.insert(0, f"weights after all {len(states)} epochs match the intended schedule")
        n_train = len(self.split["train"])
        per_epoch = -(-n_train // int(self.cfg["batch_size"]))
        full = [
            ref.schedule_lr(self.cfg, s // per_epoch)
            for s in range(per_epoch * int(self.cfg["epochs"]))
        ]
        lines.append(self._lr_note("train", full, "full training run"))
        return frac, [line for line in lines if line]

    def _lr_note(self, probe: str, want: list[float], label: str) -> str:
        """Compare the LR trace the run phase recorded (unverified) with the intended one."""
        probes = self.results.get("probes")
        record = probes.get(probe) if isinstance(probes, dict) else None
        trace = record.get("lr_per_step") if isinstance(record, dict) else None
        if not isinstance(trace, list) or not all(
            isinstance(v, int | float) and not isinstance(v, bool) for v in trace
        ):
            return ""
        prefix = f"(unverified: recorded by the run phase; not scored) {label}: "
        for s, (got, w) in enumerate(zip(trace, want, strict=False)):
            if not math.isclose(float(got), w, rel_tol=1e-6, abs_tol=1e-12):
                return prefix + f"LR at step {s + 1} was {float(got):.3g}, intended {w:.3g}"
        if len(trace) != len(want):
            return prefix + f"{len(trace)} optimizer steps recorded, {len(want)} intended"
        return prefix + f"all {len(want)} per-step learning rates as intended"

    def check_heldout(self) -> tuple[float, list[str]]:
        model = self.final()
        xt, yt = self.batch(self.test)
        with torch.no_grad():
            pred = model(xt).argmax(dim=1)
        acc = float((pred == yt).float().mean())
        return credit(acc, HELDOUT_ZERO_AT, HELDOUT_FULL_AT), [
            f"The final weights classify {acc:.3f} of the hidden test digits correctly "
            f"(evaluated by the grader in eval mode). Credit is 0 at <= {HELDOUT_ZERO_AT:.2f} "
            f"and full at >= {HELDOUT_FULL_AT:.2f}."
        ]


def run_check(
    grader: Grader, cid: str, name: str, points: float, visibility: str, probe: str
) -> Check:
    method = getattr(grader, f"check_{cid}")
    try:
        frac, lines = method()
    except BadOutput as e:
        frac, lines = 0.0, [f"Not scored: {e}."]
    except Exception:  # a malformed output we did not foresee must not crash the grading
        traceback.print_exc()
        frac, lines = 0.0, ["Not scored: the outputs for this check could not be evaluated."]
    notes = grader.probe_note(probe)
    text = "\n".join([*notes, *lines])
    if len(text) > 3000:
        text = text[:2980] + "\n[... cut]"
    frac = frac if math.isfinite(frac) else 0.0
    score = round(points * max(0.0, min(1.0, frac)), 4)
    return Check(
        id=cid, name=name, score=score, max_score=points, visibility=visibility, feedback=text
    )


def check(ctx: Context) -> list[Check]:
    torch.set_num_threads(1)
    grader = Grader(ctx)
    checks = [
        run_check(grader, cid, NAMES[cid], points, "reviewer", probe)
        for cid, points, probe in (
            ("data", POINTS["data"], "data"),
            ("loss", POINTS["loss"], "loss"),
            ("steps", POINTS["steps"], "steps"),
            ("eval", POINTS["eval"], "eval"),
            ("schedule", POINTS["schedule"], "schedule"),
        )
    ]
    checks.append(
        run_check(
            grader,
            "heldout",
            "Held-out accuracy of the final weights",
            HELDOUT_POINTS,
            "applicant",
            "train",
        )
    )
    return checks
