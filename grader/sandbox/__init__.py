"""Sandbox backends: run a command in a fresh, locked-down container."""

import os

from grader.sandbox.base import (
    GATE_ENV,
    SANDBOX_UID,
    Ahead,
    BoundedLog,
    Exported,
    Limits,
    Mount,
    RunRequest,
    RunResult,
    Sandbox,
    Scratch,
    ScratchMount,
    budget,
)


def docker_sandbox(runtime: str | None = None) -> Sandbox:
    """The default backend: the local Docker engine.

    Args:
        runtime: The engine's OCI runtime for runs (e.g. ``runsc`` for gVisor); default
            ``$ASSESS_SANDBOX_RUNTIME``, else the engine's default (runc).

    Raises:
        EngineUnavailable: no engine answers, or it has no such runtime.
    """
    from grader.sandbox.docker import DockerSandbox

    return DockerSandbox(runtime=runtime or os.environ.get("ASSESS_SANDBOX_RUNTIME") or None)


__all__ = [
    "GATE_ENV",
    "SANDBOX_UID",
    "Ahead",
    "BoundedLog",
    "Exported",
    "Limits",
    "Mount",
    "RunRequest",
    "RunResult",
    "Sandbox",
    "Scratch",
    "ScratchMount",
    "budget",
    "docker_sandbox",
]
