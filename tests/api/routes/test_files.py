"""The submission viewer: a stored submission's files listed, served byte for byte and
rendered inert, to reviewers and operators only, every read audited (api/routes/files.py)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import Service, add_user
from tests.api.files_data import (
    HOSTILE_NAME,
    PNG,
    TASK_ID,
    UNICODE_NAME,
    assert_inert,
    elements,
    files,
    roomy_task,
    zipped,
)


@dataclass
class Viewer:
    svc: Service
    operator: TestClient
    reviewer: TestClient
    alice: TestClient
    token: str
    sid: int
    upload: bytes


@pytest.fixture
def viewer(service_factory: Callable[..., Service], tmp_path: Path) -> Viewer:
    """A blind cohort; Alice's submission holds every kind of file (files_data.files)."""
    svc = service_factory(tasks=(roomy_task(tmp_path / "tasks"),))
    add_user(svc, "ops", "operator")
    add_user(svc, "rev", "reviewer")
    operator = svc.login("ops")
    r = operator.post("/api/v1/cohorts", json={"name": "c1", "blind": True, "tasks": [TASK_ID]})
    assert r.status_code == 201, r.text
    r = operator.post(
        "/api/v1/invitations",
        json={"cohort": "c1", "email": "alice@example.org", "name": "Alice Smith"},
    )
    token = r.json()["token"]
    alice = svc.applicant(token)
    upload = zipped(files())
    r = svc.upload(alice, upload, task=TASK_ID, name="alice-smith.zip")
    assert r.status_code in (200, 201), r.text
    sid = r.json()["id"]
    svc.wait(alice, sid)
    return Viewer(svc, operator, svc.login("rev"), alice, token, sid, upload)


def _page(v: Viewer, who: TestClient, path: str) -> str:
    r = who.get(f"/review/submissions/{v.sid}/files/{quote(path)}")
    assert r.status_code == 200, r.text
    assert r.headers["content-security-policy"].startswith("default-src 'self'; script-src")
    return r.text


def _shown(html: str) -> str:
    """The part of a file page that shows the file (after its header, before the end)."""
    start = html.index('id="file-meta"')
    return html[start : html.index("</section>", start)]


def test_listing_names_every_stored_file_with_size_hash_and_kind(viewer: Viewer) -> None:
    v, expected = viewer, files()
    r = v.reviewer.get(f"/api/v1/submissions/{v.sid}/files")
    assert r.status_code == 200, r.text
    listed = {f["path"]: f for f in r.json()["files"]}
    assert set(listed) == set(expected)
    for path, data in expected.items():
        assert listed[path]["size"] == len(data), path
        assert listed[path]["sha256"] == hashlib.sha256(data).hexdigest(), path
    kinds = {p: f["kind"] for p, f in listed.items()}
    assert kinds == {
        "main.py": "code",
        "writeup.md": "markdown",
        "analysis.ipynb": "notebook",
        "figures/plot.png": "image",
        "figures/spinner.gif": "image",
        "figures/fake.png": "binary",  # named .png, but its bytes are not a PNG
        "figures/logo.svg": "code",  # never an image: its source is shown
        "data/results.csv": "csv",
        "data/summary.json": "json",
        "data/weights.bin": "binary",
        "logs/big.txt": "text",
        HOSTILE_NAME: "text",
        UNICODE_NAME: "text",
    }


def test_every_file_comes_back_byte_for_byte_as_an_attachment(viewer: Viewer) -> None:
    v = viewer
    for who in (v.reviewer, v.operator):
        for item in who.get(f"/api/v1/submissions/{v.sid}/files").json()["files"]:
            r = who.get(f"/api/v1/submissions/{v.sid}/files/{quote(item['path'])}")
            assert r.status_code == 200, item["path"]
            assert hashlib.sha256(r.content).hexdigest() == item["sha256"]
            assert r.content == files()[item["path"]]
            assert r.headers["content-type"] == "application/octet-stream"
            assert r.headers["content-disposition"].startswith("attachment;")
            assert r.headers["x-content-type-options"] == "nosniff"
            assert r.headers["cache-control"] == "no-store"
            assert "sandbox" in r.headers["content-security-policy"]
    # The original upload, too; its name hides the applicant from a blind reviewer.
    r = v.reviewer.get(f"/api/v1/submissions/{v.sid}/archive")
    assert r.content == v.upload and r.headers["x-content-type-options"] == "nosniff"
    assert f'filename="submission-{v.sid}.zip"' in r.headers["content-disposition"]
    assert "alice" not in r.headers["content-disposition"].lower()
    assert v.reviewer.get(f"/api/v1/submissions/{v.sid}/files").json()["archive"] == (
        f"submission-{v.sid}.zip"
    )
    r = v.operator.get(f"/api/v1/submissions/{v.sid}/archive")
    assert (
        r.content == v.upload and 'filename="alice-smith.zip"' in r.headers["content-disposition"]
    )


