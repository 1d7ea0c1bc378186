"""UNTRUSTED phase, notebook submissions: after the grader's driver ran the notebook, turn its
answers into the same outputs run.py writes for probe.py, so both grade identically.

The driver (mounted at /assess) has exported the values of the cells tagged `answer:layer`
(an int) and `answer:probe` (a pair weight [d_model], bias) to $ASSESS_ANSWERS as data. This
writes /output/probe.safetensors (weight [d_model] float32, bias [1] float32) and
/output/probe.json ({"layer": LAYER}). check.py then validates and scores them exactly as it
does for a folder submission; nothing here is taken on trust.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, os.environ.get("ASSESS_HARNESS", "/assess"))
from assess_answers import AnswerError, load_answer

OUTPUT = Path(os.environ.get("ASSESS_OUTPUT", "/output"))
ANSWERS = Path(os.environ.get("ASSESS_ANSWERS", OUTPUT / "answers"))
D_MODEL = 64


class SubmissionError(Exception):
    """The notebook's answers do not follow the contract (reported, exit code 2)."""


def coerce_probe(value: Any) -> tuple[np.ndarray, np.ndarray]:
    """answer:probe as (weight float32 [D_MODEL], bias float32 [1]), as run.py does for fit()."""
    if not isinstance(value, tuple | list) or len(value) != 2:
        raise SubmissionError("answer:probe must be a pair (weight, bias)")
    try:
        weight = np.asarray(value[0], dtype=np.float32).reshape(-1)
        bias = np.asarray(value[1], dtype=np.float32).reshape(-1)
    except (TypeError, ValueError) as e:
        raise SubmissionError(f"answer:probe is not numeric: {e}") from None
    if weight.shape != (D_MODEL,):
        raise SubmissionError(f"weight has {weight.size} values; expected {D_MODEL}")
    if bias.shape != (1,):
        raise SubmissionError(f"bias has {bias.size} values; expected 1")
    return weight, bias


def main() -> int:
    from safetensors.numpy import save_file

    try:
        layer = load_answer(ANSWERS, "layer")
        if isinstance(layer, bool) or not isinstance(layer, int):
            raise SubmissionError(f"answer:layer must be an int, got {type(layer).__name__}")
        weight, bias = coerce_probe(load_answer(ANSWERS, "probe"))
    except (AnswerError, SubmissionError) as e:
        print(f"run_notebook.py: {e}", file=sys.stderr)
        return 2
    OUTPUT.mkdir(parents=True, exist_ok=True)
    save_file({"weight": weight, "bias": bias}, str(OUTPUT / "probe.safetensors"))
    (OUTPUT / "probe.json").write_text(json.dumps({"layer": layer}), encoding="utf-8")
    print(f"run_notebook.py: recorded the notebook's probe at layer {layer}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
