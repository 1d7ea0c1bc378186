"""The sandbox interface: run one command in a fresh, locked-down container.

A backend implements two things:

* :meth:`Sandbox.run` — a fresh container per call: the command, its mounts and limits;
  it returns a :class:`RunResult` and leaves nothing running behind it, whatever happens.
  A crash, a timeout or an out-of-memory kill of the command is *data* in the result;
  only a failure of the backend itself raises :class:`~grader.errors.SandboxError`.
* :meth:`Sandbox.scratch` — a size-capped writable area that outlives one container, so
  the untrusted run phase can write outputs that the grader then exports and bounds.

It may also offer :meth:`Sandbox.ahead`: a trusted command's container started before the
command may begin (the check phase's, while the run phase runs), which takes a container
start off a grading's critical path.
"""

from __future__ import annotations

import contextlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace
from pathlib import Path

SANDBOX_UID = 1000
SANDBOX_USER = f"{SANDBOX_UID}:{SANDBOX_UID}"
TRUNCATION_MARK = "\n[... {n} bytes of output dropped by the grader: log limit {limit} bytes ...]\n"


@dataclass(frozen=True)
class Limits:
    """Resource limits for one container.

    `cpu_s`, when set, is the command's budget in CPU-seconds (the container's cgroup
    accounting, all its processes together): what a submission may use whatever else the
    machine is doing. `wall_s` is then the backstop for a command that waits instead of
    computing; a command stopped there on a machine that had no CPU to give it is reported
    as `overloaded` (the grader's fault, not the command's). See :func:`budget`.
    """

    cpus: float = 1.0
    memory_mb: int = 1024
    pids: int = 128
    wall_s: float = 300.0
    cpu_s: float | None = None
    tmp_mb: int = 256
    log_bytes: int = 256 * 1024
    gpu: bool = False


# A command on a budget of B CPU-seconds at `cpus` cores gets this many times its ideal wall
# time before the backstop, plus a constant for container start and interpreter imports.
# Measured: correct references run at about half speed with two busy cores; the factor keeps
# them inside the backstop at four busy cores and a sleeper still ends within minutes.
WALL_FACTOR = 3.0
WALL_SLACK_S = 15.0


def budget(seconds: float, cpus: float) -> tuple[float, float]:
    """(cpu_s, wall_s) for a time limit stated as `seconds` of exclusive use of `cpus` cores."""
    return seconds * cpus, seconds * WALL_FACTOR + WALL_SLACK_S


def overloaded(cpu_s: float, wall_s: float, cpus: float, run_delay_s: float | None) -> bool:
    """Whether a command stopped at its wall-clock limit was starved rather than idle.

    Over `wall_s` it was entitled to `cpus * wall_s` CPU-seconds and used `cpu_s`.
    `run_delay_s` is how long its processes sat runnable in the kernel's run queue waiting for
    a CPU (schedstat). A sleeper waits on nothing there; a command starved by other work waits
    there for most of the time it did not run. Starved: it used under half its entitlement
    and waited for a CPU for at least half of the rest. Unknown (a remote engine): not starved,
    the old, conservative judgement.
    """
    if run_delay_s is None or wall_s <= 0:
        return False
    entitled = cpus * wall_s
    return cpu_s < 0.5 * entitled and run_delay_s >= 0.5 * (entitled - cpu_s)


@dataclass(frozen=True)
class Mount:
    """A host path made visible in the container (read-only unless said otherwise)."""

    source: Path
    target: str
    read_only: bool = True


class Exported(list[str]):
    """What :meth:`Scratch.export` copied: the files' relative paths, sorted (a list), and
    `unsafe_names`, how many files it skipped because their names failed intake's checks
    (control characters such as a newline or ESC, over-long names, ``..``): the grader
    says so in the report rather than dropping them without a word."""

    def __init__(self, paths: Iterable[str] = (), *, unsafe_names: int = 0) -> None:
        super().__init__(sorted(paths))
        self.unsafe_names = unsafe_names


class Scratch(ABC):
    """A size-capped writable area that persists across containers until closed."""

    size_mb: int

    @abstractmethod
    def export(self, dest: Path, *, max_bytes: int, max_files: int) -> Exported:
        """Copy the area's regular files to `dest` (bounded); return their relative paths.

        Links, devices and names that fail intake's checks are skipped, not followed; the
        skipped names are counted in the result's `unsafe_names`.

        Raises:
            OutputsRejected: more than `max_files` files or `max_bytes` bytes (or entries of
                any kind) were written: the submission's doing.
            SandboxError: the backend failed (the area was lost, the engine went away).
        """


@dataclass(frozen=True)
class ScratchMount:
    scratch: Scratch
    target: str
    read_only: bool = False


@dataclass(frozen=True)
class RunRequest:
    """Everything needed to run one command in a fresh container."""

    image: str
    command: Sequence[str]
    limits: Limits = Limits()
    mounts: Sequence[Mount] = ()
    scratch: Sequence[ScratchMount] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    workdir: str = "/tmp"
    user: str = SANDBOX_USER
    label: str = ""  # shown in container names and errors, e.g. "run" or "check"
    # Trusted work only (a task's prepare step): called with each output line as it comes,
    # for progress; the result's log is kept as for any run. Never set for submissions.
    on_output: Callable[[str], None] | None = field(default=None, compare=False)


