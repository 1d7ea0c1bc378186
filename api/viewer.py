"""The submission viewer: a stored submission's files, listed and rendered for reviewers.

Files come from the stored blob (:class:`api.storage.BlobStore`, verified against its
sha256 on every read) through its **manifest**: the archive's regular members, each name
validated as intake validates it (:func:`grader.intake.check_member_name`). A request names
a file by its manifest path and nothing else: the path is a key looked up in the manifest,
never joined to a folder, so a path the manifest lacks (``..``, absolute, encoded, or simply
unknown) is :class:`NotInManifest`. A notebook upload (``.ipynb`` blob) is one file named
``submission.ipynb``, whatever the applicant called it (a file name can carry a name).

Rendering treats every byte as hostile:

* **code**: Pygments, server-side (it escapes every token); lines numbered and anchored.
* **markdown**: markdown-it-py with raw HTML off (HTML in the source shows as text), images
  shown as their alt text (no loads), then nh3 with an allow-list of tags, no attributes but
  ``href``/``title`` on links (``http``, ``https``, ``mailto`` or relative) and ``start`` on
  lists; every link gets ``rel="noopener nofollow"``.
* **notebook**: the grader's notebook renderer (:func:`grader.notebook.render_notebook`).
* **image**: PNG, JPEG or GIF only when the file's magic bytes say so, shown from a
  ``data:`` URI with the sniffed type; SVG is never an image (it shows as source code).
* **text**, **csv**, **json**: the first :data:`SHOWN_BYTES` bytes, the rest by download.
* **binary**: size and sha256 only.

Text is cleaned by :func:`grader.text.clean_text` before any of this. The HTML made here is
the only markup the service's templates print unescaped (``Markup``): Pygments' output and
nh3's, never the submission's own text.
"""

from __future__ import annotations

import base64
import contextlib
import csv
import functools
import hashlib
import io
import itertools
import json
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO

import nh3
from markupsafe import Markup

from api.storage import BlobStore
from grader.errors import IntakeError
from grader.intake import DROPPED_PREFIXES, check_member_name
from grader.text import clean_text, strip_controls

KINDS = ("notebook", "markdown", "code", "csv", "json", "text", "image", "binary")
SHOWN_BYTES = 200 * 1024  # text, code, Markdown, CSV, JSON: the first 200 KB on the page
MAX_IMAGE_BYTES = 5 * 1024 * 1024
MAX_NOTEBOOK_BYTES = 20 * 1024 * 1024
MAX_CSV_ROWS = 1000
NOTEBOOK_NAME = "submission.ipynb"
# What a reader is told when the blob is missing or corrupt (the detail, with paths, is logged).
UNREADABLE = "the stored submission is missing or corrupt: an operator should check the blob store"
_MAX_MEMBER_BYTES = 512 * 1024 * 1024
_SNIFF = 8192
_IMAGES = {
    b"\x89PNG\r\n\x1a\n": "image/png",
    b"\xff\xd8\xff": "image/jpeg",
    b"GIF87a": "image/gif",
    b"GIF89a": "image/gif",
}
_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif")
_MARKDOWN_SUFFIXES = (".md", ".markdown")
_CSV_SUFFIXES = (".csv", ".tsv")
_JSON_SUFFIXES = (".json",)
_MD_TAGS = {
    "a", "blockquote", "br", "code", "del", "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr",
    "li", "ol", "p", "pre", "s", "strong", "table", "tbody", "td", "th", "thead", "tr", "ul",
}  # fmt: skip
_MD_ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}}


class NotInManifest(KeyError):
    """The path names no file of this submission."""


@dataclass(frozen=True)
class FileEntry:
    path: str
    size: int
    sha256: str
    kind: str
    mime: str = ""  # the sniffed type of an image; "" otherwise


@dataclass(frozen=True)
class Manifest:
    files: dict[str, FileEntry]
    members: dict[str, str]  # manifest path -> archive member name ("" for a notebook blob)

    def entry(self, path: str) -> FileEntry:
        try:
            return self.files[path]
        except KeyError:
            raise NotInManifest(path) from None


