"""What the command line shows while long work runs (image builds, prepare, validate, grade).

On a terminal: Rich progress bars with elapsed time. Elsewhere (a pipe, CI's log, `make demo`
under `tee`): plain lines on stderr, few enough to read, so no step over a few seconds is
silent. Lines from build tools and prepare steps are shown as text, never as markup.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

_STEP = re.compile(r"^Step (\d+)/(\d+) : (.*)$")
_WHEEL = re.compile(r"^(?:Saved \S*?([^/\s]+\.whl)|File was already downloaded \S*?([^/\s]+\.whl))")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")


@dataclass(frozen=True)
class BuildLine:
    """One build output line, read: a Dockerfile step, a wheel fetched, or other text."""

    kind: str  # "step" | "wheel" | "phase" | "other"
    text: str
    step: int = 0
    steps: int = 0


def read_build_line(line: str) -> BuildLine:
    """Classify a line from `grader.images` (docker's classic builder, pip, our own)."""
    line = clean(line)
    if m := _STEP.match(line):
        return BuildLine("step", m.group(3), int(m.group(1)), int(m.group(2)))
    if m := _WHEEL.match(line):
        return BuildLine("wheel", m.group(1) or m.group(2))
    if line.startswith(("building ", "built ", "filling wheelhouse", "bootstrapping ")) or (
        " is up to date" in line
    ):
        return BuildLine("phase", line)
    return BuildLine("other", line)


def clean(text: str, limit: int = 160) -> str:
    """One printable line: control and invisible characters replaced, length capped."""
    one = _CONTROL.sub(" ", text.strip().splitlines()[-1] if text.strip() else "")
    return one if len(one) <= limit else one[: limit - 1] + "…"


def bars(console: Console, *, quiet: bool = False, eta: bool = False) -> Progress:
    """A Rich progress display on `console`; disabled (prints nothing) off a terminal."""
    columns = [
        SpinnerColumn(),
        TextColumn("{task.description}", markup=False),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    ]
    if eta:
        columns.append(TimeRemainingColumn())
    return Progress(
        *columns, console=console, transient=True, disable=quiet or not console.is_terminal
    )


@contextmanager
def image_build_view(console: Console) -> Iterator[Callable[[str], None]]:
    """A line callback for `build_images`: one bar per image's Dockerfile steps, a counter
    of wheels while the wheelhouse fills, the current line as the description."""
    progress = bars(console)
    live = console.is_terminal
    wheels = 0
    started = time.monotonic()
    with progress:
        bar: TaskID = progress.add_task("images", total=None)

        def show(raw: str) -> None:
            nonlocal wheels
            line = read_build_line(raw)
            if line.kind == "step":
                progress.update(
                    bar,
                    total=line.steps,
                    completed=line.step - 1,
                    description=f"step {line.step}/{line.steps}: {clean(line.text, 70)}",
                )
            elif line.kind == "wheel":
                wheels += 1
                progress.update(bar, total=None, description=f"wheelhouse: {wheels} wheels")
            elif line.kind == "phase":
                wheels = 0 if line.text.startswith("filling") else wheels
                progress.update(bar, total=None, completed=0, description=clean(line.text, 90))
            # Off a terminal: every step and phase, and every tenth wheel.
            if not live and line.kind != "other" and (line.kind != "wheel" or wheels % 10 == 1):
                console.print(
                    f"[{time.monotonic() - started:5.0f} s] {_said(line, wheels)}",
                    markup=False,
                    highlight=False,
                )

        yield show


def _said(line: BuildLine, wheels: int) -> str:
    if line.kind == "step":
        return f"step {line.step}/{line.steps}: {clean(line.text, 100)}"
    if line.kind == "wheel":
        return f"wheelhouse: {wheels} wheels ({line.text})"
    return line.text


@contextmanager
def output_view(console: Console, title: str) -> Iterator[Callable[[str], None]]:
    """A line callback for a long command's output (a task's prepare step): the latest line
    under a spinner with the elapsed time; off a terminal, each line, timestamped."""
    progress = bars(console)
    live = console.is_terminal
    started = time.monotonic()
    with progress:
        bar = progress.add_task(title, total=None)
        if not live:
            console.print(f"{title} …", markup=False, highlight=False)

        def show(raw: str) -> None:
            line = clean(raw, 100)
            if not line:
                return
            if live:
                progress.update(bar, description=f"{title}: {line}")
            else:
                elapsed = time.monotonic() - started
                console.print(f"[{elapsed:5.0f} s] {line}", markup=False, highlight=False)

        yield show