@dataclass(frozen=True)
class RunResult:
    """What happened. `exit_code` is None when the command was killed at its time limit.

    `limit` names the limit that stopped it ("cpu": its CPU budget, "wall": the wall-clock
    limit), None when it ended by itself. `overloaded`: stopped at the wall-clock limit while
    the machine had no idle CPU to give it, so the time it lacked was taken by other work.
    """

    exit_code: int | None
    timed_out: bool
    oom_killed: bool
    log: str
    log_truncated: bool
    wall_s: float
    peak_memory: int | None = None
    cpu_seconds: float | None = None
    limit: str | None = None
    overloaded: bool = False
    # The id of the image the command ran in, where the sandbox read it anyway (None: ask
    # the sandbox's `image_id`).
    image_id: str | None = None

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.timed_out


class LineFeed:
    """Splits a byte stream into lines for a callback, each cut at `max_line` bytes."""

    def __init__(self, sink: Callable[[str], None], max_line: int = 4096) -> None:
        self.sink = sink
        self.max_line = max_line
        self.buf = bytearray()

    def feed(self, chunk: bytes) -> None:
        self.buf += chunk
        while (i := self.buf.find(b"\n")) >= 0 or len(self.buf) > self.max_line:
            cut = i if 0 <= i <= self.max_line else self.max_line
            line = bytes(self.buf[:cut]).decode("utf-8", "replace").rstrip("\r")
            del self.buf[: cut + 1 if cut == i else cut]
            self.sink(line)

    def close(self) -> None:
        if self.buf:
            self.sink(bytes(self.buf).decode("utf-8", "replace"))
            self.buf.clear()


class BoundedLog:
    """Keeps the head and tail of a stream within a byte budget and counts what it drops.

    The head matters most (the first traceback), the tail shows how it ended; a flood in
    between is replaced by one marked line.
    """

    def __init__(self, limit: int) -> None:
        self.limit = max(limit, 64)
        self.head_cap = self.limit * 3 // 4
        self.tail_cap = self.limit - self.head_cap
        self.head = bytearray()
        self.tail = bytearray()
        self.dropped = 0

    def feed(self, chunk: bytes) -> None:
        room = self.head_cap - len(self.head)
        if room > 0:
            self.head += chunk[:room]
            chunk = chunk[room:]
        if not chunk:
            return
        self.tail += chunk
        if len(self.tail) > self.tail_cap:
            excess = len(self.tail) - self.tail_cap
            self.dropped += excess
            del self.tail[:excess]

    @property
    def truncated(self) -> bool:
        return self.dropped > 0

    def text(self) -> str:
        """The kept bytes as text (invalid UTF-8 replaced), with the drop marked."""
        head = self.head.decode("utf-8", "replace")
        tail = self.tail.decode("utf-8", "replace")
        if not self.dropped:
            return head + tail
        return head + TRUNCATION_MARK.format(n=self.dropped, limit=self.limit) + tail


class Sandbox(ABC):
    """A backend that runs commands in isolated containers."""

    name: str  # recorded in reports: the backend (and its runtime) that ran the submission

    @abstractmethod
    def run(self, request: RunRequest) -> RunResult:
        """Run `request` in a fresh container, wait at most its wall limit, remove it.

        Raises:
            SandboxError: the backend failed (not the command).
        """

    @abstractmethod
    def scratch(self, size_mb: int, *, image: str) -> AbstractContextManager[Scratch]:
        """A writable area of at most `size_mb`, removed when the context exits."""

    @abstractmethod
    def image_id(self, image: str) -> str:
        """The id of `image`, for provenance (when no run said which image it ran in).

        Raises:
            SandboxError: the image does not exist (build it with `assess images build`).
        """

    def ahead(
        self, request: RunRequest, *, hold: Sequence[Scratch] = ()
    ) -> AbstractContextManager[Ahead]:
        """`request` made ready to run later, its container started while other work goes
        on (the check phase's, during the run phase): see :class:`Ahead`. Whatever was
        made ready and not run is removed when the context exits.

        `hold`: scratch areas the container may keep (out of its command's reach) while a
        run writes them and until they are exported, so that the run needs no holder of its
        own. Open the areas before, close them after this context.

        This default makes nothing ready: the run happens when it is asked for."""
        return contextlib.nullcontext(Ahead(self, request))

    def leftovers(self) -> Iterator[str]:
        """Names of anything this backend created that still exists (for tests)."""
        return iter(())


# Set in the environment of a command started ahead of need: it must first read one line
# from its standard input, a JSON object of environment variables to add, and only then do
# its work. The sandbox sends the line when the run is asked for; the limits count from then.
GATE_ENV = "ASSESS_GATE"


class Ahead:
    """A run prepared by :meth:`Sandbox.ahead`. :meth:`run` runs it with `env` added to the
    request's environment and returns its result, as :meth:`Sandbox.run` would.

    Only for trusted commands that honour :data:`GATE_ENV` (the check harness does): a
    backend may start the command before `run` is called, with the request's environment
    alone, and the command must wait for the rest. A second `run` starts a fresh container
    (a retry after an overload)."""

    def __init__(self, sandbox: Sandbox, request: RunRequest) -> None:
        self.sandbox = sandbox
        self.request = request

    def run(self, env: Mapping[str, str]) -> RunResult:
        return self.sandbox.run(self.with_env(env))

    def with_env(self, env: Mapping[str, str]) -> RunRequest:
        return replace(self.request, env={**self.request.env, **env})
