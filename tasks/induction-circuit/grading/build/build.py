"""Train the kit's attention-only transformer and its hidden re-parameterised variant.

    python grading/build/build.py --out DIR              # everything into DIR (read-only task)
    python grading/build/build.py --out DIR --install    # and copy the weights into place

Run from the task folder (in the image: cwd /task). One CPU thread, deterministic; about
1-3 minutes. DIR receives:

    model.safetensors     -> starter/model.safetensors     (the applicant's model)
    variant.safetensors   -> grading/inputs/variant.safetensors (what find_heads() is run on)
    behaviour.json        measured behaviour with tolerances (copy: grading/build/behaviour.json)

Training: sequences from the kit's make_batch (a random segment repeated at a random offset),
next-token cross-entropy on every position, AdamW. Induction formation is seed-dependent:
TRAIN_SEED was chosen because it forms one clean previous-token head in layer 0 and clean
induction heads in layer 1 (measured numbers in behaviour.json and README.md).

The variant is the same function with different labels: the heads of each layer are permuted
(every circuit head moves) and each head's query/key and value/output spaces are rotated by a
random orthogonal matrix (q.k and z W_O are unchanged), so hard-coded head names or a weight
fingerprint of the kit model do not transfer.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import torch

TASK = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(TASK / "starter"))
sys.path.insert(0, str(TASK / "grading"))

import circuit  # noqa: E402  (grading/circuit.py: the grader's own measurements)
import model as kit_model  # noqa: E402  (the kit's code)

TRAIN_SEED = 0
STEPS = 1500
BATCH = 64
LR = 1e-3
INIT_STD = 0.02  # every W_* matrix; small init forms a cleaner circuit
WEIGHT_DECAY = 0.01
VARIANT_SEED = 77
EVAL_SEED = 4242  # build-time measurement sequences (not the grader's hidden ones)
N_EVAL = 1000


def train() -> kit_model.AttnOnlyTransformer:
    torch.manual_seed(TRAIN_SEED)
    rng = np.random.default_rng(TRAIN_SEED)
    model = kit_model.AttnOnlyTransformer()
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.startswith("W_"):
                p.normal_(0.0, INIT_STD)
    opt = torch.optim.AdamW(model.parameters(), lr=LR, weight_decay=WEIGHT_DECAY)
    vocab = model.config["vocab_size"]
    t0 = time.time()
    for step in range(STEPS):
        tokens, _ = kit_model.make_batch(rng, BATCH)
        tok = torch.from_numpy(tokens)
        logits = model(tok)
        loss = torch.nn.functional.cross_entropy(
            logits[:, :-1].reshape(-1, vocab), tok[:, 1:].reshape(-1)
        )
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 500 == 0 or step == STEPS - 1:
            print(f"step {step}: loss {loss.item():.3f} ({time.time() - t0:.0f} s)", flush=True)
    return model.eval()


def _derangement(rng: np.random.Generator, n: int) -> np.ndarray:
    while True:
        perm = rng.permutation(n)
        if not np.any(perm == np.arange(n)):
            return perm


def make_variant(model: kit_model.AttnOnlyTransformer) -> dict[str, torch.Tensor]:
    """The same function with permuted heads and rotated per-head spaces."""
    rng = np.random.default_rng(VARIANT_SEED)
    sd = {k: v.detach().clone() for k, v in model.state_dict().items()}
    n_layers, n_heads, dh = (model.config[k] for k in ("n_layers", "n_heads", "d_head"))
    for layer in range(n_layers):
        perm = torch.from_numpy(_derangement(rng, n_heads))
        for name in ("W_Q", "W_K", "W_V", "W_O"):
            sd[name][layer] = sd[name][layer][perm]
        for h in range(n_heads):
            qk, _ = np.linalg.qr(rng.standard_normal((dh, dh)))
            vo, _ = np.linalg.qr(rng.standard_normal((dh, dh)))
            r_qk = torch.from_numpy(qk).float()
            r_vo = torch.from_numpy(vo).float()
            sd["W_Q"][layer, h] = sd["W_Q"][layer, h] @ r_qk
            sd["W_K"][layer, h] = sd["W_K"][layer, h] @ r_qk
            sd["W_V"][layer, h] = sd["W_V"][layer, h] @ r_vo
            sd["W_O"][layer, h] = r_vo.T @ sd["W_O"][layer, h]
    return {k: v.contiguous() for k, v in sd.items()}


def behaviour(model, variant) -> dict:
    tokens, mask = kit_model.make_batch(np.random.default_rng(EVAL_SEED), N_EVAL)
    m = circuit.measure(model, tokens, mask)
    v = circuit.measure(variant, tokens, mask)
    r, rv = circuit.roles(m), circuit.roles(v)
    metrics: dict[str, float] = {
        "induction_accuracy": m["baseline_accuracy"],
        "induction_loss": m["baseline_loss"],
        "n_previous_token_heads": len(r["previous_token_heads"]),
        "n_induction_heads": len(r["induction_heads"]),
        "variant_induction_accuracy": v["baseline_accuracy"],
        "variant_n_previous_token_heads": len(rv["previous_token_heads"]),
        "variant_n_induction_heads": len(rv["induction_heads"]),
    }
    tolerance = {
        "induction_accuracy": 0.05,
        "induction_loss": 0.15,
        "n_previous_token_heads": 0,
        "n_induction_heads": 0,
        "variant_induction_accuracy": 0.05,
        "variant_n_previous_token_heads": 0,
        "variant_n_induction_heads": 0,
    }
    for name, h in m["heads"].items():
        for key, tol in (
            ("prev_token_score", 0.05),
            ("induction_score", 0.05),
            ("loss_increase", 0.25),
            ("accuracy_drop", 0.05),
        ):
            metrics[f"{key}_{name}"] = h[key]
            tolerance[f"{key}_{name}"] = tol
    metrics = {k: round(float(x), 4) for k, x in metrics.items()}
    print("roles (kit):", r, " roles (variant):", rv)
    return {"metrics": metrics, "tolerance": tolerance}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--install", action="store_true", help="copy the weights into place")
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    from safetensors.torch import save_file

    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    model = train()
    save_file(
        {k: v.detach().contiguous() for k, v in model.state_dict().items()},
        str(out / "model.safetensors"),
    )
    save_file(make_variant(model), str(out / "variant.safetensors"))
    variant = kit_model.load_model(out / "variant.safetensors")
    model = kit_model.load_model(out / "model.safetensors")
    result = behaviour(model, variant)
    (out / "behaviour.json").write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    print(json.dumps(result["metrics"]))
    if args.install:
        shutil.copy(out / "model.safetensors", TASK / "starter" / "model.safetensors")
        (TASK / "grading" / "inputs").mkdir(exist_ok=True)
        inputs = TASK / "grading" / "inputs"
        shutil.copy(out / "variant.safetensors", inputs / "variant.safetensors")
        shutil.copy(out / "behaviour.json", TASK / "grading" / "build" / "behaviour.json")
        for path in (
            TASK / "starter" / "model.safetensors",
            TASK / "grading" / "inputs" / "variant.safetensors",
            TASK / "grading" / "build" / "behaviour.json",
        ):
            path.chmod(0o644)  # the sandboxes read them as another user
        print("installed into starter/, grading/inputs/, grading/build/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
