"""Looks for a GPU on a task that requests none: no device is there to find."""

from tests.adversarial.case import Case, main_py

CASE = Case(
    build=main_py(
        "import glob\n"
        "import torch\n"
        "print('devices', glob.glob('/dev/nvidia*'), 'cuda', torch.cuda.is_available())\n"
        "ANSWER = None\n"
    ),
    status=("graded",),
    run_log_has=("devices [] cuda False",),
)
