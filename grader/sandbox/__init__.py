"""Sandbox backends: run a command in a fresh, locked-down container."""

from grader.sandbox.base import (
    SANDBOX_UID,
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


def docker_sandbox() -> Sandbox:
    """The default backend: the local Docker engine.

    Raises:
        EngineUnavailable: no engine answers.
    """
    from grader.sandbox.docker import DockerSandbox

    return DockerSandbox()


__all__ = [
    "SANDBOX_UID",
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
