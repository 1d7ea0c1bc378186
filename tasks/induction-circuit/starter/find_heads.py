"""Your analysis: find the previous-token and induction heads and measure their ablation effects.

    python find_heads.py            # analyse the kit model and write heads.json

The grader imports this file and calls `find_heads(model)` on a hidden copy of the model whose
heads are relabelled (same function, different head indices and internal bases), so compute
everything from the model you are given: nothing may be hard-coded. See instructions.md for
the exact definitions and the format of the returned dict.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from model import load_model, make_batch  # noqa: E402, F401


def find_heads(model) -> dict:
    """Return {"previous_token_heads": [...], "induction_heads": [...], "baseline": {...},
    "effects": {...}} (the format of heads.json, see instructions.md)."""
    raise NotImplementedError("find_heads: your analysis goes here")


def main() -> None:
    result = find_heads(load_model())
    (HERE / "heads.json").write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