def sniff_image(head: bytes) -> str:
    """The image type the magic bytes declare (PNG, JPEG, GIF), or ""."""
    return next((mime for magic, mime in _IMAGES.items() if head.startswith(magic)), "")


def _textual(head: bytes) -> bool:
    if b"\x00" in head:
        return False
    for cut in range(4):  # a multi-byte character cut at the end of the sample is fine
        try:
            head[: len(head) - cut].decode("utf-8")
            return True
        except UnicodeDecodeError:
            continue
    return False


def _lexer_name(path: str) -> str:
    """The Pygments lexer for this file name ("" when none, or only plain text)."""
    from pygments.lexers import find_lexer_class_for_filename

    cls = find_lexer_class_for_filename(PurePosixPath(path).name)
    if cls is None or cls.name == "Text only":
        return ""
    return str(cls.aliases[0]) if cls.aliases else ""


def kind_of(path: str, head: bytes) -> tuple[str, str]:
    """(kind, mime) from the name and the first bytes; images by their magic bytes only."""
    suffix = PurePosixPath(path).suffix.lower()
    if suffix == ".ipynb":
        return "notebook", ""
    if suffix in _IMAGE_SUFFIXES:
        mime = sniff_image(head)
        return ("image", mime) if mime else ("binary", "")
    if not _textual(head):
        return "binary", ""
    if suffix in _MARKDOWN_SUFFIXES:
        return "markdown", ""
    if suffix in _CSV_SUFFIXES:
        return "csv", ""
    if suffix in _JSON_SUFFIXES:
        return "json", ""
    return ("code", "") if _lexer_name(path) else ("text", "")


# ----------------------------------------------------------------------------- reading


def _chunks(f: IO[bytes]) -> Iterator[bytes]:
    total = 0
    while chunk := f.read(1 << 16):
        total += len(chunk)
        if total > _MAX_MEMBER_BYTES:
            raise IntakeError("a member larger than the viewer reads")
        yield chunk


def _describe(path: str, chunks: Iterator[bytes]) -> FileEntry:
    h, size, head = hashlib.sha256(), 0, b""
    for chunk in chunks:
        if len(head) < _SNIFF:
            head += chunk[: _SNIFF - len(head)]
        h.update(chunk)
        size += len(chunk)
    kind, mime = kind_of(path, head)
    return FileEntry(path=path, size=size, sha256=h.hexdigest(), kind=kind, mime=mime)


@functools.lru_cache(maxsize=128)
def _manifest(blob: Path, sha256: str, suffix: str) -> Manifest:
    # Cached by content address: a blob never changes under its sha256 (reads verify it).
    if suffix == ".ipynb":
        with blob.open("rb") as f:
            entry = _describe(NOTEBOOK_NAME, _chunks(f))
        return Manifest({NOTEBOOK_NAME: entry}, {NOTEBOOK_NAME: ""})
    files: dict[str, FileEntry] = {}
    members: dict[str, str] = {}
    with zipfile.ZipFile(blob) as zf:
        for info in zf.infolist():
            if info.is_dir() or info.filename.startswith(DROPPED_PREFIXES):
                continue
            try:
                path = check_member_name(info.filename).as_posix()
            except IntakeError:
                continue  # intake refused such names; a blob that has one shows the rest
            if path in files:
                continue
            with zf.open(info) as f:
                files[path] = _describe(path, _chunks(f))
            members[path] = info.filename
    return Manifest(dict(sorted(files.items())), members)


def manifest(blobs: BlobStore, sha256: str, suffix: str) -> Manifest:
    """The stored submission's files (raises StorageError for a missing or corrupt blob)."""
    return _manifest(blobs.open_verified(sha256, suffix), sha256, suffix)


