"""Connects to the host and the Docker bridge (engine API, SSH, common service ports)."""

from tests.adversarial.case import Case, main_py

CASE = Case(
    build=main_py(
        "import socket\n"
        "ANSWER = None\n"
        "for addr in [('172.17.0.1', 2375), ('172.17.0.1', 22), ('10.0.0.1', 80),\n"
        "             ('192.168.0.1', 80), ('1.1.1.1', 443), ('8.8.8.8', 53)]:\n"
        "    try:\n"
        "        socket.create_connection(addr, timeout=2)\n"
        "        print('CONNECTED', addr)\n"
        "    except OSError as e:\n"
        "        print('blocked', addr, e.strerror)\n"
    ),
    status=("graded",),
    run_log_lacks=("CONNECTED",),
    run_log_has=("Network is unreachable",),
)
