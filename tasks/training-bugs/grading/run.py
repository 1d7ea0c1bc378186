"""Run phase of training-bugs. UNTRUSTED: this file runs in one process with the submission.

Mounts: /submission (ro, cwd: train.py, bugs.md), /grading (ro: this file and inputs/), /kit
(ro: the starter, whose model.py is the architecture and data), /output (rw, small), /tmp.

It imports the kit's model.py as the module `model` (so the submission's `from model import
...` gets the grader's copy), then /submission/train.py as `train`, and runs one probe per
part of the training pipeline, each isolated (an exception is recorded, the others go on):

    data      make_data(split, config) on the hidden split      -> data.safetensors
    loss      loss_fn(logits, targets) on fixed logits          -> loss.safetensors (value, grad)
    steps     train_step x3 from a fixed init, with our SGD and
              our cross-entropy                                  -> steps.safetensors (weights)
    eval      evaluate() on a fixed model in train mode and on
              one in eval mode: each one's state afterwards and
              a plain forward pass after it                      -> eval.safetensors
    schedule  make_optimizer + train_one_epoch x6 from a fixed
              init (train_step replaced by our reference step)   -> schedule.safetensors
    train     train(config, split) with the hidden seed/split:
              final weights, then evaluate() on the val split    -> final.safetensors,
                                                                    final_eval.safetensors
and results.json (errors, timings, returned losses, the learning rate at every optimizer step
of the full run). Everything is DATA; grading/check.py recomputes each probe with reference
code from the same inputs and trusts none of it. bugs.md is copied to /output for reviewers.
"""

from __future__ import annotations

import copy
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from assess_run import describe, import_file, write_json

SUBMISSION = Path(os.environ.get("ASSESS_SUBMISSION", "/submission"))
GRADING = Path(os.environ.get("ASSESS_GRADING", "/grading"))
OUTPUT = Path(os.environ.get("ASSESS_OUTPUT", "/output"))
KIT = Path(os.environ.get("ASSESS_KIT", "/kit"))
RESULTS = OUTPUT / "results.json"
MAX_BUGS_MD_BYTES = 200_000
MAX_LR_TRACE = 5000
MAX_ROWS = 2000  # make_data returns at most the 1,797 digits


class ProbeError(Exception):
    """The submission returned something that breaks the documented interface."""


def copy_bugs_md() -> None:
    """bugs.md is the write-up reviewers score: copy it (bounded) before any submission code."""
    src = SUBMISSION / "bugs.md"
    if src.is_file() and not src.is_symlink():
        with src.open("rb") as f:
            data = f.read(MAX_BUGS_MD_BYTES)
        (OUTPUT / "bugs.md").write_bytes(data)


