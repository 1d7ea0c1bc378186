"""Notebook driver for the UNTRUSTED run phase. Runs inside the sandbox: stdlib + nbclient.

Mounted read-only at /assess and run as ``python /assess/assess_notebook.py`` for a notebook
submission (docs/notebooks.md). It:

1. makes a working folder (``/tmp/assess-work``) holding links to the kit's files, so the
   notebook finds ``model.py`` and ``data/`` as it did in the applicant's unpacked kit, and
   can still write new files next to them;
2. starts a fresh IPython kernel there and executes the code cells top to bottom with
   nbclient, each under the per-cell limit and all under the total limit; on a timeout the
   kernel is killed; at the first error execution stops (as "Run All" does);
3. after each cell tagged ``answer:NAME`` ran, asks the kernel to export its value as data
   to ``$ASSESS_OUTPUT/answers/`` (see assess_answers.py);
4. keeps every output within a per-cell and a total byte budget (the rest is dropped, and
   the drop is marked in the cell) and writes the executed notebook and a record of what
   happened to ``$ASSESS_OUTPUT/notebook/`` (executed.ipynb, record.json);
5. runs the task's follow-up command, if any (``grading/run_notebook.py``), which turns the
   answers into the outputs the task's check phase reads.

Nothing written here is trusted: the kernel is the submission and runs as the same user.
The record is shown to reviewers, never used to score. Exit status: the follow-up command's
if it failed, 3 if the notebook could not be run at all, else 0.
"""

from __future__ import annotations

import asyncio
import atexit
import json
import math
import os
import subprocess
import sys
import time
import traceback
from pathlib import Path
from typing import Any

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError
from nbclient.util import ensure_async
from traitlets.config import Config

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from assess_answers import TAG_PREFIX, answer_name  # noqa: E402

OUTPUT = Path(os.environ.get("ASSESS_OUTPUT", "/output"))
KIT = Path(os.environ.get("ASSESS_KIT", "/kit"))
WORK = Path(os.environ.get("ASSESS_NB_WORKDIR", "/tmp/assess-work"))
MARK = "[... {n} bytes of output dropped by the grader: {what} limit {limit} bytes ...]"
STARTUP_TIMEOUT_S = 60
MAX_TEXT = 2000  # characters of an error message kept in the record


def _env_int(name: str, default: int) -> int:
    try:
        return int(os.environ.get(name, default))
    except ValueError:
        return default


def _size(data: Any) -> int:
    """Bytes an output's payload takes (strings and nested containers)."""
    if isinstance(data, str):
        return len(data)
    if isinstance(data, dict):
        return sum(len(str(k)) + _size(v) for k, v in data.items())
    if isinstance(data, list):
        return sum(_size(v) for v in data)
    return 16


class BoundedClient(NotebookClient):  # type: ignore[misc]
    """nbclient's client with a byte budget on outputs, per cell and in total."""

    def __init__(self, nb: Any, *, cell_bytes: int, total_bytes: int, **kw: Any) -> None:
        super().__init__(nb, **kw)
        self.cell_bytes = cell_bytes
        self.total_bytes = total_bytes
        self.kept_total = 0
        self.kept_cell: dict[int, int] = {}
        self.dropped_cell: dict[int, int] = {}

    def _admit(self, cell_index: int, size: int) -> bool:
        kept = self.kept_cell.get(cell_index, 0)
        if kept + size > self.cell_bytes or self.kept_total + size > self.total_bytes:
            self.dropped_cell[cell_index] = self.dropped_cell.get(cell_index, 0) + size
            return False
        self.kept_cell[cell_index] = kept + size
        self.kept_total += size
        return True

    def _room(self, cell_index: int) -> int:
        kept = self.kept_cell.get(cell_index, 0)
        return max(0, min(self.cell_bytes - kept, self.total_bytes - self.kept_total))

    def output(self, outs: Any, msg: Any, display_id: Any, cell_index: int) -> Any:
        content = msg.get("content", {})
        text = content.get("text")
        if msg.get("msg_type") == "stream" and isinstance(text, str):
            room = self._room(cell_index)
            if len(text) > room:  # keep the head of a flood, drop the rest
                self.dropped_cell[cell_index] = (
                    self.dropped_cell.get(cell_index, 0) + len(text) - room
                )
                content["text"] = text = text[:room]
                if not text:
                    return None
        size = _size(content.get("data", {})) + _size(content.get("text", ""))
        size += _size(content.get("traceback", []))
        if not self._admit(cell_index, size):
            return None
        return super().output(outs, msg, display_id, cell_index)

    def _update_display_id(self, display_id: str, msg: Any) -> None:
        size = _size(msg.get("content", {}).get("data", {}))
        if size > self.cell_bytes // 4:
            return  # an update may replace, not grow; a huge one is dropped outright
        super()._update_display_id(display_id, msg)

    def mark_drops(self) -> int:
        """Add a marker to each cell that lost output; return the bytes dropped."""
        for index, n in self.dropped_cell.items():
            cell = self.nb.cells[index]
            what = "cell" if self.kept_total < self.total_bytes else "notebook"
            limit = self.cell_bytes if what == "cell" else self.total_bytes
            cell.setdefault("outputs", []).append(
                nbformat.v4.new_output(
                    "stream", name="stderr", text=MARK.format(n=n, what=what, limit=limit) + "\n"
                )
            )
        return sum(self.dropped_cell.values())


