"""Writes bytes that are not UTF-8 to stdout and into its output file."""

from tests.adversarial.case import Case, main_py

CASE = Case(
    build=main_py(
        "import os, sys\n"
        "sys.stdout.buffer.write(b'bad bytes: \\xff\\xfe\\xc3\\x28 end\\n')\n"
        "sys.stdout.flush()\n"
        "open('/output/result.json', 'wb').write(b'{\"answer\": \"\\xff\\xfe\"}')\n"
        "os._exit(0)\n"
    ),
    status=("graded",),
    max_score=0.0,
    run_log_has=("bad bytes:", "end"),
)
