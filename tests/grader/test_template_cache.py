"""Compiled templates kept between processes (grader.template_cache): used when sound,
ignored when damaged or unsafe, never a reason for a page not to render."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import jinja2
import pytest

from grader.template_cache import bytecode_cache

TEMPLATE = "{% for x in items %}<li>{{ x }}</li>{% endfor %}"


@pytest.fixture
def tmpdir_here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The temporary directory (where Jinja keeps its per-user cache) is `tmp_path`."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    return tmp_path


def _env(templates: Path) -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates)),
        autoescape=True,
        bytecode_cache=bytecode_cache(),
    )


def _render(templates: Path) -> str:
    return _env(templates).get_template("page.j2").render(items=["<b>", "two"])


def _cache_files(tmp: Path) -> list[Path]:
    return sorted((tmp / f"_jinja2-cache-{os.getuid()}").glob("*.cache"))


def _no_compiling(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_a: object, **_k: object) -> None:
        raise AssertionError("compiled a template the cache holds")

    monkeypatch.setattr(jinja2.Environment, "compile", refuse)


def test_a_second_process_loads_the_compiled_template(
    tmpdir_here: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "page.j2").write_text(TEMPLATE)
    first = _render(templates)
    assert first == "<li>&lt;b&gt;</li><li>two</li>"  # autoescape holds through the cache
    assert len(_cache_files(tmpdir_here)) == 1
    folder = tmpdir_here / f"_jinja2-cache-{os.getuid()}"
    assert folder.stat().st_mode & 0o777 == 0o700
    _no_compiling(monkeypatch)  # a new environment (as in a new process) compiles nothing
    assert _render(templates) == first


def test_a_changed_template_is_compiled_again(tmpdir_here: Path, tmp_path: Path) -> None:
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "page.j2").write_text(TEMPLATE)
    _render(templates)
    (templates / "page.j2").write_text("<p>{{ items | length }}</p>")
    assert _render(templates) == "<p>2</p>"


@pytest.mark.parametrize("damage", [b"", b"j2\x00\x01garbage", None])
def test_a_damaged_cache_entry_is_compiled_again(
    tmpdir_here: Path, tmp_path: Path, damage: bytes | None
) -> None:
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "page.j2").write_text(TEMPLATE)
    good = _render(templates)
    (entry,) = _cache_files(tmpdir_here)
    raw = entry.read_bytes()
    # Emptied, foreign bytes, or the right header with its code cut short.
    entry.write_bytes(damage if damage is not None else raw[: len(raw) // 2])
    assert _render(templates) == good


def test_a_folder_another_user_owns_is_not_used(tmpdir_here: Path, tmp_path: Path) -> None:
    if os.getuid() != 0:
        pytest.skip("needs root to give the folder to another user")
    folder = tmpdir_here / f"_jinja2-cache-{os.getuid()}"
    folder.mkdir(mode=0o700)
    os.chown(folder, 65534, 65534)
    assert bytecode_cache() is None  # Jinja refuses it; rendering goes on without a cache
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "page.j2").write_text(TEMPLATE)
    assert _render(templates) == "<li>&lt;b&gt;</li><li>two</li>"
    assert list(folder.iterdir()) == []


def test_no_usable_temporary_directory_means_no_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "missing" / "deeper"))
    assert bytecode_cache() is None


def test_a_full_or_read_only_cache_folder_does_not_stop_rendering(
    tmpdir_here: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = bytecode_cache()
    assert cache is not None

    def full(*_a: object, **_k: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(tempfile, "NamedTemporaryFile", full)
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "page.j2").write_text(TEMPLATE)
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(templates)), bytecode_cache=cache)
    assert env.get_template("page.j2").render(items=[1]) == "<li>1</li>"
    assert _cache_files(tmpdir_here) == []
