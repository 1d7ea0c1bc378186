"""Notebook answers as data: how a tagged cell's value is written and read back. Stdlib + numpy.

A notebook submission marks its answer cells with a tag ``answer:NAME`` (docs/notebooks.md).
After such a cell runs, the notebook driver (``assess_notebook.py``) asks the kernel to export
the cell's value with :func:`export_from_kernel`; the task's ``grading/run_notebook.py`` or its
``check.py`` reads it back with :func:`load_answer`.

On disk, in ``$ASSESS_OUTPUT/answers/``:

* ``NAME.json`` — ``{"value": TREE}`` on success, ``{"error": "TypeError: ..."}`` otherwise.
  TREE is JSON: null, bools, ints, finite floats, strings, lists and string-keyed objects;
  ``{"__float__": "nan" | "inf" | "-inf"}`` for non-finite floats, ``{"__tuple__": [...]}``
  for tuples and ``{"__ndarray__": KEY}`` for an array stored under KEY in ``NAME.npz``:
* ``NAME.npz`` — the arrays, written with ``numpy.savez`` (never pickled: object arrays are
  refused on export, and :func:`load_answer` reads with ``allow_pickle=False``).

Everything here runs next to untrusted code (the kernel is the submission), so the reader
treats the files as hostile: sizes, depth and types are bounded and checked.
"""

from __future__ import annotations

import json
import math
import os
import re
from pathlib import Path
from typing import Any

TAG_PREFIX = "answer:"
NAME_PATTERN = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$")
MAX_DEPTH = 32
MAX_ITEMS = 100_000  # list items + object keys in one answer
MAX_JSON_BYTES = 4_000_000
MAX_NPZ_BYTES = 64_000_000
_NO_VALUE = object()


class AnswerError(ValueError):
    """An answer is missing, failed to export, or is not valid data."""


def answer_name(tag: str) -> str | None:
    """The answer name in a cell tag (``answer:probe`` -> ``probe``), or None."""
    if not tag.startswith(TAG_PREFIX):
        return None
    name = tag[len(TAG_PREFIX) :]
    return name if NAME_PATTERN.match(name) else None


# ----------------------------------------------------------------------------- export


class _Encoder:
    def __init__(self) -> None:
        self.arrays: dict[str, Any] = {}
        self.items = 0

    def encode(self, v: Any, depth: int = 0) -> Any:
        if depth > MAX_DEPTH:
            raise ValueError(f"nested deeper than {MAX_DEPTH} levels")
        self.items += 1
        if self.items > MAX_ITEMS:
            raise ValueError(f"more than {MAX_ITEMS} items")
        if v is None or isinstance(v, bool | str):
            return v
        if isinstance(v, int):
            return v
        if isinstance(v, float):
            return v if math.isfinite(v) else {"__float__": repr(v)}
        if isinstance(v, tuple):
            return {"__tuple__": [self.encode(x, depth + 1) for x in v]}
        if isinstance(v, list):
            return [self.encode(x, depth + 1) for x in v]
        if isinstance(v, dict):
            out = {}
            for k, x in v.items():
                if not isinstance(k, str):
                    raise TypeError(f"dict keys must be strings, not {type(k).__name__}")
                if k.startswith("__") and k.endswith("__"):
                    raise ValueError(f"dict key {k[:40]!r} is reserved")
                out[k] = self.encode(x, depth + 1)
            return out
        return self._array_like(v, depth)

    def _array_like(self, v: Any, depth: int) -> Any:
        module = type(v).__module__.split(".")[0]
        if module == "torch" and hasattr(v, "detach"):
            v = v.detach().cpu().numpy()
        elif module != "numpy":
            raise TypeError(
                f"cannot export a {type(v).__name__}: use numbers, strings, "
                "lists, tuples, dicts, numpy arrays or torch tensors"
            )
        import numpy as np

        if isinstance(v, np.generic):
            return self.encode(v.item(), depth)
        arr = np.asarray(v)
        if arr.dtype.hasobject or arr.dtype.kind not in "biufc":
            raise TypeError(f"cannot export an array of dtype {arr.dtype}")
        key = f"a{len(self.arrays)}"
        self.arrays[key] = arr
        return {"__ndarray__": key}


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def export_value(value: Any, name: str, dest: Path) -> None:
    """Write `value` as answer `name` in `dest` (JSON tree + .npz for arrays).

    Raises:
        TypeError, ValueError: the value cannot be exported as data (nothing is written).
    """
    enc = _Encoder()
    tree = enc.encode(value)
    body = json.dumps({"value": tree}, allow_nan=False).encode("utf-8")
    if len(body) > MAX_JSON_BYTES:
        raise ValueError(f"the answer is larger than {MAX_JSON_BYTES} bytes as JSON")
    dest.mkdir(parents=True, exist_ok=True)
    if enc.arrays:
        import numpy as np

        tmp = dest / f".{name}.npz.tmp"
        with tmp.open("wb") as f:
            np.savez(f, **enc.arrays)
        if tmp.stat().st_size > MAX_NPZ_BYTES:
            tmp.unlink()
            raise ValueError(f"the answer's arrays are larger than {MAX_NPZ_BYTES} bytes")
        os.replace(tmp, dest / f"{name}.npz")
    _write_atomic(dest / f"{name}.json", body)