def _workdir() -> Path:
    """A writable folder with links to the kit's top-level entries."""
    WORK.mkdir(parents=True, exist_ok=True)
    if KIT.is_dir():
        for entry in sorted(KIT.iterdir()):
            link = WORK / entry.name
            if not link.exists() and not link.is_symlink():
                link.symlink_to(entry)
    return WORK


def _ipc_prefix() -> Path:
    """Where the kernel's sockets live (an absolute path: the kernel runs in another cwd)."""
    folder = Path(_kernel_env()["JUPYTER_RUNTIME_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    return folder / "kernel"


def _kernel_env() -> dict[str, str]:
    env = dict(os.environ)
    tmp = Path("/tmp")
    env.setdefault("HOME", str(tmp))
    env.setdefault("JUPYTER_RUNTIME_DIR", str(tmp / "jupyter" / "runtime"))
    env.setdefault("JUPYTER_DATA_DIR", str(tmp / "jupyter" / "data"))
    env.setdefault("JUPYTER_CONFIG_DIR", str(tmp / "jupyter" / "config"))
    env.setdefault("IPYTHONDIR", str(tmp / "ipython"))
    env.setdefault("MPLCONFIGDIR", str(tmp / "matplotlib"))
    # Figures inline, as in Jupyter (the image's Agg default would show nothing).
    env["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
    env["JUPYTER_PLATFORM_DIRS"] = "1"
    env["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"
    return env


def _clip(text: str, n: int = MAX_TEXT) -> str:
    return text if len(text) <= n else text[:n] + " [...]"


def _error_of(cell: Any) -> tuple[str, str]:
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error":
            return str(out.get("ename", "Error")), str(out.get("evalue", ""))
    return "Error", ""


def _cell_info(index: int, cell: Any) -> dict[str, Any]:
    lines = str(cell.get("source", "")).strip().splitlines()
    return {
        "index": index,
        "execution_count": cell.get("execution_count"),
        "tags": [str(t) for t in cell.get("metadata", {}).get("tags", [])][:20],
        "first_line": _clip(lines[0], 200) if lines else "",
    }


async def _export(client: BoundedClient, name: str, count: int | None, dest: Path) -> None:
    """Ask the kernel to write the answer; bounded by the cell limit."""
    module = HERE / "assess_answers.py"
    code = (
        "exec(compile("
        + repr(
            "import importlib.util as u\n"
            f"s = u.spec_from_file_location('_assess_answers', {str(module)!r})\n"
            "m = u.module_from_spec(s); s.loader.exec_module(m)\n"
            f"m.export_from_kernel(__import__('IPython').get_ipython().user_ns, {name!r}, "
            f"{count!r}, {str(dest)!r})\n"
        )
        + ", '<assess-export>', 'exec'), {'__builtins__': __builtins__})"
    )
    assert client.kc is not None
    msg_id = await ensure_async(
        client.kc.execute(code, silent=True, store_history=False, allow_stdin=False)
    )
    await client.async_wait_for_reply(msg_id)


def _client(nb: Any, limits: dict[str, int]) -> BoundedClient:
    return BoundedClient(
        nb,
        cell_bytes=limits["cell_bytes"],
        total_bytes=limits["total_bytes"],
        kernel_name="python3",
        timeout=limits["cell"],
        startup_timeout=min(STARTUP_TIMEOUT_S, limits["total"]),
        allow_errors=False,
        record_timing=False,
        shutdown_kernel="immediate",
        resources={"metadata": {"path": str(_workdir())}},
        # Unix sockets in /tmp rather than TCP ports: nothing listens on the network at all.
        config=Config({"KernelManager": {"transport": "ipc", "ip": str(_ipc_prefix())}}),
    )


async def _execute(client: BoundedClient, record: dict[str, Any], limits: dict[str, int]) -> None:
    deadline = time.monotonic() + limits["total"]
    nb = client.nb
    answers_dir = OUTPUT / "answers"
    async with client.async_setup_kernel(env=_kernel_env()):
        record["kernel_started"] = True
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code" or not str(cell.source).strip():
                continue
            remaining = deadline - time.monotonic()
            if remaining <= 1:
                record["outcome"] = "timeout"
                record["failed_cell"] = _cell_info(index, cell)
                break
            per_cell = min(limits["cell"], math.ceil(remaining))
            client.timeout = per_cell
            try:
                await client.async_execute_cell(
                    cell, index, execution_count=client.code_cells_executed + 1
                )
            except CellTimeoutError:
                whole = per_cell < limits["cell"]
                record["outcome"] = "timeout" if whole else "cell-timeout"
                record["failed_cell"] = _cell_info(index, cell)
                break
            except DeadKernelError:
                record["outcome"] = "kernel-died"
                record["failed_cell"] = _cell_info(index, cell)
                break
            except CellExecutionError:
                ename, evalue = _error_of(cell)
                record["outcome"] = "error"
                record["failed_cell"] = {
                    **_cell_info(index, cell),
                    "ename": _clip(ename, 200),
                    "evalue": _clip(evalue),
                }
                break
            finally:
                record["executed"] = record.get("executed", 0) + 1
            for tag in cell.metadata.get("tags", []):
                name = answer_name(str(tag))
                if name is None:
                    continue
                try:
                    await _export(client, name, cell.get("execution_count"), answers_dir)
                    record["answers"][name] = {
                        "cell": index,
                        "error": _export_error(answers_dir, name),
                    }
                except Exception as e:  # a timeout (the kernel is stuck) or a dead kernel
                    why = f"export failed: {type(e).__name__}"
                    record["answers"][name] = {"cell": index, "error": why}
        else:
            record["outcome"] = "completed"


def _export_error(answers_dir: Path, name: str) -> str:
    """What the kernel recorded for the answer: '' when it was exported."""
    try:
        doc = json.loads((answers_dir / f"{name}.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "no answer file was written"
    if isinstance(doc, dict) and "value" in doc:
        return ""
    return _clip(str(doc.get("error", "malformed answer")) if isinstance(doc, dict) else "?", 500)


def _bad_tags(nb: Any) -> list[str]:
    bad = []
    for cell in nb.cells:
        for tag in cell.get("metadata", {}).get("tags", []):
            if str(tag).startswith(TAG_PREFIX) and answer_name(str(tag)) is None:
                bad.append(str(tag)[:80])
    return bad


def run_notebook(path: Path, limits: dict[str, int]) -> dict[str, Any]:
    """Execute the notebook at `path`; write the executed copy and the record."""
    started = time.monotonic()
    record: dict[str, Any] = {
        "notebook": path.name,
        "outcome": "not-run",
        "failed_cell": None,
        "answers": {},
        "executed": 0,
        "dropped_output_bytes": 0,
        "kernel_started": False,
        "limits": limits,
    }
    notebook_dir = OUTPUT / "notebook"
    notebook_dir.mkdir(parents=True, exist_ok=True)
    try:
        nb = nbformat.read(str(path), as_version=4)
    except Exception as e:  # intake validated it; this is belt and braces
        record["outcome"] = "unreadable"
        record["detail"] = _clip(f"{type(e).__name__}: {e}")
        return record
    record["cells"] = len(nb.cells)
    record["code_cells"] = sum(1 for c in nb.cells if c.cell_type == "code")
    record["bad_tags"] = _bad_tags(nb)
    for cell in nb.cells:  # outputs are ours to produce, never the applicant's
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    client = _client(nb, limits)
    try:
        asyncio.run(_execute(client, record, limits))
    except Exception as e:  # the kernel failed to start, or nbclient itself failed
        atexit.unregister(client._cleanup_kernel)  # already cleaned up; would only complain
        if not record["kernel_started"]:
            record["outcome"] = "kernel-failed"
        elif record["outcome"] == "not-run":
            record["outcome"] = "kernel-died"
        record["detail"] = _clip(f"{type(e).__name__}: {e}")
        traceback.print_exc()
    record["seconds"] = round(time.monotonic() - started, 3)
    record["dropped_output_bytes"] = client.mark_drops()
    try:
        nbformat.write(nb, str(notebook_dir / "executed.ipynb"))
    except Exception as e:
        record["detail"] = _clip(f"could not write the executed notebook: {e}")
    return record


def main() -> int:
    path = Path(os.environ.get("ASSESS_NOTEBOOK", ""))
    limits = {
        "cell": max(1, _env_int("ASSESS_NB_CELL_TIMEOUT", 60)),
        "total": max(1, _env_int("ASSESS_NB_TIMEOUT", 300)),
        "cell_bytes": max(1024, _env_int("ASSESS_NB_CELL_OUTPUT_BYTES", 1 << 20)),
        "total_bytes": max(1024, _env_int("ASSESS_NB_OUTPUT_BYTES", 4 << 20)),
    }
    record = run_notebook(path, limits)
    (OUTPUT / "notebook").mkdir(parents=True, exist_ok=True)
    (OUTPUT / "notebook" / "record.json").write_text(json.dumps(record), encoding="utf-8")
    print(
        f"assess: notebook {record['outcome']}: {record['executed']} cell(s) executed "
        f"in {record.get('seconds', 0):.1f} s",
        flush=True,
    )
    if record["outcome"] in ("unreadable", "kernel-failed"):
        return 3
    then = json.loads(os.environ.get("ASSESS_NB_THEN", "[]") or "[]")
    if then:
        print(f"assess: running {' '.join(then)}", flush=True)
        return subprocess.run(
            then, cwd=str(WORK if WORK.is_dir() else "/tmp"), check=False
        ).returncode
    return 0


if __name__ == "__main__":
    sys.exit(main())
