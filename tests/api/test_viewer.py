"""api.viewer without the service: manifests of stored blobs, hostile Markdown, sniffing."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from api.storage import BlobStore, StorageError
from api.viewer import (
    NOTEBOOK_NAME,
    SHOWN_BYTES,
    FileEntry,
    NotInManifest,
    highlight_lines,
    kind_of,
    manifest,
    read_file,
    render,
    render_markdown,
)
from tests.api.files_data import GIF, NOTEBOOK, PNG, assert_inert, elements, zipped


def _store(tmp_path: Path, data: bytes, suffix: str) -> tuple[BlobStore, str]:
    blobs = BlobStore(tmp_path / "blobs")
    staged, sha = blobs.stage([data], suffix=suffix, max_bytes=1 << 30)
    blobs.commit(staged, sha, suffix)
    return blobs, sha


def test_a_notebook_upload_is_one_file_under_a_neutral_name(tmp_path: Path) -> None:
    raw = json.dumps(NOTEBOOK).encode()
    blobs, sha = _store(tmp_path, raw, ".ipynb")
    m = manifest(blobs, sha, ".ipynb")
    assert list(m.files) == [NOTEBOOK_NAME] and m.files[NOTEBOOK_NAME].kind == "notebook"
    entry, data = read_file(blobs, sha, ".ipynb", NOTEBOOK_NAME)
    assert data == raw and entry.sha256 == hashlib.sha256(raw).hexdigest()
    with pytest.raises(NotInManifest):
        read_file(blobs, sha, ".ipynb", "alice.ipynb")


def test_archive_manifest_skips_folders_and_mac_clutter(tmp_path: Path) -> None:
    blobs, sha = _store(
        tmp_path,
        zipped({"a/": b"", "a/b.py": b"x = 1\n", "__MACOSX/a/._b.py": b"junk", "./c.md": b"# c"}),
        ".zip",
    )
    assert list(manifest(blobs, sha, ".zip").files) == ["a/b.py", "c.md"]
    with pytest.raises(NotInManifest):
        read_file(blobs, sha, ".zip", "./c.md")  # the manifest's name, nothing else
    assert read_file(blobs, sha, ".zip", "c.md")[1] == b"# c"


def test_a_corrupt_or_missing_blob_is_refused_not_read(tmp_path: Path) -> None:
    blobs, sha = _store(tmp_path, zipped({"main.py": b"ANSWER = 42\n"}), ".zip")
    path = blobs.path(sha, ".zip")
    path.chmod(0o644)
    path.write_bytes(zipped({"main.py": b"ANSWER = 41\n"}))
    with pytest.raises(StorageError, match="corrupt"):
        read_file(blobs, sha, ".zip", "main.py")
    path.unlink()
    with pytest.raises(StorageError, match="missing"):
        manifest(blobs, sha, ".zip")


@pytest.mark.parametrize(
    "source",
    [
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        "<a href='javascript:alert(1)'>x</a>",
        "[x](javascript:alert(1))",
        "[x](JaVaScRiPt:alert(1))",
        "[x](&#106;avascript:alert(1))",
        "[x](vbscript:msgbox(1))",
        "[x](data:text/html;base64,PHNjcmlwdD4=)",
        "<javascript:alert(1)>",
        "[x][r]\n\n[r]: javascript:alert(1)",
        "![x](javascript:alert(1))",
        '![x](https://evil.example/p.png "t")',
        "<iframe src=https://evil.example></iframe>",
        "<svg onload=alert(1)>",
        "<style>body{display:none}</style>",
        "<details open ontoggle=alert(1)>",
        "<form action=https://evil.example><button>go</button></form>",
        "```html\n<script>alert(1)</script>\n```",
        "`<script>`",
        "<!-- <script>alert(1)</script> -->",
        '[x](https://example.org/" onclick="alert(1))',
        "\u202egnp.exe",
        "\x1b[31mred\x1b[0m",
    ],
)
def test_hostile_markdown_renders_inert(source: str) -> None:
    html = str(render_markdown(source))
    assert_inert(html)
    assert not [t for t, _ in elements(html) if t == "img"]
    assert "\u202e" not in html and "\x1b" not in html
    for _, attrs in elements(html):
        for name in attrs:
            assert name in ("href", "title", "rel", "start"), name


def test_links_get_noopener_nofollow() -> None:
    html = str(render_markdown("[p](https://example.org/p) and <https://example.org/q>"))
    links = [a for t, a in elements(html) if t == "a"]
    assert [a["href"] for a in links] == ["https://example.org/p", "https://example.org/q"]
    assert all(a["rel"] == "noopener nofollow" for a in links)


def test_images_are_sniffed_not_trusted_by_name() -> None:
    assert kind_of("a.png", PNG[:16]) == ("image", "image/png")
    assert kind_of("a.gif", GIF[:16]) == ("image", "image/gif")
    assert kind_of("a.jpg", b"\xff\xd8\xff\xe0\x00\x10JFIF") == ("image", "image/jpeg")
    assert kind_of("a.png", b"<svg onload=alert(1)>") == ("binary", "")
    assert kind_of("a.svg", b"<svg></svg>")[0] == "code"
    assert kind_of("a.bin", PNG[:16]) == ("binary", "")  # an image only where named as one
    entry = FileEntry("a.png", len(PNG), hashlib.sha256(PNG).hexdigest(), "image", "image/png")
    assert render(entry, PNG).image_src.startswith("data:image/png;base64,")
    # The bytes are sniffed again when shown: an entry that says image is not enough.
    assert render(entry, b"<svg/>").image_src == ""


def test_text_kinds_are_capped_at_200_kb() -> None:
    data = b"x = 1\n" * (SHOWN_BYTES // 3)
    for kind, path in (("code", "a.py"), ("text", "a.log"), ("markdown", "a.md")):
        shown = render(FileEntry(path, len(data), "0" * 64, kind), data)
        assert shown.truncated, kind
    csv_data = b"a,b\n" + b"1,2\n" * 5000
    shown = render(FileEntry("a.csv", len(csv_data), "0" * 64, "csv"), csv_data)
    assert shown.rows is not None and len(shown.rows) == 1000 and shown.truncated
    small = render(FileEntry("a.py", 6, "0" * 64, "code"), b"x = 1\n")
    assert not small.truncated and [str(x) for x in small.lines] == [
        '<span class="n">x</span> <span class="o">=</span> <span class="mi">1</span>'
    ]


def test_highlighted_lines_are_whole_markup_each() -> None:
    # A token spanning lines (a docstring) is closed and reopened at each line end, so a
    # comment row between two lines never cuts a span in half.
    lines = [str(x) for x in highlight_lines('s = """a\n<b>b</b>"""\n\nx\n', "python")]
    assert len(lines) == 4 and lines[2] == ""
    assert lines[1] == '<span class="s2">&lt;b&gt;b&lt;/b&gt;"""</span>'
    for line in lines:
        assert line.count("<span") == line.count("</span>")
    assert highlight_lines("", "python") == []
    assert len(highlight_lines("no newline at the end", "")) == 1


def test_markdown_shown_inside_a_page_has_its_headings_demoted() -> None:
    text = "# Title\n\n## Part\n\n###### Deep\n\n<h1>raw</h1>\n"
    entry = FileEntry("w.md", len(text), "0" * 64, "markdown")
    inline = str(render(entry, text.encode(), heading_shift=2).html)
    assert "<h3>Title</h3>" in inline and "<h4>Part</h4>" in inline and "<h6>Deep</h6>" in inline
    assert "&lt;h1&gt;raw&lt;/h1&gt;" in inline and "<h1>" not in inline
    assert "<h1>Title</h1>" in str(render(entry, text.encode()).html)  # the file's own page
