"""Fills its outputs with a deeply nested, oversized result to crash or fool the check."""

from tests.adversarial.case import Case, main_py

CASE = Case(
    build=main_py(
        "import os\n"
        "with open('/output/result.json', 'w') as f:\n"
        "    f.write('[' * 100000 + ']' * 100000)\n"
        "with open('/output/pad.bin', 'wb') as f:\n"
        "    try:\n"
        "        f.write(b'0' * (64 << 20))\n"
        "    except OSError as e:\n"
        "        print('capped', e.strerror, flush=True)\n"
        "os._exit(0)\n"
    ),
    status=("graded",),
    max_score=0.0,
    run_log_has=("capped No space left on device",),
)
