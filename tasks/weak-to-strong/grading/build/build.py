"""Build the three weak-to-strong problems from fixed seeds, and measure them.

    python grading/build/build.py --out DIR              # everything into DIR (read-only task)
    python grading/build/build.py --out DIR --install    # and copy it into starter/ + grading/

Run from the task folder (in the image: cwd /task). numpy only, one thread, deterministic;
a few seconds. DIR receives:

    practice.npz, problem_a.npz      -> starter/data/ (the applicant's kit)
    hidden.npz                       -> grading/inputs/ (run phase: no labels)
    answers.json                     -> grading/answers/ (check phase: labels, weak, ceiling)
    behaviour.json                   measured behaviour (and tolerances)

Each problem: a latent z in R^16. z[0] = +-MU + N(0, 1) carries the class (a wide gap between
the classes), z[1:5] are N(0, 2^2) nuisance directions, z[5:] N(0, 0.7^2). The strong model's
embedding is x = 3 tanh(Q z / 3) for a random rotation Q (a saturating, slightly non-linear
"backbone"), so a linear head on x reaches ~99% when trained on the true labels.

The weak supervisor sees one confounded scalar, v = z[0] + CONF z[1] + N(0, 0.7^2), and is a
logistic regression on v trained on 1000 truly labelled points of its own. Its errors are
systematic: they are a tilted hyperplane through the strong embedding, which a linear head
fitted to the weak labels reproduces (naive PGR ~0.1), while the true boundary lies in the
low-density gap that the strong embedding shows.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import shutil
import sys
import time
from pathlib import Path

import numpy as np

TASK = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(TASK / "starter"))

import w2s_tools as tools  # noqa: E402  (the kit's code, on sys.path just above)

D = 16
N_WEAK = 1000  # the weak supervisor's own truly labelled training set
N_TRAIN = 3000
N_TEST = 4000
SCALE = 3.0  # x = SCALE * tanh(Q z / SCALE)
NUISANCE_SD = 2.0
REST_SD = 0.7
WEAK_NOISE = 0.7
# seed, class gap MU, the weak view's confound CONF, share of class 1
PROBLEMS = {
    "practice": {"seed": 1101, "mu": 3.0, "conf": 1.0, "pos": 0.5},
    "a": {"seed": 2203, "mu": 3.0, "conf": 1.2, "pos": 0.5},
    "b": {"seed": 3307, "mu": 2.8, "conf": -1.1, "pos": 0.45},
}
SEEDS = tools.SEEDS


def draw(rng: np.random.Generator, q: np.ndarray, spec: dict, m: int):
    y = (rng.random(m) < spec["pos"]).astype(np.int64)
    z = np.empty((m, D))
    z[:, 0] = (2 * y - 1) * spec["mu"] + rng.normal(size=m)
    z[:, 1:5] = rng.normal(size=(m, 4)) * NUISANCE_SD
    z[:, 5:] = rng.normal(size=(m, D - 5)) * REST_SD
    v = z[:, 0] + spec["conf"] * z[:, 1] + WEAK_NOISE * rng.normal(size=m)
    x = SCALE * np.tanh((z @ q.T) / SCALE)
    return x.astype(np.float32), y, v


def fit_weak(v: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """1-d logistic regression by Newton's method (converged, deterministic)."""
    a, b = 0.0, 0.0
    for _ in range(50):
        p = tools.sigmoid(a * v + b)
        g = np.array([np.sum((p - y) * v), np.sum(p - y)])
        s = p * (1 - p)
        h = np.array([[np.sum(s * v * v), np.sum(s * v)], [np.sum(s * v), np.sum(s)]])
        a, b = np.array([a, b]) - np.linalg.solve(h + 1e-9 * np.eye(2), g)
    return float(a), float(b)


def make(spec: dict) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(spec["seed"])
    q, _ = np.linalg.qr(rng.normal(size=(D, D)))
    _, wy, wv = draw(rng, q, spec, N_WEAK)
    a, b = fit_weak(wv, wy)
    x, y, v = draw(rng, q, spec, N_TRAIN)
    tx, ty, tv = draw(rng, q, spec, N_TEST)
    return {
        "train_x": x,
        "train_y": y,
        "train_weak_prob": tools.sigmoid(a * v + b).astype(np.float32),
        "test_x": tx,
        "test_y": ty,
        "test_weak_prob": tools.sigmoid(a * tv + b).astype(np.float32),
    }