def read_file(blobs: BlobStore, sha256: str, suffix: str, path: str) -> tuple[FileEntry, bytes]:
    """The exact stored bytes of the manifest entry `path` (NotInManifest if none)."""
    blob = blobs.open_verified(sha256, suffix)
    m = _manifest(blob, sha256, suffix)
    entry = m.entry(path)
    if suffix == ".ipynb":
        data = blob.read_bytes()
    else:
        with zipfile.ZipFile(blob) as zf, zf.open(m.members[path]) as f:
            data = b"".join(_chunks(f))
    if hashlib.sha256(data).hexdigest() != entry.sha256:  # the blob was verified: cannot be
        raise NotInManifest(path)
    return entry, data


# ----------------------------------------------------------------------------- tree


@dataclass
class Node:
    name: str
    path: str = ""  # a file's manifest path; "" for a folder
    entry: FileEntry | None = None
    children: list[Node] = field(default_factory=list)


def tree(m: Manifest) -> list[Node]:
    """The manifest as nested folders (folders first, then files, each by name)."""
    root = Node("")
    for path, entry in m.files.items():
        *folders, name = path.split("/")
        here = root
        for folder in folders:
            found = next((c for c in here.children if c.entry is None and c.name == folder), None)
            if found is None:
                found = Node(folder)
                here.children.append(found)
            here = found
        here.children.append(Node(name, path, entry))

    def order(node: Node) -> None:
        node.children.sort(key=lambda c: (c.entry is not None, c.name))
        for c in node.children:
            order(c)

    order(root)
    return root.children


# ----------------------------------------------------------------------------- rendering


@dataclass
class Rendered:
    """What the file page shows: at most one of html, lines, cells, text, rows, image_src."""

    html: Markup | None = None
    text: str | None = None
    rows: list[list[str]] | None = None
    image_src: str = ""
    truncated: bool = False  # only the first SHOWN_BYTES are shown
    problem: str = ""  # why nothing is shown ("" if something is)
    cells: list[Markup] = field(default_factory=list)
    lines: list[Markup] = field(default_factory=list)  # highlighted code, one per line


def _shown_text(data: bytes) -> tuple[str, bool]:
    cut = len(data) > SHOWN_BYTES
    return clean_text(data[:SHOWN_BYTES].decode("utf-8", "replace"), terminal=False), cut


def highlight(text: str, lexer_name: str) -> Markup:
    """`text` as Pygments HTML (every token escaped), lines numbered with anchors L-N."""
    return _pygments(
        text,
        lexer_name,
        linenos="table",
        lineanchors="L",
        anchorlinenos=True,
        cssclass="highlight",
        wrapcode=True,
    )


def highlight_lines(text: str, lexer_name: str) -> list[Markup]:
    """`text` highlighted, one Markup per source line (the page numbers and anchors them,
    and puts comments between them). Pygments closes every token's span at a line end, so
    each line is whole markup on its own."""
    if not text:
        return []
    lines = _pygments(text, lexer_name, nowrap=True).split("\n")
    if lines and not lines[-1]:
        lines.pop()  # Pygments ends its output with a newline: the piece after it is no line
    return lines


def _pygments(text: str, lexer_name: str, **options: object) -> Markup:
    from pygments import highlight as pyg_highlight
    from pygments.formatters import HtmlFormatter
    from pygments.lexers import TextLexer, get_lexer_by_name
    from pygments.util import ClassNotFound

    try:
        lexer = get_lexer_by_name(lexer_name, stripnl=False) if lexer_name else TextLexer()
    except ClassNotFound:
        lexer = TextLexer()
    formatter = HtmlFormatter(**options)
    return Markup(strip_controls(pyg_highlight(text, lexer, formatter)))  # escaped by Pygments


