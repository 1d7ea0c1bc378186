"""A folder submission with a hard link: intake copies its bytes, never the link itself.

Hard links cannot reach outside what the submitter could already read, so the submission
is accepted and graded on its content.
"""

import os
from pathlib import Path

from tests.adversarial.case import Case


def build(dest: Path) -> Path:
    sub = dest / "sub"
    sub.mkdir()
    (sub / "main.py").write_text("ANSWER = None\n")
    os.link(sub / "main.py", sub / "alias.py")
    return sub


CASE = Case(build=build, status=("graded",))