def export_from_kernel(user_ns: dict[str, Any], name: str, count: int | None, dest: str) -> None:
    """Runs *inside the kernel* after the cell tagged ``answer:NAME`` ran.

    The value is the cell's result (``Out[count]``, what Jupyter shows as its output); if the
    cell has no result, the variable called NAME. A failure is recorded, never raised.
    """
    path = Path(dest)
    value: Any = _NO_VALUE
    out = user_ns.get("Out")
    if isinstance(out, dict) and count is not None and count in out:
        value = out[count]
    elif name.isidentifier() and name in user_ns:
        value = user_ns[name]
    try:
        if value is _NO_VALUE:
            raise ValueError(
                f"the cell tagged answer:{name} has no result: end it with an expression "
                f"(without ';') or define a variable called {name}"
            )
        export_value(value, name, path)
    except Exception as e:  # recorded for the report; the notebook goes on
        path.mkdir(parents=True, exist_ok=True)
        msg = f"{type(e).__name__}: {e}"[:500]
        _write_atomic(path / f"{name}.json", json.dumps({"error": msg}).encode("utf-8"))


# ----------------------------------------------------------------------------- read


def _decode(tree: Any, arrays: Any, depth: int = 0) -> Any:
    if depth > MAX_DEPTH:
        raise AnswerError(f"nested deeper than {MAX_DEPTH} levels")
    if tree is None or isinstance(tree, bool | int | float | str):
        return tree
    if isinstance(tree, list):
        return [_decode(x, arrays, depth + 1) for x in tree]
    if not isinstance(tree, dict):
        raise AnswerError(f"unexpected {type(tree).__name__} in the answer")
    if "__float__" in tree:
        text = tree["__float__"]
        if len(tree) != 1 or text not in ("nan", "inf", "-inf"):
            raise AnswerError("malformed non-finite float")
        return float(text)
    if "__tuple__" in tree:
        items = tree["__tuple__"]
        if len(tree) != 1 or not isinstance(items, list):
            raise AnswerError("malformed tuple")
        return tuple(_decode(x, arrays, depth + 1) for x in items)
    if "__ndarray__" in tree:
        key = tree["__ndarray__"]
        if len(tree) != 1 or not isinstance(key, str) or arrays is None or key not in arrays:
            raise AnswerError("the answer refers to an array that is missing")
        return arrays[key]
    return {k: _decode(v, arrays, depth + 1) for k, v in tree.items()}


def _regular_file(path: Path, max_bytes: int) -> bool:
    if path.is_symlink() or (path.exists() and not path.is_file()):
        raise AnswerError(f"{path.name} is not a regular file")
    if not path.exists():
        return False
    if path.stat().st_size > max_bytes:
        raise AnswerError(f"{path.name} is larger than {max_bytes} bytes")
    return True


def load_answer(answers: Path | str, name: str) -> Any:
    """Read answer `name` from the answers folder.

    Arrays come back as numpy arrays, tuples as tuples, non-finite floats as floats.

    Raises:
        AnswerError: missing, failed on export (the message says why), or malformed.
    """
    root = Path(answers)
    if not NAME_PATTERN.match(name):
        raise AnswerError(f"invalid answer name {name!r}")
    if not _regular_file(root / f"{name}.json", MAX_JSON_BYTES):
        raise AnswerError(f"no answer {name!r}: no cell tagged answer:{name} ran")
    try:
        doc = json.loads((root / f"{name}.json").read_bytes().decode("utf-8"))
    except (ValueError, RecursionError, UnicodeDecodeError):
        raise AnswerError(f"answer {name!r} is not valid JSON") from None
    if not isinstance(doc, dict):
        raise AnswerError(f"answer {name!r} is malformed")
    if "error" in doc:
        raise AnswerError(f"answer {name!r} could not be exported: {str(doc['error'])[:500]}")
    if "value" not in doc:
        raise AnswerError(f"answer {name!r} is malformed")
    arrays = None
    if _regular_file(root / f"{name}.npz", MAX_NPZ_BYTES):
        import numpy as np

        try:
            with np.load(root / f"{name}.npz", allow_pickle=False) as f:
                arrays = {k: f[k] for k in f.files}
        except Exception:  # bad zip, bad header, pickled data: all hostile input
            raise AnswerError(f"answer {name!r}: its arrays cannot be read") from None
    try:
        return _decode(doc["value"], arrays)
    except RecursionError:
        raise AnswerError(f"answer {name!r} is nested too deeply") from None
