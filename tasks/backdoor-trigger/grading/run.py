"""Run phase: validate the submission's format and copy it to /output. No submission code runs.

Mounts (paths from the ASSESS_* variables, so this also runs on the host): /submission (ro,
the cwd), /kit (ro, the starter kit: tokenizer.py, vocab.json), /output (rw, small).

The submission is data: trigger.json ({"tokens": [...]}, word ids or word strings, 2-4 of
them) and writeup.md. This script checks trigger.json with the kit's own parser, prints what
it found for the reviewers' log, and copies both files (size-capped) to /output for the check
phase, which re-parses everything itself: nothing written here is taken on trust.

Exit status: 0 when trigger.json is valid, 2 when it is not (the files are copied anyway, so
the check can explain the problem).
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from pathlib import Path

from assess_run import copy_capped

OUTPUT = Path(os.environ.get("ASSESS_OUTPUT", "/output"))
KIT = Path(os.environ.get("ASSESS_KIT", "/kit"))
SUBMISSION = Path(os.environ.get("ASSESS_SUBMISSION", "/submission"))

LIMITS = {"trigger.json": 64 * 1024, "writeup.md": 512 * 1024}  # bytes copied at most


def main() -> int:
    spec = importlib.util.spec_from_file_location("backdoor_kit_tokenizer", KIT / "tokenizer.py")
    if spec is None or spec.loader is None:
        print("run.py: cannot load the kit's tokenizer.py", file=sys.stderr)
        return 1
    tokenizer = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = tokenizer  # dataclasses look their module up there
    spec.loader.exec_module(tokenizer)

    OUTPUT.mkdir(parents=True, exist_ok=True)
    copy_capped("writeup.md", LIMITS["writeup.md"])
    raw = copy_capped("trigger.json", LIMITS["trigger.json"])
    if raw is None:
        return 2
    try:
        ids = tokenizer.parse_trigger(json.loads(raw.decode("utf-8")))
    except (ValueError, UnicodeDecodeError, RecursionError) as e:
        print(f"run.py: trigger.json is not valid: {str(e)[:300]}", file=sys.stderr)
        return 2
    print(f"run.py: trigger.json holds {len(ids)} words: {tokenizer.decode(ids)} (ids {ids})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
