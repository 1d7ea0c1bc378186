"""Errors the grader raises. Each carries one line a user can act on.

Outcomes of grading (a crash, a timeout, an invalid submission) are *not* errors:
they are report statuses. These exceptions are for bad input to the grader itself
(a malformed task, an unreadable submission) and for infrastructure failures.
"""


class AssessError(Exception):
    """Base class for errors shown to users as one line."""


class ImageError(AssessError):
    """An image could not be built or found."""


class TaskSpecError(AssessError):
    """A task folder or its task.toml is malformed."""


class IntakeError(AssessError):
    """A submission was rejected at intake (unsafe archive, too large, missing files)."""


class SandboxError(AssessError):
    """The sandbox backend failed (engine unreachable, container could not start)."""


class OutputsRejected(SandboxError):
    """The run phase's outputs broke the export's limits: the submission's doing (an
    `invalid` report), unlike the other sandbox failures (an `error` to re-grade)."""


class EngineUnavailable(SandboxError):
    """No container engine answers."""