@pytest.mark.parametrize(
    "path",
    [
        "nope.py",
        "MAIN.PY",
        "figures",  # a folder is not a file
        "figures/",
        "%2E%2E/%2E%2E/api/storage.py",
        "..%2F..%2F..%2Fetc%2Fpasswd",
        "figures/%2E%2E/main.py",  # '..' even where it would lead to a real file
        "./main.py".replace(".", "%2E", 1),
        "%2Fetc%2Fpasswd",
        "/etc/passwd",  # //etc/passwd in the URL
        "C:%5Cwindows%5Cwin.ini",
        "main.py%00.png",
        "%252E%252E/main.py",
    ],
)
def test_paths_outside_the_manifest_are_404(viewer: Viewer, path: str) -> None:
    v = viewer
    for prefix in ("/api/v1", "/review"):
        r = v.reviewer.get(f"{prefix}/submissions/{v.sid}/files/{path}")
        assert r.status_code == 404, (prefix, path, r.status_code)
    # The same route serves a real file: the 404s are the manifest's answer, not the router's.
    assert v.reviewer.get(f"/api/v1/submissions/{v.sid}/files/main.py").status_code == 200
    assert v.reviewer.get(f"/api/v1/submissions/{v.sid + 1}/files/main.py").status_code == 404


def test_applicants_and_anonymous_are_refused(viewer: Viewer) -> None:
    v = viewer
    cookie_applicant = v.svc.anonymous()
    assert cookie_applicant.get(f"/invite/{v.token}", follow_redirects=False).status_code == 303
    urls = [
        f"/api/v1/submissions/{v.sid}/files",
        f"/api/v1/submissions/{v.sid}/files/main.py",
        f"/api/v1/submissions/{v.sid}/archive",
        f"/review/submissions/{v.sid}/files/main.py",
    ]
    for who in (v.alice, cookie_applicant, v.svc.anonymous()):
        for url in urls:
            r = who.get(url, follow_redirects=False)
            assert r.status_code in (401, 303), (url, r.status_code)
            assert "ANSWER" not in r.text and "Search method" not in r.text
            if r.status_code == 303:  # a browser is sent to sign in
                assert r.headers["location"].startswith("/login")


def test_every_read_is_audited_with_who_what_and_hash(viewer: Viewer) -> None:
    v = viewer
    before = len(v.operator.get("/api/v1/audit").json())
    v.reviewer.get(f"/api/v1/submissions/{v.sid}/files")
    v.reviewer.get(f"/api/v1/submissions/{v.sid}/files/main.py")
    v.reviewer.get(f"/review/submissions/{v.sid}/files/writeup.md")
    v.operator.get(f"/api/v1/submissions/{v.sid}/archive")
    v.reviewer.get(f"/api/v1/submissions/{v.sid}/files/nope.py")  # a 404 reads nothing
    entries = v.operator.get("/api/v1/audit").json()
    new = [e for e in entries if e["action"] not in ("graded",)][: len(entries) - before]
    got = sorted((e["actor"], e["action"], e["after"].get("path", "")) for e in new)
    assert got == [
        ("ops", "archive-downloaded", ""),
        ("rev", "file-downloaded", "main.py"),
        ("rev", "file-viewed", "writeup.md"),
        ("rev", "files-listed", ""),
    ]
    by_action = {e["action"]: e for e in new}
    assert (
        by_action["file-viewed"]["after"]["sha256"]
        == hashlib.sha256(files()["writeup.md"]).hexdigest()
    )
    assert all(e["submission_id"] == v.sid for e in new)


def test_markdown_is_rendered_and_sanitised(viewer: Viewer) -> None:
    shown = _shown(_page(viewer, viewer.reviewer, "writeup.md"))
    assert "<h1>Search method</h1>" in shown and "<strong>every</strong>" in shown
    assert "<table>" in shown and "<td>0.93</td>" in shown
    assert '<a href="main.py" rel="noopener nofollow">the code</a>' in shown
    assert '<a href="https://example.org/paper" title="the paper" rel="noopener nofollow">' in shown
    # Raw HTML in the write-up is text, links to scripts or data are not links, images
    # load nothing: every link is the two above.
    assert "&lt;script&gt;alert('md-script')&lt;/script&gt;" in shown
    assert "&lt;x-evil data-f=md&gt;" in shown
    assert_inert(shown)
    links = [a["href"] for tag, a in elements(shown) if tag == "a" and "href" in a]
    assert links[-2:] == ["main.py", "https://example.org/paper"]
    assert not [t for t, _ in elements(shown) if t == "img"]
    assert "evil.example" not in shown and "[image: tracker]" in shown


