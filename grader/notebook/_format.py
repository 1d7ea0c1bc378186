"""The notebook contract at intake: valid nbformat v4, bounded, with the answers it must tag."""

from __future__ import annotations

import json
import warnings
from typing import Any

from grader.errors import IntakeError
from grader.spec import Notebook

TAG_PREFIX = "answer:"
# Where the run phase leaves notebook artifacts, relative to its output folder.
ANSWERS_DIR = "answers"
EXECUTED = "notebook/executed.ipynb"
RECORD = "notebook/record.json"
# The trusted copy of the notebook as submitted, written by the grader next to the outputs.
SUBMITTED = "notebook/submitted.ipynb"


def answer_tags(nb: dict[str, Any]) -> dict[str, int]:
    """Answer names tagged in `nb` (``answer:NAME``) and the index of the cell of each."""
    found: dict[str, int] = {}
    cells = nb.get("cells")
    for index, cell in enumerate(cells if isinstance(cells, list) else []):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        metadata = cell.get("metadata")
        tags = metadata.get("tags") if isinstance(metadata, dict) else None
        for tag in tags if isinstance(tags, list) else []:
            if isinstance(tag, str) and tag.startswith(TAG_PREFIX):
                found.setdefault(tag[len(TAG_PREFIX) :], index)
    return found


def output_bytes(nb: dict[str, Any]) -> int:
    """Bytes of outputs a notebook carries (their JSON), summed over its code cells."""
    total = 0
    cells = nb.get("cells")
    for cell in cells if isinstance(cells, list) else []:
        outputs = cell.get("outputs") if isinstance(cell, dict) else None
        if isinstance(outputs, list) and outputs:
            total += len(json.dumps(outputs))
    return total


def check_notebook(raw: bytes, name: str, rules: Notebook) -> dict[str, Any]:
    """Validate a submitted notebook and return it parsed.

    Checks, in order: UTF-8 JSON, nbformat 4 and its schema (nbformat.validate, after the
    normalisation Jupyter applies itself, e.g. missing cell ids), the size of the outputs
    it carries, and the answer cells the task requires.

    Raises:
        IntakeError: one line naming the notebook and what is wrong.
    """
    import nbformat
    from nbformat.validator import normalize

    try:
        data = json.loads(raw.decode("utf-8"))
    except (ValueError, UnicodeDecodeError, RecursionError) as e:
        raise IntakeError(f"{name}: not a valid notebook (not JSON: {_first_line(e)})") from None
    if not isinstance(data, dict) or data.get("nbformat") != 4:
        found = data.get("nbformat") if isinstance(data, dict) else type(data).__name__
        raise IntakeError(f"{name}: not a valid notebook (expected nbformat 4, found {found!r})")
    minor = data.get("nbformat_minor")
    if not isinstance(minor, int) or isinstance(minor, bool):
        raise IntakeError(f"{name}: not a valid notebook ('nbformat_minor' must be an integer)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _, data = normalize(data, version=4, version_minor=minor)
            nbformat.validate(data, version=4)
    except nbformat.ValidationError as e:
        where = "/".join(str(p) for p in getattr(e, "absolute_path", [])) or "(top level)"
        raise IntakeError(
            f"{name}: not a valid nbformat v4 notebook: at {where}: {_first_line(e)}"
        ) from None
    except RecursionError:
        raise IntakeError(f"{name}: not a valid notebook (nested too deeply)") from None
    size = output_bytes(data)
    if size > rules.submitted_output_kb * 1024:
        raise IntakeError(
            f"{name}: its outputs take {size} bytes, more than the limit of "
            f"{rules.submitted_output_kb} KB; clear the outputs (Kernel > Restart Kernel and "
            "Clear Outputs) and submit again: the grader runs the notebook itself"
        )
    tagged = answer_tags(data)
    missing = [a for a in rules.answers if a not in tagged]
    if missing:
        listed = ", ".join(f"answer:{a}" for a in missing)
        raise IntakeError(
            f"{name}: no cell is tagged {listed}; tag the cell whose result is each answer "
            "(see the task's instructions)"
        )
    return dict(data)


def _first_line(e: BaseException) -> str:
    text = getattr(e, "message", None) or str(e)
    lines = [ln for ln in str(text).splitlines() if ln.strip()]
    return lines[0][:300] if lines else type(e).__name__
