"""The command line's consoles (stdout and stderr), each made on its first use.

Importing Rich costs about 35 ms of every start. `assess grade` prints nothing until its
first grading is under way, so it loads Rich while that grading waits on its containers
(and `assess --help` never loads it).
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console
    from rich.status import Status


class LazyConsole:
    """A Rich console, without highlighting, made when something first uses it."""

    def __init__(self, *, stderr: bool) -> None:
        self._stderr = stderr

    @functools.cached_property
    def rich(self) -> Console:
        """The console itself, for what takes one (progress bars, live views)."""
        from rich.console import Console

        return Console(stderr=self._stderr, highlight=False)

    def print(self, *objects: Any, **kwargs: Any) -> None:
        self.rich.print(*objects, **kwargs)

    def status(self, message: str) -> Status:
        return self.rich.status(message)
