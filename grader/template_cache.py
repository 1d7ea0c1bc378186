"""Compiled Jinja templates kept between processes, so a new one renders without compiling.

Compiling the report's template takes about 60 ms, paid by every `assess grade` and every
service start. Jinja's own file cache keeps the compiled code in a per-user folder of the
temporary directory (mode 0700, refused if another user owns it) and recompiles a template
whose source changed. Here a cache that cannot be read or written is no cache: rendering
never fails because of it.
"""

from __future__ import annotations

import contextlib

import jinja2
from jinja2.bccache import Bucket


class _TolerantCache(jinja2.FileSystemBytecodeCache):
    """Jinja's file cache, with an unreadable entry or a full disk meaning 'compile again'
    (Jinja itself recompiles an entry that is truncated, foreign or for another source)."""

    def load_bytecode(self, bucket: Bucket) -> None:
        try:
            super().load_bytecode(bucket)
        except OSError:
            bucket.reset()

    def dump_bytecode(self, bucket: Bucket) -> None:
        with contextlib.suppress(OSError):
            super().dump_bytecode(bucket)


def bytecode_cache() -> jinja2.BytecodeCache | None:
    """The per-user compiled-template cache, or None where no safe folder can be had."""
    try:
        return _TolerantCache()
    except (OSError, RuntimeError):  # Jinja refuses a folder someone else owns or can write
        return None