@functools.cache
def _markdown(shift: int = 0):  # type: ignore[no-untyped-def]
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable(
        ["table", "strikethrough"]
    )

    def image(self, tokens, idx, options, env):  # type: ignore[no-untyped-def]
        # No loads from a write-up: an image shows as its alt text.
        alt = self.renderInlineAsText(tokens[idx].children or [], options, env)
        from markupsafe import escape

        return f"<em>[image: {escape(alt)}]</em>"

    def demote(state):  # type: ignore[no-untyped-def]
        # A write-up shown inside a page sits under the page's own headings.
        for tok in state.tokens:
            if tok.type in ("heading_open", "heading_close"):
                tok.tag = f"h{min(6, int(tok.tag[1]) + shift)}"

    md.add_render_rule("image", image)
    if shift:
        md.core.ruler.push("demote_headings", demote)
    return md


def sanitize_markdown_html(html: str) -> str:
    """Rendered Markdown through nh3: allowed tags only, links inert beyond navigation."""
    return nh3.clean(
        html,
        tags=_MD_TAGS,
        attributes=_MD_ATTRIBUTES,
        clean_content_tags={"script", "style", "template", "noscript", "title", "iframe"},
        url_schemes={"http", "https", "mailto"},
        strip_comments=True,
        link_rel="noopener nofollow",
    )


def render_markdown(text: str, heading_shift: int = 0) -> Markup:
    """Markdown rendered and sanitised; `heading_shift` demotes its headings (h1 -> h3 for 2)."""
    html = _markdown(heading_shift).render(clean_text(text, terminal=False))
    return Markup(strip_controls(sanitize_markdown_html(html)))  # sanitised by nh3 above


def render(entry: FileEntry, data: bytes, heading_shift: int = 0) -> Rendered:
    """The page's view of one file (never raises for hostile content); a Markdown file's
    headings demoted by `heading_shift` levels where it is shown inside another page."""
    if entry.kind == "binary":
        return Rendered(problem="a binary file: listed with its size and sha256; download it")
    if entry.kind == "image":
        mime = sniff_image(data)
        if not mime:
            return Rendered(problem="not a PNG, JPEG or GIF image")
        if len(data) > MAX_IMAGE_BYTES:
            return Rendered(problem=f"an image larger than {MAX_IMAGE_BYTES // 1024 // 1024} MB")
        return Rendered(image_src=f"data:{mime};base64,{base64.b64encode(data).decode()}")
    if entry.kind == "notebook":
        return _notebook(data)
    text, cut = _shown_text(data)
    if entry.kind == "markdown":
        return Rendered(html=render_markdown(text, heading_shift), truncated=cut)
    if entry.kind == "csv":
        dialect = "excel-tab" if entry.path.lower().endswith(".tsv") else "excel"
        reader = csv.reader(io.StringIO(text), dialect)
        try:
            rows = [[c[:500] for c in r] for r in itertools.islice(reader, MAX_CSV_ROWS)]
        except csv.Error:
            return Rendered(text=text, truncated=cut)
        return Rendered(rows=rows, truncated=cut or text.count("\n") > MAX_CSV_ROWS)
    if entry.kind == "json":
        if not cut:
            with contextlib.suppress(ValueError, RecursionError):
                text = json.dumps(json.loads(text), indent=2, ensure_ascii=False)
        return Rendered(lines=highlight_lines(text, "json"), truncated=cut)
    if entry.kind == "code":
        return Rendered(lines=highlight_lines(text, _lexer_name(entry.path)), truncated=cut)
    return Rendered(text=text, truncated=cut)


def _notebook(data: bytes) -> Rendered:
    from grader.notebook import render_notebook

    if len(data) > MAX_NOTEBOOK_BYTES:
        return Rendered(problem=f"a notebook larger than {MAX_NOTEBOOK_BYTES // 1024 // 1024} MB")
    try:
        nb = json.loads(data.decode("utf-8"))
    except (ValueError, UnicodeDecodeError, RecursionError):
        return Rendered(problem="not a readable notebook (not JSON)")
    shown = render_notebook(nb)
    if shown.problem:
        return Rendered(problem=shown.problem)
    return Rendered(cells=[c.html for c in shown.cells])