def test_code_csv_json_and_text_are_shown_escaped(viewer: Viewer) -> None:
    v = viewer
    code = _shown(_page(v, v.reviewer, "main.py"))
    assert 'class="highlight"' in code and 'id="L-4"' in code  # highlighted, lines anchored
    assert "&lt;b&gt;not bold&lt;/b&gt;" in code and "<b>not bold" not in code
    svg = _shown(_page(v, v.reviewer, "figures/logo.svg"))
    assert "&lt;svg" in svg and "&lt;script&gt;" in svg
    for shown in (code, svg):
        assert_inert(shown)
    table = _shown(_page(v, v.reviewer, "data/results.csv"))
    assert "<td>patch</td><td>0.93</td>" in table and "<td>&lt;b&gt;x&lt;/b&gt;</td>" in table
    js = _shown(_page(v, v.reviewer, "data/summary.json"))
    assert '<span class="nt">"best"</span>' in js and 'class="highlight"' in js
    name = _page(v, v.reviewer, HOSTILE_NAME)
    assert "<x-evil" not in name and "&lt;x-evil data-f=name&gt;.txt" in name


def test_hostile_file_names_are_text_in_the_file_tree(viewer: Viewer) -> None:
    v = viewer
    page = v.reviewer.get(f"/review/submissions/{v.sid}").text
    start = page.index('id="file-tree"')
    tree = page[start : page.index("</nav>", start)]
    assert "<x-evil" not in tree and "&lt;x-evil data-f=name&gt;.txt" in tree
    assert (
        f'href="/review/submissions/{v.sid}/files/notes/%3Cx-evil%20data-f%3Dname%3E.txt"' in tree
    )
    for path in files():
        assert f"/review/submissions/{v.sid}/files/{quote(path)}" in tree, path
    assert "alice" not in page.lower()  # blind: neither the upload's name nor the applicant


def test_notebook_renders_with_the_grader_renderer_and_runs_nothing(viewer: Viewer) -> None:
    shown = _shown(_page(viewer, viewer.reviewer, "analysis.ipynb"))
    assert "hello from the notebook" in shown and "<b>bold</b>" in shown
    assert_inert(shown)
    assert "alert('nb-js')" not in shown and "Alice Smith" not in shown


def test_images_only_after_sniffing_their_bytes(viewer: Viewer) -> None:
    v = viewer
    png = _shown(_page(v, v.reviewer, "figures/plot.png"))
    src = re.search(r'<img id="image" src="([^"]+)"', png)
    assert src is not None and src.group(1).startswith("data:image/png;base64,")
    import base64

    assert base64.b64decode(src.group(1).split(",", 1)[1]) == PNG
    gif = _shown(_page(v, v.reviewer, "figures/spinner.gif"))
    assert 'src="data:image/gif;base64,' in gif
    fake = _shown(_page(v, v.reviewer, "figures/fake.png"))
    assert "binary file" in fake and "not a png" not in fake
    assert not [t for t, _ in elements(fake) if t in ("img", "script")]
    binary = _shown(_page(v, v.reviewer, "data/weights.bin"))
    assert hashlib.sha256(files()["data/weights.bin"]).hexdigest() in binary
    assert "1.0 KB" in binary


def test_large_text_shows_the_first_200_kb_and_downloads_whole(viewer: Viewer) -> None:
    v = viewer
    big = files()["logs/big.txt"]
    assert len(big) > 250 * 1024
    page = _page(v, v.reviewer, "logs/big.txt")
    assert "First 200 KB shown" in page
    text = page[page.index('<pre class="text" id="text">') : page.index("</pre>")]
    assert 190 * 1024 < len(text) <= 200 * 1024 + 40
    assert "First 200 KB shown" not in _page(v, v.reviewer, "main.py")
    r = v.reviewer.get(f"/api/v1/submissions/{v.sid}/files/logs/big.txt")
    assert r.content == big


def test_a_non_ascii_name_downloads_under_both_header_forms(viewer: Viewer) -> None:
    v = viewer
    r = v.reviewer.get(f"/api/v1/submissions/{v.sid}/files/{quote(UNICODE_NAME)}")
    assert r.status_code == 200 and r.content == files()[UNICODE_NAME]
    disposition = r.headers["content-disposition"]
    assert 'filename="r_sum____.txt"' in disposition
    assert "filename*=UTF-8''" + quote(UNICODE_NAME.rsplit("/", 1)[1]) in disposition


def test_a_corrupt_blob_is_503_and_says_so_without_paths(viewer: Viewer) -> None:
    v = viewer
    services = v.svc.client.app.state.services  # type: ignore[attr-defined]
    sha = v.reviewer.get(f"/api/v1/submissions/{v.sid}").json()["sha256"]
    blob = services.blobs.path(sha, ".zip")
    blob.chmod(0o644)
    blob.write_bytes(zipped({"main.py": b"ANSWER = 41\n"}))
    for url in ("files", "files/main.py", "archive"):
        r = v.reviewer.get(f"/api/v1/submissions/{v.sid}/{url}")
        assert r.status_code == 503 and "missing or corrupt" in r.text, url
        assert str(v.svc.settings.data_dir) not in r.text and "ANSWER" not in r.text
    r = v.reviewer.get(f"/review/submissions/{v.sid}/files/main.py")
    assert r.status_code == 503
    page = v.reviewer.get(f"/review/submissions/{v.sid}")
    assert page.status_code == 200 and "missing or corrupt" in page.text
    assert str(v.svc.settings.data_dir) not in page.text
