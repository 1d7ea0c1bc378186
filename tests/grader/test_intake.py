"""Intake treats every submission as hostile: each malicious archive kind is rejected with
a clear one-line reason, and nothing is left half-written."""

from __future__ import annotations

import io
import json
import os
import stat
import zipfile
from pathlib import Path

import pytest

from grader.errors import IntakeError
from grader.intake import intake
from grader.spec import SubmissionRules

RULES = SubmissionRules(required=("main.py",), max_files=10, max_bytes=10_000)


def make_zip(path: Path, entries: list[tuple[str | zipfile.ZipInfo, bytes]]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in entries:
            zf.writestr(name, data)
    return path


def unix_entry(name: str, mode: int) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.create_system = 3
    info.external_attr = mode << 16
    return info


def reject(tmp_path: Path, source: Path, match: str, rules: SubmissionRules = RULES) -> None:
    dest = tmp_path / "dest"
    with pytest.raises(IntakeError, match=match) as e:
        intake(source, rules, dest)
    assert "\n" not in str(e.value)
    assert not dest.exists(), "a rejected submission must leave nothing behind"


def test_folder_is_normalised_and_hashed(tmp_path: Path) -> None:
    src = tmp_path / "src"
    (src / "pkg").mkdir(parents=True)
    (src / "main.py").write_text("print(1)\n")
    (src / "pkg" / "util.py").write_text("X = 1\n")
    (src / "__pycache__").mkdir()
    (src / "__pycache__" / "main.cpython-311.pyc").write_bytes(b"junk")
    (src / "main.py").chmod(0o600)
    sub = intake(src, RULES, tmp_path / "dest")
    assert sub.ref.files == ["main.py", "pkg/util.py"]
    assert sub.ref.kind == "folder"
    assert sub.ref.bytes == len("print(1)\n") + len("X = 1\n")
    assert stat.S_IMODE((sub.root / "main.py").stat().st_mode) == 0o644
    assert len(sub.ref.sha256) == 64


def test_same_content_same_sha_across_folder_and_zip(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "main.py").write_text("A = 1\n")
    z = make_zip(tmp_path / "s.zip", [("main.py", b"A = 1\n")])
    a = intake(src, RULES, tmp_path / "d1")
    b = intake(z, RULES, tmp_path / "d2")
    assert a.ref.sha256 == b.ref.sha256
    (src / "main.py").write_text("A = 2\n")
    c = intake(src, RULES, tmp_path / "d3")
    assert c.ref.sha256 != a.ref.sha256


def test_zip_of_enclosing_folder_is_accepted(tmp_path: Path) -> None:
    z = make_zip(tmp_path / "s.zip", [("mykit/main.py", b"A = 1\n"), ("mykit/x.txt", b"x")])
    sub = intake(z, RULES, tmp_path / "d")
    assert sub.ref.files == ["main.py", "x.txt"]
    assert (sub.root / "main.py").read_text() == "A = 1\n"


@pytest.mark.parametrize(
    ("name", "match"),
    [
        ("/etc/cron.d/evil", "absolute paths"),
        ("../../evil.py", r"'\.\.' is not allowed"),
        ("ok/../../evil.py", r"'\.\.' is not allowed"),
        ("C:/evil.py", "absolute paths"),
        ("dir\\evil.py", "backslashes"),
        ("bad\x1bname.py", "control or invisible"),
        ("bell\x07.py", "control or invisible"),
        ("x" * 300 + ".py", "longer than 255 bytes"),
        ("/".join(["d"] * 40) + "/f.py", "nested deeper"),
    ],
)
def test_zip_bad_names(tmp_path: Path, name: str, match: str) -> None:
    z = make_zip(tmp_path / "s.zip", [("main.py", b"A = 1\n"), (name, b"x")])
    reject(tmp_path, z, match)


def test_zip_symlink_rejected(tmp_path: Path) -> None:
    z = make_zip(
        tmp_path / "s.zip",
        [("main.py", b"A = 1\n"), (unix_entry("link", stat.S_IFLNK | 0o777), b"/etc/passwd")],
    )
    reject(tmp_path, z, "symlinks are not allowed")


@pytest.mark.parametrize("kind", [stat.S_IFCHR, stat.S_IFBLK, stat.S_IFIFO, stat.S_IFSOCK])
def test_zip_device_files_rejected(tmp_path: Path, kind: int) -> None:
    z = make_zip(
        tmp_path / "s.zip", [("main.py", b"A = 1\n"), (unix_entry("dev", kind | 0o644), b"")]
    )
    reject(tmp_path, z, "not a regular file")


def test_zip_too_many_files(tmp_path: Path) -> None:
    entries: list[tuple[str | zipfile.ZipInfo, bytes]] = [("main.py", b"A=1")]
    entries += [(f"f{i}.txt", b"x") for i in range(20)]
    reject(tmp_path, make_zip(tmp_path / "s.zip", entries), "too many files")


def test_zip_bomb_declared_size(tmp_path: Path) -> None:
    z = tmp_path / "bomb.zip"
    with zipfile.ZipFile(z, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("main.py", b"A=1")
        zf.writestr("zeros.bin", b"\0" * 5_000_000)  # compresses to ~5 KB
    assert z.stat().st_size < 20_000
    reject(tmp_path, z, "too large", SubmissionRules(required=("main.py",), max_bytes=1_000_000))


def test_zip_bomb_lying_header_caught_while_reading(tmp_path: Path) -> None:
    """A zip whose central directory under-states the size is stopped by the byte count."""
    z = tmp_path / "liar.zip"
    with zipfile.ZipFile(z, "w", compression=zipfile.ZIP_STORED) as zf:
        zf.writestr("main.py", b"A=1")
        zf.writestr("big.bin", b"y" * 50_000)
    data = bytearray(z.read_bytes())
    # Patch the uncompressed size of big.bin in the central directory to 10 bytes.
    cd = data.rfind(b"PK\x01\x02")
    assert data[cd + 46 : cd + 46 + 7] == b"big.bin"
    data[cd + 24 : cd + 28] = (10).to_bytes(4, "little")
    z.write_bytes(bytes(data))
    dest = tmp_path / "dest"
    with pytest.raises(IntakeError) as e:
        intake(z, SubmissionRules(required=("main.py",), max_bytes=20_000), dest)
    assert "too large" in str(e.value) or "unreadable entry" in str(e.value)
    assert not dest.exists()


def test_zip_encrypted_entry_rejected(tmp_path: Path) -> None:
    z = make_zip(tmp_path / "s.zip", [("main.py", b"A=1"), ("secret.txt", b"xx")])
    data = bytearray(z.read_bytes())
    # zipfile cannot write encrypted entries: set the "encrypted" flag bit by hand
    # in the central directory record of secret.txt.
    cd = data.rfind(b"PK\x01\x02")
    assert data[cd + 46 : cd + 46 + 10] == b"secret.txt"
    data[cd + 8] |= 0x1
    z.write_bytes(bytes(data))
    reject(tmp_path, z, "encrypted")


def test_zip_duplicate_names_rejected(tmp_path: Path) -> None:
    z = tmp_path / "dup.zip"
    with zipfile.ZipFile(z, "w") as zf, pytest.warns(UserWarning, match="Duplicate name"):
        zf.writestr("main.py", b"A=1")
        zf.writestr("main.py", b"A=2")
    reject(tmp_path, z, "appears twice")


def test_not_a_zip(tmp_path: Path) -> None:
    z = tmp_path / "s.zip"
    z.write_bytes(b"this is not a zip")
    reject(tmp_path, z, "not a readable zip")


def test_wrong_extension(tmp_path: Path) -> None:
    f = tmp_path / "s.tar.gz"
    f.write_bytes(b"\x1f\x8b")
    reject(tmp_path, f, "unsupported submission type")


def test_missing_required_file(tmp_path: Path) -> None:
    z = make_zip(tmp_path / "s.zip", [("other.py", b"x")])
    reject(tmp_path, z, "missing required file.*main.py")


def test_folder_with_symlink_rejected(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "main.py").write_text("A=1")
    os.symlink("/etc/passwd", src / "passwd")
    reject(tmp_path, src, "symlinks are not allowed")


def test_folder_with_symlinked_dir_rejected(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "main.py").write_text("A=1")
    os.symlink("/etc", src / "etc")
    reject(tmp_path, src, "symlinks are not allowed")


def test_folder_with_fifo_rejected(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "main.py").write_text("A=1")
    os.mkfifo(src / "pipe")
    reject(tmp_path, src, "not a regular file")


def test_submission_itself_a_symlink(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    (real / "main.py").write_text("A=1")
    os.symlink(real, tmp_path / "link")
    reject(tmp_path, tmp_path / "link", "is a symlink")


def test_hard_link_content_is_copied_not_linked(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    outside = tmp_path / "outside.txt"
    outside.write_text("secret")
    (src / "main.py").write_text("A=1")
    os.link(outside, src / "h.txt")
    sub = intake(src, RULES, tmp_path / "d")
    copy = sub.root / "h.txt"
    assert copy.read_text() == "secret"
    assert copy.stat().st_ino != outside.stat().st_ino


def test_folder_too_large(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "main.py").write_text("A=1")
    (src / "big.bin").write_bytes(b"z" * 20_000)
    reject(tmp_path, src, "too large")


def test_empty_archive(tmp_path: Path) -> None:
    reject(tmp_path, make_zip(tmp_path / "s.zip", []), "empty|missing", SubmissionRules())


def test_notebook_accepted_when_allowed(tmp_path: Path) -> None:
    nb = tmp_path / "work.ipynb"
    nb.write_text(json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": []}))
    rules = SubmissionRules(allow_notebook=True)
    sub = intake(nb, rules, tmp_path / "d")
    assert sub.ref.kind == "notebook" and sub.ref.files == ["work.ipynb"]


def test_notebook_refused_when_not_allowed(tmp_path: Path) -> None:
    nb = tmp_path / "work.ipynb"
    nb.write_text(json.dumps({"nbformat": 4, "cells": []}))
    reject(tmp_path, nb, "does not accept notebook", SubmissionRules())


@pytest.mark.parametrize(
    ("content", "match"),
    [("{not json", "not JSON"), (json.dumps({"nbformat": 3, "cells": []}), "nbformat 4")],
)
def test_invalid_notebook(tmp_path: Path, content: str, match: str) -> None:
    nb = tmp_path / "work.ipynb"
    nb.write_text(content)
    reject(tmp_path, nb, match, SubmissionRules(allow_notebook=True))


def test_dest_must_not_exist(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "main.py").write_text("A=1")
    (tmp_path / "d").mkdir()
    with pytest.raises(FileExistsError):
        intake(src, RULES, tmp_path / "d")


def test_stream_of_zip_bytes_never_extracted_outside(tmp_path: Path) -> None:
    """Even a name that normalises oddly stays inside dest."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("./main.py", b"A=1")
        zf.writestr("a/./b.txt", b"b")
    z = tmp_path / "s.zip"
    z.write_bytes(buf.getvalue())
    sub = intake(z, RULES, tmp_path / "d")
    assert sub.ref.files == ["a/b.txt", "main.py"]
    assert not (tmp_path / "b.txt").exists()
