"""Notebooks as safe HTML for the reviewers' report: nbconvert, then a strict sanitiser.

A notebook's outputs are the submission's own HTML: anything a kernel can display. The page
must show it without running it, so every cell goes through three steps:

1. **Reduce** (trusted code, on a copy): cell metadata is dropped (it drives nbconvert's
   classes and hiding); outputs keep only inert MIME types (text, HTML, Markdown, PNG, JPEG,
   GIF, SVG); JavaScript, widgets and unknown types become a one-line note; an SVG becomes an
   ``<img>`` with a data URI, where it can neither run script nor load anything.
2. **Render** the one-cell notebook with nbconvert's ``basic`` template (body only, images
   inline as data URIs, tracebacks' ANSI colours as classes).
3. **Sanitise** with nh3 (ammonia): an allow-list of tags; no ``style``, ``id``, event
   handler or link targets at all; ``src`` only as an inline ``data:image/...`` URI;
   ``class`` only from nbconvert's and Pygments' own names; ``<script>``/``<style>``
   removed with their content.

Before step 2 every piece of text (sources, Markdown, HTML, streams, tracebacks, error
names) is cleaned by :func:`grader.text.clean_text`: no escape sequence other than colours
(which nbconvert turns into ``ansi-*`` classes), no control character, no bidirectional
override that could make a cell read differently from what it is; after step 3 the same
characters are removed from the HTML once more.

The grader then wraps each cell in its own markup (answer and failure markers) which no
notebook content can produce: its classes start with ``nbx-``, never allowed by step 3.
The report's Content-Security-Policy (no scripts, images only from ``data:``) is a second
wall behind this one.
"""

from __future__ import annotations

import base64
import copy
import functools
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nh3
from markupsafe import Markup, escape

from grader.notebook._format import TAG_PREFIX
from grader.text import clean_text, strip_controls

MAX_NOTEBOOK_BYTES = 64 * 1024 * 1024
MAX_CELLS = 1000
MAX_CELL_HTML = 2 * 1024 * 1024

_TEXT_TYPES = ("text/plain", "text/markdown", "text/latex")
_IMAGE_TYPES = ("image/png", "image/jpeg", "image/gif")
_KEPT_TYPES = ("text/html", "image/svg+xml", *_IMAGE_TYPES, *_TEXT_TYPES)

_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "code", "col", "colgroup", "dd", "del",
    "details", "div", "dl", "dt", "em", "figcaption", "figure", "h1", "h2", "h3", "h4", "h5",
    "h6", "hr", "i", "img", "ins", "kbd", "li", "mark", "ol", "p", "pre", "q", "s", "samp",
    "small", "span", "strike", "strong", "sub", "summary", "sup", "table", "tbody", "td",
    "tfoot", "th", "thead", "tr", "tt", "u", "ul", "var",
}  # fmt: skip
_ATTRIBUTES = {
    "*": {"class", "title"},
    "img": {"src", "alt", "width", "height"},
    "td": {"colspan", "rowspan", "align"},
    "th": {"colspan", "rowspan", "align"},
    "ol": {"start"},
}
_DATA_IMAGE = re.compile(r"^data:image/(png|jpeg|gif|webp|svg\+xml);base64,[A-Za-z0-9+/=\s]*$")
# The class names nbconvert's basic template and Pygments produce; nothing else survives.
_NBCONVERT_CLASSES = frozenset(
    """cell border-box-sizing code_cell text_cell raw_cell rendered unrendered input
    inner_cell input_area prompt input_prompt output_prompt output_wrapper output output_area
    output_subarea output_text output_stream output_stdout output_stderr output_error
    output_execute_result output_display_data output_png output_jpeg output_gif output_svg
    output_html output_markdown output_latex text_cell_render rendered_html highlight
    anchor-link""".split()  # noqa: SIM905 - a word list reads better than 35 quoted strings
)
_PYGMENTS_CLASSES = frozenset(
    """bp c c1 ch cm cp cpf cs dl err esc fm g gd ge ges gh gi go gp gr gs gt gu il k kc kd kn
    kp kr kt l ld m mb mf mh mi mo n na nb nc nd ne nf ni nl nn no nt nv nx o ow p pm py s s1
    s2 sa sb sc sd se sh si sr ss sx vc vg vi vm w x""".split()  # noqa: SIM905
)
_PATTERN_CLASSES = re.compile(r"^(ansi-[a-z0-9-]{1,40}|hl-[a-z0-9]{1,20})$")


