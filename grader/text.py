"""Untrusted text made safe to show: the one cleaner every renderer uses.

Anything a submission can influence (logs, feedback, file names, notebook cells and
outputs, answers) may carry terminal escape sequences, control characters and Unicode
bidirectional controls. The last can make text *display* differently from what it is (a
right-to-left override turns ``evil() # ok`` into something else on screen), so a
reviewer would read something other than what ran. Every place that shows such text
(the HTML report, the notebook view, the service's pages, the receipt) passes it through
:func:`clean_text`; where it is already markup, :func:`strip_controls` removes the same
characters one by one, which can never create markup.

Stripped: C0 controls except tab and newline, DEL, C1 controls, the Arabic letter mark
(U+061C), the left-to-right and right-to-left marks (U+200E, U+200F), the embeddings and
overrides (U+202A-U+202E) and the isolates (U+2066-U+2069).
"""

from __future__ import annotations

import re

from markupsafe import Markup

__all__ = ["UNSAFE_CHARACTERS", "clean_text", "finalize", "strip_controls"]

# Terminal escape sequences: CSI (colours, cursor moves), OSC (titles, hyperlinks),
# DCS/SOS/PM/APC strings, 8-bit CSI, and the remaining two-character escapes.
_ANSI = re.compile(
    r"""
      \x1b\[[0-?]*[ -/]*[@-~]                    # CSI ... final byte
    | \x1b\][^\x07\x1b\n]*(?:\x07|\x1b\\)?       # OSC ... BEL or ST
    | \x1b[PX^_][^\x1b\n]*(?:\x1b\\)?            # DCS / SOS / PM / APC ... ST
    | \x9b[0-?]*[ -/]*[@-~]                      # 8-bit CSI
    | \x1b[ -/]*[0-~]                            # other escapes (charset, keypad, ...)
    """,
    re.VERBOSE,
)
# Colour and style (SGR) sequences: kept on request, for renderers that turn them into
# classes (nbconvert's tracebacks and streams).
_SGR = re.compile(r"\x1b\[[0-9;]{0,64}m")
_SGR_TOKEN = "\ue000"  # a private-use character: stands in for ESC while the rest is stripped
UNSAFE_CHARACTERS = "\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
_CONTROL = re.compile(f"[{UNSAFE_CHARACTERS}]")


def strip_controls(text: str) -> str:
    """Remove control and bidirectional-control characters (not newline or tab), one by one.

    Safe on markup that is already sanitised: it removes single characters and never
    joins what was apart into a tag. Use :func:`clean_text` for plain text.
    """
    return _CONTROL.sub("", text)


def clean_text(text: str, *, colours: bool = False, terminal: bool = True) -> str:
    """Make untrusted text safe to display as plain text.

    Strips terminal escape sequences, control characters (keeping newlines and tabs) and
    bidirectional controls, and normalises line endings.

    Args:
        text: text printed or written by a submission (or anything else untrusted).
        colours: keep colour/style (SGR) sequences, for a renderer that turns them into
            markup itself (nbconvert); every other escape sequence is still removed.
        terminal: apply a lone carriage return the way a terminal would, so a progress
            bar shows its last state rather than every redraw glued together (output and
            logs). False makes it a line break (source code and documents, where a
            terminal's overwrite would hide what is there).

    Returns:
        The cleaned text.
    """
    if colours:
        text = _SGR.sub(lambda m: _SGR_TOKEN + m.group(0)[1:], text.replace(_SGR_TOKEN, ""))
    text = _ANSI.sub("", text)
    if "\r" in text:
        text = text.replace("\r\n", "\n")
        if not terminal:
            text = text.replace("\r", "\n")
        else:
            lines = []
            for line in text.split("\n"):
                shown = ""
                for part in line.split("\r"):
                    shown = part + shown[len(part) :]
                lines.append(shown)
            text = "\n".join(lines)
    text = _CONTROL.sub("", text)
    return text.replace(_SGR_TOKEN, "\x1b") if colours else text


def finalize(value: object) -> object:
    """A Jinja ``finalize`` hook: every ``{{ ... }}`` string leaves the template cleaned.

    Plain strings go through :func:`clean_text`; markup (already escaped or sanitised)
    through :func:`strip_controls`. Other values are left for Jinja to format.
    """
    if isinstance(value, Markup):
        return Markup(strip_controls(str(value)))  # only characters removed: still safe
    if isinstance(value, str):
        return clean_text(value)
    return value
