"""The Docker engine client as the grader uses it: tuned for an engine on a local socket.

Both the sandbox and the image builder make their client with ``docker.from_env`` and pass
it through :func:`tuned`.
"""

from __future__ import annotations

from typing import Any

import docker
from docker.transport.unixconn import UnixHTTPAdapter

# The Docker SDK's base URL for an engine it reaches without HTTP proxies (a unix socket, a
# named pipe, or SSH).
LOCAL_SOCKET_URL = "http+docker://"
# Connections kept open to the engine's socket. A grading holds up to six at once (two
# waits, two stats streams, its calls and a start made ahead), and the service grades
# several at a time; past this many, urllib3 closes the extra ones after use, with a warning.
POOL_SIZE = 64


class OneSocketPool(UnixHTTPAdapter):  # type: ignore[misc]
    """One connection pool for the engine's socket.

    The SDK's adapter keys its pools by the request's whole URL, and most of a grading's URLs
    name a container: nearly every call (15 of a grading's 20) opened a new connection to the
    engine, and the old ones stayed open until 25 newer URLs pushed their pools out. Every
    URL here reaches the same socket, so one pool serves them all."""

    def get_connection(self, url: Any, proxies: Any = None) -> Any:
        return super().get_connection(self.socket_path, proxies)


def tuned(client: docker.DockerClient) -> docker.DockerClient:
    """`client`, set up for an engine on a local socket (unchanged for any other engine)."""
    api = client.api
    if not api.base_url.startswith(LOCAL_SOCKET_URL):
        return client
    # No proxy or .netrc applies to the engine's own socket, and requests would look for them
    # in the whole environment on every call: ~13% of a grading's CPU in this process.
    api.trust_env = False
    adapter = api.get_adapter(api.base_url)
    if type(adapter) is UnixHTTPAdapter:
        api.mount(
            LOCAL_SOCKET_URL,
            OneSocketPool(adapter.socket_path, adapter.timeout, max_pool_size=POOL_SIZE),
        )
        adapter.close()
    return client