def _allowed_class(name: str) -> bool:
    return (
        name in _NBCONVERT_CLASSES
        or name in _PYGMENTS_CLASSES
        or bool(_PATTERN_CLASSES.match(name))
    )


def _attribute_filter(tag: str, attr: str, value: str) -> str | None:
    if attr == "class":
        kept = [c for c in value.split() if _allowed_class(c)]
        return " ".join(kept) or None
    if attr == "src":
        return value if tag == "img" and _DATA_IMAGE.match(value) else None
    if attr in ("width", "height", "colspan", "rowspan", "start"):
        return value if value.isdigit() and len(value) <= 5 else None
    return value[:500]


def sanitize_html(html: str) -> str:
    """Make untrusted HTML inert: no script, no handlers, no styles, no external loads."""
    return nh3.clean(
        html,
        tags=_TAGS,
        attributes=_ATTRIBUTES,
        attribute_filter=_attribute_filter,
        clean_content_tags={"script", "style", "template", "noscript", "title"},
        url_schemes={"data"},
        url_relative="deny",
        strip_comments=True,
        link_rel="noopener noreferrer nofollow",
    )


# ----------------------------------------------------------------------------- reduce


def _text(value: Any) -> str:
    if isinstance(value, list):
        return "".join(str(v) for v in value)
    return str(value) if value is not None else ""


def _output_text(value: Any) -> str:
    """Printed output (streams, tracebacks, plain values): cleaned as a terminal shows it,
    colours kept for nbconvert to turn into classes."""
    return clean_text(_text(value), colours=True)


def _document(value: Any) -> str:
    """Source, Markdown and HTML: cleaned, a carriage return read as a line break."""
    return clean_text(_text(value), terminal=False)


def _note(text: str) -> dict[str, Any]:
    return {"output_type": "stream", "name": "stderr", "text": text + "\n"}


def _reduce_output(out: Any) -> dict[str, Any] | None:
    if not isinstance(out, dict):
        return None
    kind = out.get("output_type")
    if kind == "stream":
        name = out.get("name") if out.get("name") in ("stdout", "stderr") else "stdout"
        return {"output_type": "stream", "name": name, "text": _output_text(out.get("text"))}
    if kind == "error":
        tb = out.get("traceback")
        return {
            "output_type": "error",
            "ename": clean_text(_text(out.get("ename")))[:500],
            "evalue": clean_text(_text(out.get("evalue")))[:4000],
            "traceback": [_output_text(t) for t in tb] if isinstance(tb, list) else [],
        }
    if kind not in ("execute_result", "display_data"):
        return None
    raw_data = out.get("data")
    data: dict[str, Any] = raw_data if isinstance(raw_data, dict) else {}
    kept: dict[str, str] = {}
    if "image/svg+xml" in data:  # an <img> with a data URI: no script, no external load
        svg = _text(data["image/svg+xml"]).encode("utf-8")
        uri = "data:image/svg+xml;base64," + base64.b64encode(svg).decode("ascii")
        kept["text/html"] = f'<img src="{uri}" alt="SVG output">'
    elif "text/html" in data:
        kept["text/html"] = sanitize_html(_document(data["text/html"]))
    else:
        for mime in _IMAGE_TYPES:
            if mime in data:
                kept[mime] = re.sub(r"[^A-Za-z0-9+/=]", "", _text(data[mime]))
                break
    if not kept:
        for mime in _TEXT_TYPES:
            if mime in data:
                kept["text/plain"] = _output_text(data[mime])
                break
    if not kept:
        shown = ", ".join(sorted(str(k) for k in data)[:5]) or "nothing"
        return _note(f"[output of type {shown} not shown: the report runs no code]")
    reduced: dict[str, Any] = {"output_type": kind, "data": kept, "metadata": {}}
    if kind == "execute_result":
        count = out.get("execution_count")
        reduced["execution_count"] = count if isinstance(count, int) else None
    return reduced


def _reduce_cell(cell: dict[str, Any]) -> dict[str, Any]:
    kind = cell.get("cell_type")
    if kind == "code":
        count = cell.get("execution_count")
        outputs = [o for o in map(_reduce_output, cell.get("outputs") or []) if o is not None]
        return {
            "cell_type": "code",
            "source": _document(cell.get("source")),
            "metadata": {},
            "execution_count": count if isinstance(count, int) else None,
            "outputs": outputs,
        }
    if kind == "markdown":
        return {"cell_type": "markdown", "source": _document(cell.get("source")), "metadata": {}}
    # raw cells (and anything else) are shown as text
    return {
        "cell_type": "markdown",
        "source": "",
        "metadata": {},
        "_raw": _document(cell.get("source")),
    }


