"""Clears the screen, sets the window title and hides text with ANSI escapes."""

from tests.adversarial.case import Case, main_py

CASE = Case(
    build=main_py(
        "print('\\x1b[2J\\x1b[H\\x1b]0;owned\\x07\\x1b[8mhidden\\x1b[0m visible')\nANSWER = None\n"
    ),
    status=("graded",),
    html_lacks=("\x1b", "\x07"),
)
