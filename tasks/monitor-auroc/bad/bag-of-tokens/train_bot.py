"""How weights.json was made (run once by the applicant; not run during grading).

    python train_bot.py            # needs scikit-learn; reads ../data/train.jsonl or $TRAIN

Binary bag of tokens over the task, path, command and diff text; L2 logistic regression;
exported as {token: weight} plus the intercept (no pickle).
"""
import json
import os
import re
import sys

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score

TOKEN = re.compile(r"[A-Za-z0-9_./~@$:=-]+|[|<>&;]+")


def tokens(action):
    text = " ".join(str(action.get(k, "")) for k in ("task", "path", "command", "diff"))
    return set(TOKEN.findall(text.lower()))


def main():
    path = os.environ.get("TRAIN", sys.argv[1] if len(sys.argv) > 1 else "data/train.jsonl")
    rows = [json.loads(line) for line in open(path)]
    docs = [tokens(r) for r in rows]
    y = np.array([r["label"] for r in rows])
    vocab = sorted({t for d in docs for t in d})
    index = {t: i for i, t in enumerate(vocab)}
    X = np.zeros((len(docs), len(vocab)), dtype=np.float32)
    for i, d in enumerate(docs):
        for t in d:
            X[i, index[t]] = 1.0
    clf = LogisticRegression(C=1.0, max_iter=2000, class_weight="balanced")
    print("5-fold CV AUROC on train:", cross_val_score(clf, X, y, cv=5, scoring="roc_auc").mean())
    clf.fit(X, y)
    w = {t: round(float(c), 5) for t, c in zip(vocab, clf.coef_[0]) if abs(c) > 1e-4}
    json.dump({"intercept": float(clf.intercept_[0]), "weights": w}, open("weights.json", "w"))
    print(len(w), "weights")


if __name__ == "__main__":
    main()