def load_train_student(folder: str):
    path = TASK / folder / "train_student.py"
    spec = importlib.util.spec_from_file_location(f"ts_{folder}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.train_student


def student_acc(train_student, p: dict[str, np.ndarray]) -> list[float]:
    accs = []
    for seed in SEEDS:
        predict = train_student(p["train_x"].copy(), p["train_weak_prob"].copy(), seed)
        accs.append(tools.accuracy(predict(p["test_x"].copy()), p["test_y"]))
    return accs


def measure(p: dict[str, np.ndarray], methods: dict) -> tuple[dict[str, float], dict]:
    weak = tools.accuracy(p["test_weak_prob"], p["test_y"])
    w, b = tools.fit_logistic(p["train_x"], p["train_y"])
    ceiling = tools.accuracy(tools.sigmoid(p["test_x"] @ w + b), p["test_y"])
    m = {
        "weak_acc": weak,
        "ceiling_acc": ceiling,
        "weak_train_agreement": float(np.mean((p["train_weak_prob"] > 0.5) == p["train_y"])),
    }
    details = {}
    for name, fn in methods.items():
        accs = student_acc(fn, p)
        details[name] = accs
        m[f"{name}_acc"] = float(np.mean(accs))
        m[f"{name}_pgr"] = tools.pgr(float(np.mean(accs)), weak, ceiling)
    return m, details


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--install", action="store_true", help="copy into starter/ and grading/")
    args = parser.parse_args()
    t0 = time.process_time()

    methods = {
        "naive": load_train_student("starter"),
        "reference": load_train_student("solution"),
    }
    problems = {name: make(spec) for name, spec in PROBLEMS.items()}
    metrics: dict[str, float] = {}
    details: dict[str, object] = {}
    answers: dict[str, object] = {}
    for name, p in problems.items():
        m, d = measure(p, methods)
        metrics.update({f"{name}_{k}": round(v, 4) for k, v in m.items()})
        details[name] = d
        if name != "practice":
            answers[name] = {
                "weak_acc": round(m["weak_acc"], 6),
                "ceiling_acc": round(m["ceiling_acc"], 6),
                "test_y": p["test_y"].tolist(),
            }
    print(json.dumps(metrics, indent=1))
    tolerance = {k: (0.1 if k.endswith("_pgr") else 0.01) for k in metrics}

    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    pr, pa, pb = problems["practice"], problems["a"], problems["b"]
    np.savez(out / "practice.npz", **pr)
    np.savez(out / "problem_a.npz", train_x=pa["train_x"], train_weak_prob=pa["train_weak_prob"])
    np.savez(
        out / "hidden.npz",
        a_test_x=pa["test_x"],
        b_train_x=pb["train_x"],
        b_train_weak_prob=pb["train_weak_prob"],
        b_test_x=pb["test_x"],
    )
    (out / "answers.json").write_text(json.dumps(answers, separators=(",", ":")) + "\n")
    behaviour = {"metrics": metrics, "tolerance": tolerance, "details": details,
                 "problems": PROBLEMS}  # fmt: skip
    (out / "behaviour.json").write_text(json.dumps(behaviour, indent=1) + "\n")
    print(f"built and measured in {time.process_time() - t0:.1f} CPU-s; wrote {out}")

    if args.install:
        places = {
            "practice.npz": "starter/data",
            "problem_a.npz": "starter/data",
            "hidden.npz": "grading/inputs",
            "answers.json": "grading/answers",
            "behaviour.json": "grading/build",
        }
        for name, folder in places.items():
            (TASK / folder).mkdir(parents=True, exist_ok=True)
            shutil.copyfile(out / name, TASK / folder / name)
            (TASK / folder / name).chmod(0o644)
    return 0


if __name__ == "__main__":
    sys.exit(main())
