"""A submission with every kind of file the viewer shows, most of them hostile, and a
task roomy enough to accept it (py-exec with a 2 MB limit), for the viewer's tests."""

from __future__ import annotations

import base64
import io
import json
import shutil
import zipfile
from html.parser import HTMLParser
from pathlib import Path

from tests.api.conftest import PY_EXEC

TASK_ID = "py-files"
# A 16x16 red PNG (made once with zlib; bytes checked by the image tests).
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAABAAAAAQCAIAAACQkWg2AAAAF0lEQVR4nGP4z8BAEiJN9aiGUQ1DSgMAkPn/"
    "Afnh+ngAAAAASUVORK5CYII="
)
GIF = base64.b64decode("R0lGODlhAQABAIAAAP///wAAACH5BAEAAAAALAAAAAABAAEAAAICRAEAOw==")
WRITEUP = """# Search method

We scanned **every** trigger with a `grid`; see [the code](main.py).

<script>alert('md-script')</script>
<img src=x onerror="alert('md-img')">
<x-evil data-f=md>raw html</x-evil>

[a javascript link](javascript:alert('md-link'))
[a data link](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)
[an honest link](https://example.org/paper "the paper")

![tracker](https://evil.example/pixel.png)

| trigger | asr |
|---|---|
| patch | 0.93 |
"""
MAIN = "ANSWER = 6 * 7\n\n\ndef search(triggers):\n    return sorted(triggers)  # <b>not bold</b>\n"
NOTEBOOK = {
    "nbformat": 4,
    "nbformat_minor": 5,
    "metadata": {"authors": [{"name": "Alice Smith"}]},
    "cells": [
        {"cell_type": "markdown", "metadata": {}, "id": "a",
         "source": "## Analysis\n<script>alert('nb-md')</script>"},
        {"cell_type": "code", "metadata": {}, "id": "b", "execution_count": 1,
         "source": "print('hello from the notebook')",
         "outputs": [
             {"output_type": "stream", "name": "stdout", "text": "hello from the notebook\n"},
             {"output_type": "display_data", "metadata": {},
              "data": {"text/html": "<img src=x onerror=\"alert('nb-html')\"><b>bold</b>",
                       "application/javascript": "alert('nb-js')"}},
         ]},
    ],
}  # fmt: skip
SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" onload="alert(\'svg\')">'
    "<script>alert(1)</script></svg>\n"
)
HOSTILE_NAME = "notes/<x-evil data-f=name>.txt"
UNICODE_NAME = "notes/r\u00e9sum\u00e9 \u65e5\u672c.txt"
BIG = ("0123456789abcdef" * 64 + "\n") * 300  # about 300 KB of text


def files() -> dict[str, bytes]:
    return {
        "main.py": MAIN.encode(),
        "writeup.md": WRITEUP.encode(),
        "analysis.ipynb": json.dumps(NOTEBOOK).encode(),
        "figures/plot.png": PNG,
        "figures/spinner.gif": GIF,
        "figures/fake.png": b"<script>alert('not a png')</script>",
        "figures/logo.svg": SVG.encode(),
        "data/results.csv": b'trigger,asr\npatch,0.93\n"<b>x</b>",0.1\n',
        "data/summary.json": b'{"best": "patch", "asr": 0.93}',
        "data/weights.bin": bytes(range(256)) * 4,
        "logs/big.txt": BIG.encode(),
        HOSTILE_NAME: b"a file whose name is markup\n",
        UNICODE_NAME: "r\u00e9sum\u00e9 in UTF-8\n".encode(),
    }


def zipped(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0)), data)
    return buf.getvalue()


def roomy_task(dest: Path) -> Path:
    """py-exec as "py-files", accepting 2 MB and 50 files."""
    root = dest / TASK_ID
    shutil.copytree(PY_EXEC, root, ignore=shutil.ignore_patterns("__pycache__", "bad"))
    toml = (root / "task.toml").read_text()
    toml = toml.replace('id = "py-exec"', f'id = "{TASK_ID}"')
    toml = toml.replace("max_files = 20\nmax_bytes = 100000", "max_files = 50\nmax_bytes = 2000000")
    assert TASK_ID in toml and "max_bytes = 2000000" in toml
    (root / "task.toml").write_text(toml)
    return root


class _Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, {k: v or "" for k, v in attrs}))


def elements(html: str) -> list[tuple[str, dict[str, str]]]:
    """Every element the HTML builds, with its attributes (as a browser would parse it)."""
    parser = _Elements()
    parser.feed(html)
    return parser.found


def assert_inert(html: str) -> None:
    """No script, frame, object, form or foreign element; no handler; no link or source
    anywhere but the page itself or an http(s) target; no style attribute."""
    for tag, attrs in elements(html):
        assert tag not in ("script", "iframe", "object", "embed", "form", "svg", "x-evil"), tag
        assert tag != "img" or attrs.get("src", "data:image/").startswith("data:image/"), attrs
        for name, value in attrs.items():
            assert not name.startswith("on") and name != "style", (tag, name)
            if name in ("href", "src", "action"):
                assert not value.lower().startswith(("javascript:", "data:text", "vbscript:"))