# ----------------------------------------------------------------------------- render


@functools.cache
def _exporter() -> Any:
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(template_name="basic")  # type: ignore[no-untyped-call]
    exporter.anchor_link_text = ""  # headings' anchors would link nowhere: ids are removed
    return exporter


def _render_cell(cell: dict[str, Any]) -> str:
    import nbformat

    if "_raw" in cell:
        return f'<pre class="output_text">{escape(cell["_raw"])}</pre>'
    nb = nbformat.from_dict(  # type: ignore[no-untyped-call]
        {
            "nbformat": 4,
            "nbformat_minor": 5,
            "metadata": {"language_info": {"name": "python"}},
            "cells": [{**copy.deepcopy(cell), "id": "c"}],
        }
    )
    body, _ = _exporter().from_notebook_node(nb)
    # Inputs were cleaned before rendering; this catches what nbconvert left (an escape
    # sequence it did not convert), removing characters only.
    html = strip_controls(sanitize_html(body))
    if len(html) > MAX_CELL_HTML:
        return '<pre class="output_text">[this cell is too large to show]</pre>'
    return html


@dataclass(frozen=True)
class RenderedCell:
    """One cell for the report: trusted markers around sanitised HTML."""

    index: int
    kind: str
    answers: tuple[str, ...]
    error: str  # "ValueError: boom" when the cell shows an error output
    html: Markup


@dataclass(frozen=True)
class RenderedNotebook:
    """A notebook ready for the report template."""

    cells: list[RenderedCell]
    problem: str = ""  # why the notebook could not be shown ("" if it could)
    omitted: int = 0
    answers: list[str] = field(default_factory=list)


def _answers_of(cell: Any) -> tuple[str, ...]:
    meta = cell.get("metadata") if isinstance(cell, dict) else None
    tags = meta.get("tags") if isinstance(meta, dict) else None
    names = [
        clean_text(t[len(TAG_PREFIX) :][:64])
        for t in (tags if isinstance(tags, list) else [])
        if isinstance(t, str) and t.startswith(TAG_PREFIX)
    ]
    return tuple(names)


def _error_of(cell: dict[str, Any]) -> str:
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error":
            return f"{out.get('ename', '')}: {out.get('evalue', '')}".strip(": ")[:300]
    return ""


def render_notebook(source: Path | dict[str, Any]) -> RenderedNotebook:
    """Render a notebook (a path to an .ipynb, or the parsed JSON) as sanitised cells.

    Never raises for a bad notebook: a missing, oversized or malformed file comes back as a
    :class:`RenderedNotebook` with `problem` set.
    """
    if isinstance(source, Path):
        if source.is_symlink() or not source.is_file():
            return RenderedNotebook([], problem="no notebook was written")
        if source.stat().st_size > MAX_NOTEBOOK_BYTES:
            return RenderedNotebook([], problem=f"larger than {MAX_NOTEBOOK_BYTES} bytes")
        try:
            data = json.loads(source.read_bytes().decode("utf-8"))
        except (ValueError, UnicodeDecodeError, RecursionError):
            return RenderedNotebook([], problem="not a readable notebook (not JSON)")
    else:
        data = source
    raw_cells = data.get("cells") if isinstance(data, dict) else None
    if not isinstance(raw_cells, list):
        return RenderedNotebook([], problem="not a notebook (no cells)")
    cells: list[RenderedCell] = []
    all_answers: list[str] = []
    for index, raw in enumerate(raw_cells[:MAX_CELLS]):
        if not isinstance(raw, dict):
            continue
        reduced = _reduce_cell(raw)
        answers = _answers_of(raw) if reduced["cell_type"] == "code" else ()
        all_answers += answers
        try:
            html = _render_cell(reduced)
        except Exception as e:  # nbconvert on hostile input: show that, not a crash
            html = f'<pre class="output_text">[cell not rendered: {escape(type(e).__name__)}]</pre>'
        cells.append(
            RenderedCell(
                index=index,
                kind=str(reduced["cell_type"]) if "_raw" not in reduced else "raw",
                answers=answers,
                error=_error_of(reduced) if reduced["cell_type"] == "code" else "",
                html=Markup(html),  # sanitised by sanitize_html above
            )
        )
    return RenderedNotebook(cells, omitted=max(0, len(raw_cells) - MAX_CELLS), answers=all_answers)
