"""Tries to write 10 GB to every writable-looking place."""

from tests.adversarial.case import Case, main_py

CASE = Case(
    build=main_py(
        "chunk = b'0' * (1 << 20)\n"
        "for path in ['/output/fill', '/tmp/fill', '/dev/shm/fill', '/submission/fill',\n"
        "             '/var/tmp/fill', '/fill']:\n"
        "    try:\n"
        "        with open(path, 'wb') as f:\n"
        "            for _ in range(10 * 1024):\n"
        "                f.write(chunk)\n"
        "        print('FILLED', path)\n"
        "    except OSError as e:\n"
        "        print(path, e.strerror)\n"
        "ANSWER = None\n"
    ),
    status=("graded",),
    run_log_lacks=("FILLED",),
    run_log_has=("/output/fill No space left on device", "/tmp/fill No space left on device"),
)
