"""Looks for a GPU on a task that requests none: no device node, no driver library.

The evidence torch.cuda would use (device nodes, libcuda injected by the NVIDIA runtime,
the runtime's environment), without importing torch: under a loaded CI machine the import
alone can outlast the fixture task's 8 s run limit.
"""

from tests.adversarial.case import Case, main_py

CASE = Case(
    build=main_py(
        "import ctypes.util, glob, os\n"
        "print('devices', glob.glob('/dev/nvidia*'), 'libcuda', ctypes.util.find_library('cuda'),\n"
        "      'env', os.environ.get('NVIDIA_VISIBLE_DEVICES'))\n"
        "ANSWER = None\n"
    ),
    status=("graded",),
    run_log_has=("devices [] libcuda None env None",),
)
