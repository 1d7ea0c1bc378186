"""Looks for the Docker socket to start its own privileged container."""

from tests.adversarial.case import Case, main_py

CASE = Case(
    build=main_py(
        "import os, socket\n"
        "ANSWER = None\n"
        "for p in ['/var/run/docker.sock', '/run/docker.sock',\n"
        "          '/run/containerd/containerd.sock']:\n"
        "    print(p, 'EXISTS' if os.path.exists(p) else 'absent')\n"
    ),
    status=("graded",),
    run_log_lacks=("EXISTS",),
)
