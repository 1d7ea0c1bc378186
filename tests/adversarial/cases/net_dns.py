"""Resolves names: there is no network, hence no DNS."""

from tests.adversarial.case import Case, main_py

CASE = Case(
    build=main_py(
        "import socket\n"
        "ANSWER = None\n"
        "for host in ['pypi.org', 'localhost.', 'host.docker.internal']:\n"
        "    try:\n"
        "        print('RESOLVED', host, socket.getaddrinfo(host, 80)[0][4])\n"
        "    except OSError as e:\n"
        "        print('no dns', host, e)\n"
    ),
    status=("graded",),
    run_log_lacks=("RESOLVED pypi", "RESOLVED host.docker"),
)