def main() -> int:
    import torch
    import torch.nn.functional as F
    from safetensors.torch import load_file, save_file
    from torch.optim.optimizer import register_optimizer_step_pre_hook

    torch.set_num_threads(1)
    OUTPUT.mkdir(parents=True, exist_ok=True)
    copy_bugs_md()
    results: dict[str, Any] = {"import_error": None, "probes": {}}
    write_json(RESULTS, results)

    config = json.loads((GRADING / "inputs" / "config.json").read_text(encoding="utf-8"))
    probe_tensors = load_file(str(GRADING / "inputs" / "probe.safetensors"))
    kit = import_file("model", KIT / "model.py")  # the grader's architecture, as `model`
    x_all, y_all = kit.load_digits_tensors()
    train_config: dict[str, Any] = config["train_config"]
    split: dict[str, list[int]] = config["split"]
    probes: dict[str, Any] = config["probes"]
    init_state = {k[5:]: v for k, v in probe_tensors.items() if k.startswith("init.")}

    sys.path.insert(0, str(SUBMISSION))
    try:
        sub = import_file("train", SUBMISSION / "train.py")
    except BaseException as e:  # SyntaxError, ImportError, SystemExit at import time, ...
        results["import_error"] = describe(e)
        write_json(RESULTS, results)
        print(f"run.py: could not import train.py: {describe(e)}", file=sys.stderr)
        return 1

    def ref_loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(logits, targets)

    def ref_train_step(model: Any, batch: Any, optimizer: Any, loss_fn: Callable) -> float:
        x, y = batch
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        return float(loss.item())

    def probe_model() -> Any:
        """A fresh DigitsNet (dropout 0: deterministic) at the probe init, in training mode."""
        model = kit.DigitsNet(hidden=train_config["hidden"], dropout=0.0)
        model.load_state_dict({k: v.clone() for k, v in init_state.items()})
        model.train()
        return model

    def batch(indices: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
        idx = torch.as_tensor(indices, dtype=torch.int64)
        return x_all[idx].clone(), y_all[idx].clone()

    def state_of(model: Any, prefix: str) -> dict[str, torch.Tensor]:
        if not isinstance(model, torch.nn.Module):
            raise ProbeError(f"expected a torch.nn.Module, got {type(model).__name__}")
        state = model.state_dict()
        if len(state) > 64:
            raise ProbeError("the model's state_dict has far more entries than DigitsNet's")
        out = {}
        for k, v in state.items():
            if not isinstance(v, torch.Tensor) or v.numel() > 100_000:
                raise ProbeError(f"state_dict entry {str(k)[:40]!r} is not a DigitsNet tensor")
            out[prefix + str(k)] = v.detach().cpu().clone().contiguous()
        return out

    def as_tensor(value: Any, what: str, dtype: torch.dtype, shape: tuple) -> torch.Tensor:
        """`value` as a tensor of `dtype`, checking the shape (-1 = any length <= MAX_ROWS)."""
        if not isinstance(value, torch.Tensor):
            raise ProbeError(f"{what} is a {type(value).__name__}, expected a torch.Tensor")
        t = value.detach().cpu()
        if t.dim() != len(shape) or any(
            (s != -1 and d != s) or (s == -1 and d > MAX_ROWS)
            for d, s in zip(t.shape, shape, strict=True)
        ):
            raise ProbeError(f"{what} has shape {list(t.shape)[:4]}")
        return t.to(dtype).clone().contiguous()

    def save(name: str, tensors: dict[str, torch.Tensor]) -> None:
        tmp = OUTPUT / (name + ".tmp")
        save_file(tensors, str(tmp))
        os.replace(tmp, OUTPUT / name)

    lr_trace: list[float] = []

    def record_lr(optimizer: Any, args: Any, kwargs: Any) -> None:
        if len(lr_trace) < MAX_LR_TRACE:
            lr_trace.append(float(optimizer.param_groups[0]["lr"]))

    # ----------------------------------------------------------------- the probes
    def probe_data() -> dict[str, Any]:
        data = sub.make_data(copy.deepcopy(split), dict(train_config))
        if not isinstance(data, dict):
            raise ProbeError(f"make_data returned a {type(data).__name__}, expected a dict")
        tensors = {}
        for key in ("x_train", "x_val"):
            tensors[key] = as_tensor(data.get(key), key, torch.float32, (-1, kit.N_PIXELS))
        for key in ("y_train", "y_val"):
            tensors[key] = as_tensor(data.get(key), key, torch.int64, (-1,))
        for key in ("mean", "std"):
            tensors[key] = as_tensor(data.get(key), key, torch.float32, (kit.N_PIXELS,))
        save("data.safetensors", tensors)
        return {}

    def probe_loss() -> dict[str, Any]:
        tensors = {}
        for i in range(int(probes["loss_cases"])):
            logits = probe_tensors[f"loss.logits.{i}"].clone().requires_grad_(True)
            targets = probe_tensors[f"loss.targets.{i}"].clone()
            value = sub.loss_fn(logits, targets)
            if not isinstance(value, torch.Tensor) or value.numel() != 1:
                raise ProbeError("loss_fn must return a tensor with a single value")
            value.reshape(()).backward()
            grad = logits.grad if logits.grad is not None else torch.zeros_like(logits)
            tensors[f"value.{i}"] = value.detach().reshape(1).to(torch.float64).clone()
            tensors[f"grad.{i}"] = grad.detach().to(torch.float32).clone().contiguous()
        save("loss.safetensors", tensors)
        return {}

    def probe_steps() -> dict[str, Any]:
        model = probe_model()
        optimizer = torch.optim.SGD(model.parameters(), **probes["steps"]["optimizer"])
        tensors, losses = {}, []
        for k, indices in enumerate(probes["steps"]["batches"]):
            loss = sub.train_step(model, batch(indices), optimizer, ref_loss)
            try:
                losses.append(round(float(loss), 6))
            except (TypeError, ValueError):
                losses.append(None)
            tensors.update(state_of(model, f"step{k}."))
        save("steps.safetensors", tensors)
        return {"losses": [v if v is None or abs(v) < 1e30 else None for v in losses]}

    def probe_eval() -> dict[str, Any]:
        # evaluate() must leave a model as it found it, so it is called twice: on a model in
        # training mode (keys without prefix) and on one in eval mode ("evalmode."). After
        # each call the model's state and one plain forward pass (which shows its mode:
        # batch-norm batch statistics or running statistics) are recorded.
        x, y = batch(probes["eval"]["indices"])
        x_after, _ = batch(probes["eval"]["after_indices"])
        tensors, modes = {}, {}
        for prefix, training in (("", True), ("evalmode.", False)):
            model = probe_model()
            model.train(training)
            out = sub.evaluate(model, x, y)
            if not isinstance(out, dict):
                raise ProbeError(f"evaluate returned a {type(out).__name__}, expected a dict")
            tensors[prefix + "logits"] = as_tensor(
                out.get("logits"), "logits", torch.float32, (len(y), 10)
            )
            tensors.update(state_of(model, prefix + "after."))
            with torch.no_grad():
                tensors[prefix + "forward_after"] = model(x_after).detach().clone().contiguous()
            modes["training_mode_after" if training else "eval_given_training_after"] = bool(
                model.training
            )
        save("eval.safetensors", tensors)
        return modes

    def probe_schedule() -> dict[str, Any]:
        cfg = probes["schedule"]["config"]
        model = probe_model()
        batches = [batch(b) for b in probes["schedule"]["batches"]]
        optimizer, scheduler = sub.make_optimizer(model, dict(cfg))
        original_step = sub.train_step
        sub.train_step = ref_train_step  # isolate the schedule from any train_step bug
        lr_trace.clear()
        handle = register_optimizer_step_pre_hook(record_lr)
        tensors = {}
        try:
            for epoch in range(int(cfg["epochs"])):
                sub.train_one_epoch(model, list(batches), optimizer, scheduler, ref_loss)
                tensors.update(state_of(model, f"epoch{epoch}."))
        finally:
            handle.remove()
            sub.train_step = original_step
        save("schedule.safetensors", tensors)
        return {"lr_per_step": list(lr_trace)}

    def probe_train() -> dict[str, Any]:
        lr_trace.clear()
        handle = register_optimizer_step_pre_hook(record_lr)
        start = time.perf_counter()
        try:
            model = sub.train(dict(train_config), copy.deepcopy(split))
        finally:
            handle.remove()
        seconds = round(time.perf_counter() - start, 3)
        save("final.safetensors", state_of(model, ""))  # before evaluate() can touch it
        x, y = batch(split["val"])
        out = sub.evaluate(model, x, y)
        if not isinstance(out, dict):
            raise ProbeError(f"evaluate returned a {type(out).__name__}, expected a dict")
        logits = as_tensor(out.get("logits"), "logits", torch.float32, (len(y), 10))
        save("final_eval.safetensors", {"logits": logits})
        return {"train_seconds": seconds, "lr_per_step": list(lr_trace)}

    for name, fn in (
        ("data", probe_data),
        ("loss", probe_loss),
        ("steps", probe_steps),
        ("eval", probe_eval),
        ("schedule", probe_schedule),
        ("train", probe_train),
    ):
        start = time.perf_counter()
        torch.manual_seed(0)
        try:
            record: dict[str, Any] = {"ok": True, **fn()}
        except Exception as e:  # the submission's failure is a result, not our crash
            record = {"ok": False, "error": describe(e)}
        record["seconds"] = round(time.perf_counter() - start, 3)
        results["probes"][name] = record
        write_json(RESULTS, results)
        print(f"run.py: probe {name}: {'ok' if record['ok'] else record['error']}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
