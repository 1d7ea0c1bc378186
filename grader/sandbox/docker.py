"""The Docker sandbox backend (Docker SDK against a real engine).

Every container it makes runs with: no network, a non-root user, all capabilities
dropped, no-new-privileges, a read-only root, a size-capped tmpfs at /tmp, pids, memory
(without swap) and CPU limits, and a CPU-time budget and wall-clock limit enforced from here
(CPU time from the engine's cgroup accounting, sampled about once a second). Output is read
through an attach socket into a bounded buffer, and the logging driver is off, so a flood
of output can neither fill the host's disk nor our memory. Containers are removed in a
``finally`` whatever happened, which kills every process they spawned (they all live in
the container's pid namespace).
"""

from __future__ import annotations

import contextlib
import contextvars
import io
import json
import shutil
import tarfile
import threading
import time
import uuid
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import docker
import docker.errors
import requests
from docker.types import DeviceRequest
from docker.types import Mount as DockerMount
from docker.utils.socket import frames_iter

from grader.engine_client import LOCAL_SOCKET_URL, tuned
from grader.errors import EngineUnavailable, IntakeError, SandboxError
from grader.member_names import check_member_name
from grader.sandbox import host_export
from grader.sandbox.base import (
    GATE_ENV,
    Ahead,
    BoundedLog,
    Exported,
    LineFeed,
    RunRequest,
    RunResult,
    Sandbox,
    Scratch,
    overloaded,
)
from grader.spans import span

LABEL = "assess.sandbox"
# Each DockerSandbox labels what it creates with its own id, so that several graders can
# share one engine and each can account for (and clean up) only its own containers.
OWNER_LABEL = "assess.owner"
# Bounds on engine calls that are not the command itself (create, kill, remove).
API_TIMEOUT_S = 60
KILL_GRACE_S = 10
# How often the run loop looks at the CPU budget and the clock.
POLL_S = 0.5
# The engine's stats (peak memory, CPU time) are read only once a command has run this long:
# the engine samples each container about once a second, so a shorter command rarely gets a
# sample, and the stream (a request, a thread here, a collector in the engine) cost about
# 6 ms of machine CPU per container for nothing.
STATS_AFTER_S = POLL_S
_PROC = Path("/proc")
_CGROUP = Path("/sys/fs/cgroup")
# gVisor's own host threads (sentry, gofer) count in the container's pids cgroup: without
# this headroom it cannot start under a small limit. The guest's processes are its tasks.
RUNSC_HOST_THREADS = 96
# A held run's first process (the init and its sleeper), outside the command's pids budget.
HOLD_COMMAND = ["sleep", "infinity"]
HOLD_PIDS = 2
# Where a container started ahead keeps the scratch areas it holds: a root-only folder, so
# its own command (the check's user) cannot reach the raw area, only the exported copy.
HOLD_DIR = "/.assess-hold"
# A run whose areas are held by a container still starting waits for this line before its
# command begins; the command then reads from /dev/null, as any run's command does.
RUN_GATE = ["sh", "-c", 'read -r _ && exec "$@" </dev/null', "sh"]
# No network: each container gets an empty network namespace of its own (loopback only).
# `network_disabled` as well as mode "none": with "none" alone the engine still runs its
# network prestart hook at every start (it re-executes its own binary to configure a network
# sandbox that "none" then leaves empty), about 160 ms of machine CPU per container. The
# benchmarks' floors start their bare containers with the same settings.
NO_NETWORK: Mapping[str, object] = {"network_mode": "none", "network_disabled": True}
# How long the log may still arrive after a held command ended (output in flight).
DRAIN_AFTER_S = 1.0


def _stopped_answering(e: requests.RequestException) -> SandboxError:
    return SandboxError(f"the Docker engine stopped answering: {e}")


def _client(timeout: int = API_TIMEOUT_S) -> docker.DockerClient:
    try:
        # The client asks the engine for its API version as it is made: no engine, no client.
        client = docker.from_env(timeout=timeout)
    except (docker.errors.DockerException, requests.RequestException) as e:
        raise EngineUnavailable(
            f"no Docker engine answers ({type(e).__name__}); run scripts/ensure-docker.sh"
        ) from None
    return tuned(client)


# The engine's runtimes, asked once per client: the service builds a sandbox per grading on
# one shared client, and `info` is a round trip to the engine each time.
_RUNTIMES: weakref.WeakKeyDictionary[docker.DockerClient, frozenset[str]] = (
    weakref.WeakKeyDictionary()
)


def _runtimes(client: docker.DockerClient) -> frozenset[str]:
    found = _RUNTIMES.get(client)
    if found is None:
        found = frozenset((client.info().get("Runtimes") or {}).keys())
        _RUNTIMES[client] = found
    return found


def _run_delay_s(pids: list[int]) -> float | None:
    """Seconds these host threads have spent runnable but waiting for a CPU (schedstat)."""
    total = 0.0
    seen = False
    for pid in pids:
        try:
            fields = (_PROC / str(pid) / "schedstat").read_text().split()
            total += int(fields[1]) / 1e9
            seen = True
        except (OSError, IndexError, ValueError):
            continue  # it exited meanwhile
    return total if seen else None


class _DockerScratch(Scratch):
    """A tmpfs-backed volume, kept mounted from the run phase until the export.

    Docker's local driver unmounts (and so empties) a tmpfs volume when the last container
    using it stops, so something must hold it while the run writes it and until the export:

    - a container started ahead of need (:meth:`DockerSandbox.ahead` with `hold`: the
      pipeline's check container), which mounts it out of its command's reach; the run
      starts at once and its command waits behind a gate until the holder is up, then ends
      like any command (nothing to freeze, nothing to kill). Two container starts per
      grading, at once: the pipeline's path.
    - else the run itself: the command runs as an exec in a container whose first process
      only sleeps, and when the command ends that container is frozen, not stopped
      (:meth:`DockerSandbox._run_held`); it becomes the holder, removed on close.
    - under other runtimes, a separate sleeping holder started with the area (`_hold`).

    The export reads the area where the engine mounts it when this process can
    (:mod:`grader.sandbox.host_export`), else from the holder through the archive API.
    """

    def __init__(
        self,
        client: docker.DockerClient,
        size_mb: int,
        owner: str,
        holder_image: str | None,
        *,
        local: bool = False,
    ) -> None:
        self.size_mb = size_mb
        self._client = client
        self.holder: Any = None
        self.target = ""  # where the holder mounts it
        # The scratch areas a held container holds (one run may mount several): the last of
        # them to close removes it, then joins its stats reader.
        self.sharing: list[_DockerScratch] = [self]  # those still open
        self.group: list[_DockerScratch] = [self]  # all it was held with
        self.threads: list[threading.Thread] = []
        # Held by a container started ahead of need (DockerSandbox.ahead's `hold`): its start
        # (a thread, and the error it met) must be over before a run may write to the area,
        # and the ahead context, not this area, removes it.
        self.ready: tuple[threading.Thread, list[BaseException]] | None = None
        # The engine runs on this machine: the export may read the area where the engine
        # mounts it (host_export) instead of through the archive API.
        self.local = local
        tag = uuid.uuid4().hex[:12]
        self.volume_name = f"assess-scratch-{tag}"
        with span("scratch.volume"):
            self.volume = client.volumes.create(
                name=self.volume_name,
                driver="local",
                driver_opts={
                    "type": "tmpfs",
                    "device": "tmpfs",
                    "o": f"size={size_mb}m,uid=1000,gid=1000,mode=0755,nosuid,nodev,noexec",
                },
                labels={LABEL: "scratch", OWNER_LABEL: owner},
            )
        self._holder_image, self._owner, self._tag = holder_image, owner, tag

    def hold_own(self) -> None:
        """Start a sleeping holder of its own, for a run under a runtime other than runc
        that nothing else holds: an export from a paused gVisor container found the area
        empty here (its writes reach the host's tmpfs only when the container stops)."""
        assert self._holder_image is not None and self.holder is None
        image, owner, tag = self._holder_image, self._owner, self._tag
        with span("scratch.holder"):
            self.holder = self._client.containers.run(
                image,
                HOLD_COMMAND,
                name=f"assess-hold-{tag}",
                detach=True,
                init=True,
                user="1000:1000",
                **NO_NETWORK,
                cap_drop=["ALL"],
                security_opt=["no-new-privileges"],
                read_only=True,
                pids_limit=8,
                mem_limit="64m",
                log_config={"type": "none", "config": {}},
                mounts=[DockerMount("/scratch", self.volume_name, type="volume", read_only=True)],
                labels={LABEL: "holder", OWNER_LABEL: owner},
            )
        self.target = "/scratch"

    def export(self, dest: Path, *, max_bytes: int, max_files: int) -> Exported:
        with span("export"):
            return self._export(dest, max_bytes=max_bytes, max_files=max_files)

    def _export(self, dest: Path, *, max_bytes: int, max_files: int) -> Exported:
        dest.mkdir(parents=True, exist_ok=True)
        if self.holder is None:
            return Exported()  # no run mounted it: nothing was written
        if self.ready is not None:
            self._check_held()
        mounted = host_export.readable_mount(self.volume.attrs.get("Mountpoint"))
        if self.local and mounted is not None:
            return host_export.export_mount(mounted, dest, max_bytes=max_bytes, max_files=max_files)
        try:
            stream, _ = self.holder.get_archive(f"{self.target}/.")
        except docker.errors.NotFound:
            return Exported()  # the holder is gone (its sleeper was ended): nothing kept
        raw = io.BufferedReader(_IterStream(stream), buffer_size=1 << 16)
        written: list[str] = []
        total = unsafe = entries = 0
        max_entries = max(1, max_files) * host_export.ENTRIES_PER_FILE
        with tarfile.open(fileobj=raw, mode="r|") as tar:
            for member in tar:
                entries += 1
                if entries > max_entries:  # the same bound as the host path's
                    raise host_export.too_many(max_files, max_bytes)
                name = member.name.removeprefix("./")
                # A second name of a file already copied (a hard link) is a file too, as
                # the host path sees it; symbolic links are never followed.
                first = _hard_link_source(member, written)
                if name in ("", ".") or not (member.isfile() or first is not None):
                    continue  # folders are recreated from file paths
                try:
                    rel = check_member_name(name)
                except IntakeError:
                    unsafe += 1  # counted for the report, never written
                    continue
                size = (dest / first).stat().st_size if first is not None else member.size
                if len(written) >= max_files or total + size > max_bytes:
                    raise host_export.too_many(max_files, max_bytes)
                target = dest.joinpath(*rel.parts)
                target.parent.mkdir(parents=True, exist_ok=True)
                if first is not None:
                    shutil.copyfile(dest / first, target)
                else:
                    src = tar.extractfile(member)
                    if src is None:
                        continue
                    with target.open("wb") as out:
                        while chunk := src.read(1 << 16):
                            out.write(chunk)
                total += size
                written.append(rel.as_posix())
        return Exported(written, unsafe_names=unsafe)

    def _check_held(self) -> None:
        """A holder started ahead is out of the run's reach: if it stopped, the area went
        with it, and an empty export would score the submission on nothing. That is the
        grader's failure (an `error` to re-grade), never the applicant's."""
        try:
            self.holder.reload()
            running = self.holder.attrs["State"].get("Running")
        except docker.errors.NotFound:
            running = False
        except requests.RequestException as e:
            raise _stopped_answering(e) from None
        if not running:
            raise SandboxError("the container that kept the outputs stopped before the export")

    def close(self) -> None:
        """Remove the holder and the volume; a holder shared with scratch areas still open
        stays, and the last of them to close removes it and every one of their volumes.

        Raises:
            SandboxError: the engine stopped answering (e.g. dockerd restarted mid-grade);
                the grading becomes an `error` report, not a crash of the caller.
        """
        try:
            self.sharing.remove(self)
            if self.sharing:
                return  # still held for the others; the last one removes it and this volume
            if self.holder is not None and self.ready is None:
                with span("scratch.remove"):
                    _remove(self.holder)
                for t in self.threads:
                    t.join(timeout=KILL_GRACE_S)
            for scratch in self.group:
                scratch._remove_volume()
        except requests.RequestException as e:
            raise _stopped_answering(e) from None

    def _remove_volume(self) -> None:
        for _ in range(20):
            try:
                self.volume.remove(force=True)
                return
            except docker.errors.NotFound:
                return
            except docker.errors.APIError:
                time.sleep(0.1)  # the engine may still be unmounting it
        # Still in use: a container that mounts it outlived it. Said, never left silently.
        raise SandboxError(f"could not remove volume {self.volume_name}; remove it by hand")


def _hard_link_source(member: tarfile.TarInfo, written: list[str]) -> str | None:
    """The exported file a hard-link member names, if it is one (else None)."""
    if not member.islnk():
        return None
    source = member.linkname.removeprefix("./")
    return source if source in written else None


class _IterStream(io.RawIOBase):
    """Adapts the engine's chunk iterator to a file object for tarfile's stream mode."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._buf = b""

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        while not self._buf:
            try:
                self._buf = next(self._chunks)
            except StopIteration:
                return 0
        n = min(len(b), len(self._buf))
        b[:n] = self._buf[:n]
        self._buf = self._buf[n:]
        return n


class _Launched:
    """A created container with its output being read: what `_finish` runs to the end."""

    def __init__(self, container: Any, label: str, log: BoundedLog) -> None:
        self.container = container
        self.label = label
        self.log = log
        self.sock: Any = None
        self.threads: list[threading.Thread] = []
        self.stats: _StatsReader | None = None

    def remove(self) -> None:
        """Remove the container (which ends its processes), then join the readers."""
        _remove(self.container)
        for t in self.threads:
            t.join(timeout=KILL_GRACE_S)
        if self.stats is not None:
            self.stats.join(timeout=KILL_GRACE_S)


class _DockerAhead(Ahead):
    """A container started ahead of need; its first `run` sends the gate line to it."""

    def __init__(
        self,
        sandbox: DockerSandbox,
        request: RunRequest,
        launched: _Launched,
        starting: threading.Thread,
        errors: list[BaseException],
    ) -> None:
        super().__init__(sandbox, request)
        self._docker = sandbox
        self._launched = launched
        self._starting = (starting, errors)
        self.used = False

    def run(self, env: Mapping[str, str]) -> RunResult:
        if self.used:  # a retry: a fresh container, as for any run
            return super().run(env)
        self.used = True
        request = self.with_env(env)
        line = json.dumps(dict(env))
        return self._docker._finish(request, self._launched, starting=self._starting, gate=line)


class DockerSandbox(Sandbox):
    """Runs each request in a fresh container on the local Docker engine."""

    name = "docker"

    def __init__(
        self,
        client: docker.DockerClient | None = None,
        *,
        runtime: str | None = None,
        slots: threading.Semaphore | None = None,
    ) -> None:
        """`runtime`: an OCI runtime registered with the engine for the runs, e.g. ``runsc``
        (gVisor: a user-space kernel between the submission and the host's). The default is
        the engine's (runc). The scratch holder only sleeps and stays on the default.

        `slots`: shared by sandboxes grading at once, it bounds how many of their commands
        run at once (each holds a slot from its first instruction to its end), so that
        more gradings than that can create, start and remove their containers meanwhile
        while each command still gets the CPUs its limits give it."""
        self.client = client or _client()
        self.owner = uuid.uuid4().hex
        self.runtime = runtime or None
        self.slots = slots
        if self.runtime is not None:
            self.name = f"docker+{self.runtime}"
            known = _runtimes(self.client)
            if self.runtime not in known:
                raise EngineUnavailable(
                    f"the Docker engine has no runtime {self.runtime!r} (it has "
                    f"{', '.join(sorted(known)) or 'none'}); register it in daemon.json"
                )

    def image_id(self, image: str) -> str:
        try:
            return str(self.client.images.get(image).id)
        except docker.errors.ImageNotFound:
            raise SandboxError(f"image {image!r} is not built; run `assess images build`") from None

    @contextlib.contextmanager
    def scratch(self, size_mb: int, *, image: str) -> Iterator[Scratch]:
        # Held by a container started ahead (`ahead`), else by the run that mounts it
        # (runc), else by a sleeping holder of its own (other runtimes: `hold_own`).
        holder = None if self.runtime is None else image
        s = _DockerScratch(self.client, size_mb, self.owner, holder, local=self._local())
        try:
            yield s
        finally:
            s.close()

    def leftovers(self) -> Iterator[str]:
        mine = {"label": f"{OWNER_LABEL}={self.owner}"}
        for c in self.client.containers.list(all=True, filters=mine):
            yield f"container {c.name}"
        for v in self.client.volumes.list(filters=mine):
            yield f"volume {v.name}"

    def _create(
        self,
        req: RunRequest,
        name: str,
        *,
        held: bool = False,
        gated: bool = False,
        hold: tuple[str, ...] = (),
    ) -> Any:
        """`held`: the first process is a sleeper (as root, without capabilities, so the
        command's user cannot signal it) and the command is exec'd into it (`_run_held`).
        `gated`: its standard input stays open for the gate line (`_finish`).
        `hold`: scratch volumes this container keeps mounted, out of its command's reach
        (under a root-only folder, read-only), so that they outlive the run that writes them."""
        lim = req.limits
        mounts = [
            DockerMount(m.target, str(m.source), type="bind", read_only=m.read_only)
            for m in req.mounts
        ]
        for sm in req.scratch:
            assert isinstance(sm.scratch, _DockerScratch)
            mounts.append(
                DockerMount(
                    sm.target, sm.scratch.volume_name, type="volume", read_only=sm.read_only
                )
            )
        tmpfs = {"/tmp": f"rw,nosuid,nodev,size={lim.tmp_mb}m,mode=1777"}
        if hold:
            tmpfs[HOLD_DIR] = "rw,nosuid,nodev,noexec,size=64k,mode=0700"
            for i, volume in enumerate(hold):
                mounts.append(DockerMount(f"{HOLD_DIR}/{i}", volume, type="volume", read_only=True))
        device_requests = [DeviceRequest(count=-1, capabilities=[["gpu"]])] if lim.gpu else None
        mem = f"{lim.memory_mb}m"
        api = self.client.api
        try:
            host_config = api.create_host_config(
                network_mode=NO_NETWORK["network_mode"],
                cap_drop=["ALL"],
                security_opt=["no-new-privileges"],
                read_only=True,
                init=True,
                pids_limit=lim.pids
                + (RUNSC_HOST_THREADS if self.runtime == "runsc" else 0)
                + (HOLD_PIDS if held else 0),
                mem_limit=mem,
                memswap_limit=mem,  # equal to the memory limit: no swap
                nano_cpus=int(lim.cpus * 1e9),
                shm_size="16m",
                tmpfs=tmpfs,
                ulimits=[docker.types.Ulimit(name="core", soft=0, hard=0)],
                mounts=mounts,
                device_requests=device_requests,
                # No logging driver: output is read live through attach, within a bound.
                log_config={"type": "none", "config": {}},
                runtime=self.runtime,
            )
            # The low-level call: the collection's `create` inspects the new container
            # (another round trip) for attributes nothing here reads before a `reload`.
            created = api.create_container(
                req.image,
                HOLD_COMMAND if held else list(req.command),
                name=name,
                user="0:0" if held else req.user,
                working_dir=req.workdir,
                environment=dict(req.env),
                hostname="sandbox",
                network_disabled=NO_NETWORK["network_disabled"],
                labels={LABEL: req.label or "run", OWNER_LABEL: self.owner},
                stdin_open=gated,
                tty=False,
                host_config=host_config,
                # The environment is exactly the request's: no proxy settings from the
                # engine client's configuration (the container has no network anyway).
                use_config_proxy=False,
            )
            return self.client.containers.prepare_model({"Id": created["Id"], "Name": name})
        except docker.errors.ImageNotFound:
            raise SandboxError(
                f"image {req.image!r} is not built; run `assess images build`"
            ) from None
        except docker.errors.APIError as e:
            raise SandboxError(
                f"could not create the {req.label or 'run'} container: {e.explanation}"
            ) from None
        except requests.RequestException as e:
            raise _stopped_answering(e) from None

    def run(self, request: RunRequest) -> RunResult:
        unheld = [
            sm.scratch
            for sm in request.scratch
            if isinstance(sm.scratch, _DockerScratch) and sm.scratch.holder is None
        ]
        if unheld and self.runtime is None:
            return self._run_held(request, unheld)
        for scratch in unheld:
            scratch.hold_own()
        holders = [
            sm.scratch.ready
            for sm in request.scratch
            if isinstance(sm.scratch, _DockerScratch) and sm.scratch.ready is not None
        ]
        if holders:
            # Held by a container still starting: this one starts meanwhile, and its command
            # begins (through a gate) only once every area it writes is held.
            gated = replace(request, command=[*RUN_GATE, *request.command])
            launched = self._launch(gated, gated=True)
            return self._finish(
                request, launched, starting=None, gate="", before_gate=lambda: _ready(holders)
            )
        launched = self._launch(request)
        return self._finish(request, launched, starting=None, gate=None)

    @contextlib.contextmanager
    def ahead(self, request: RunRequest, *, hold: Sequence[Scratch] = ()) -> Iterator[Ahead]:
        """The container is created, attached and started now, in a thread; its command
        waits on its standard input for the gate line (:data:`GATE_ENV`) that `run` sends.
        It also holds the `hold` areas not yet held (see :meth:`Sandbox.ahead`): mounted
        out of its command's reach, they stay mounted while a run writes them, and are
        exported from it. Runs with a scratch area are held runs and are not started ahead."""
        if request.scratch:
            yield Ahead(self, request)
            return
        held = [s for s in hold if isinstance(s, _DockerScratch) and s.holder is None]
        gated = replace(request, env={**request.env, GATE_ENV: "1"})
        launched = self._launch(gated, gated=True, hold=tuple(s.volume_name for s in held))
        errors: list[BaseException] = []

        def start() -> None:
            try:
                with span(f"{launched.label}.start"):
                    launched.container.start()
            except BaseException as e:  # reported by `run`, which joins this thread
                errors.append(e)

        # The thread records its span into this grading's recorder (grader.spans).
        starting = _start(contextvars.copy_context().run, start)
        for i, scratch in enumerate(held):
            scratch.holder, scratch.target = launched.container, f"{HOLD_DIR}/{i}"
            scratch.ready = (starting, errors)
        ready = _DockerAhead(self, request, launched, starting, errors)
        try:
            yield ready
        finally:
            if not ready.used:  # never run: nothing of it stays
                starting.join(timeout=API_TIMEOUT_S)
                launched.remove()

    def _launch(
        self, request: RunRequest, *, gated: bool = False, hold: tuple[str, ...] = ()
    ) -> _Launched:
        """Create the container and attach to its output (before it starts, so that none is
        missed), read in a thread within the log's bound; not started yet."""
        label = request.label or "run"
        name = f"assess-{label}-{uuid.uuid4().hex[:12]}"
        with span(f"{label}.create"):
            container = self._create(request, name, gated=gated, hold=hold)
        launched = _Launched(container, label, BoundedLog(request.limits.log_bytes))
        try:
            with span(f"{label}.attach"):
                params = {"stdout": 1, "stderr": 1, "stream": 1, "stdin": int(gated)}
                launched.sock = self.client.api.attach_socket(container.id, params=params)
            lines = LineFeed(request.on_output) if request.on_output else None
            launched.threads.append(_start(_drain, launched.sock, launched.log, lines))
        except BaseException as e:
            launched.remove()
            if isinstance(e, requests.RequestException):
                lost = f"lost the Docker engine during the {label} phase: {e}"
                raise SandboxError(lost) from None
            raise
        return launched

    def _finish(
        self,
        request: RunRequest,
        launched: _Launched,
        *,
        starting: tuple[threading.Thread, list[BaseException]] | None,
        gate: str | None,
        before_gate: Callable[[], None] | None = None,
    ) -> RunResult:
        """Start the launched container (or wait for its start in `starting`), send the
        `gate` line to a gated command (after `before_gate`), wait for the command within
        its limits (they count from the gate), read its result, and remove the container
        whatever happened."""
        container, label = launched.container, launched.label
        stats: dict[str, float] = {}
        slot = contextlib.ExitStack()  # held while the command runs
        try:
            try:
                if starting is None:
                    if gate is None:  # the command begins with the container
                        slot.enter_context(self._slot(label))
                    with span(f"{label}.start"):
                        container.start()
                else:
                    with span(f"{label}.ready"):  # what is left of the start made ahead
                        _ready([starting])
            except docker.errors.APIError as e:
                raise SandboxError(
                    f"could not start the {label} container: {e.explanation}"
                ) from None
            if before_gate is not None:
                try:
                    with span(f"{label}.holder"):
                        before_gate()
                except docker.errors.APIError as e:
                    raise SandboxError(
                        f"could not start the container that keeps the {label}'s outputs: "
                        f"{e.explanation}"
                    ) from None
            if gate is not None:
                slot.enter_context(self._slot(label))
                _send_line(launched.sock, gate)
            started = time.monotonic()
            launched.stats = _StatsReader(self.client.api, container.id, stats)
            with span(f"{label}.wait"):
                limit = self._wait(container, request, started, launched.stats)
            run_delay = self._run_delay(container) if limit == "wall" else None
            if limit is not None:
                with contextlib.suppress(docker.errors.APIError):
                    container.kill()
                container.wait(timeout=KILL_GRACE_S)
            slot.close()  # the command is over
            wall = time.monotonic() - started
            with span(f"{label}.inspect"):
                launched.threads[0].join(timeout=KILL_GRACE_S)
                info = self.client.api.inspect_container(container.id)
                state = info["State"]
            cpu = stats.get("cpu")
            starved = limit == "wall" and overloaded(
                cpu or 0.0, wall, request.limits.cpus, run_delay
            )
            return RunResult(
                exit_code=None if limit else int(state.get("ExitCode", -1)),
                timed_out=limit is not None,
                oom_killed=bool(state.get("OOMKilled")),
                log=launched.log.text(),
                log_truncated=launched.log.truncated,
                wall_s=wall,
                peak_memory=int(stats["peak"]) if "peak" in stats else None,
                cpu_seconds=cpu,
                limit=limit,
                overloaded=starved,
                # The image the container ran in: no call to inspect the image by its name,
                # and no other image than the one that ran.
                image_id=str(info.get("Image") or "") or None,
            )
        except requests.RequestException as e:
            raise SandboxError(f"lost the Docker engine during the {label} phase: {e}") from None
        finally:
            slot.close()
            with span(f"{label}.remove"):
                launched.remove()

    def _run_held(self, request: RunRequest, scratches: list[_DockerScratch]) -> RunResult:
        """Run the command as an exec in a held container, then freeze the container so its
        scratch volumes stay mounted (and whatever the command left running stops) until
        the export; the scratches remove it on close."""
        label = request.label or "run"
        name = f"assess-{label}-{uuid.uuid4().hex[:12]}"
        with span(f"{label}.create"):
            container = self._create(request, name, held=True)
        log = BoundedLog(request.limits.log_bytes)
        stats: dict[str, float] = {}
        kept = False
        reader: _StatsReader | None = None
        slot = contextlib.ExitStack()  # held while the command runs
        try:
            try:
                with span(f"{label}.start"):
                    container.start()
            except docker.errors.APIError as e:
                raise SandboxError(
                    f"could not start the {label} container: {e.explanation}"
                ) from None
            reader = _StatsReader(self.client.api, container.id, stats)
            api = self.client.api
            slot.enter_context(self._slot(label))
            with span(f"{label}.exec"):
                try:
                    exec_id = api.exec_create(
                        container.id,
                        list(request.command),
                        stdout=True,
                        stderr=True,
                        user=request.user,
                        workdir=request.workdir,
                        environment=dict(request.env),
                    )["Id"]
                    sock = api.exec_start(exec_id, socket=True)
                except docker.errors.APIError as e:
                    raise SandboxError(
                        f"could not start the {label} command: {e.explanation}"
                    ) from None
            started = time.monotonic()
            lines = LineFeed(request.on_output) if request.on_output else None
            drain = _start(_drain, sock, log, lines)
            with span(f"{label}.wait"):
                limit = self._wait_exec(exec_id, drain, request, started, reader)
            run_delay = self._run_delay(container) if limit == "wall" else None
            with span(f"{label}.pause"):
                _freeze(container)  # the command (at a limit) and anything it left
            slot.close()  # the command is over
            wall = time.monotonic() - started
            drain.join(timeout=DRAIN_AFTER_S)
            info = api.exec_inspect(exec_id)
            exit_code = None if limit else info.get("ExitCode")
            cpu = stats.get("cpu")
            peak = int(stats["peak"]) if "peak" in stats else None
            oom = self._oom_killed(container, exit_code, peak, request.limits.memory_mb)
            still_open = list(scratches)  # one list for them all: the last to close removes
            for scratch in scratches:
                scratch.holder = container
                scratch.target = next(sm.target for sm in request.scratch if sm.scratch is scratch)
                scratch.sharing = still_open
                scratch.group = scratches
                scratch.threads = [] if reader.thread is None else [reader.thread]
            kept = True
            return RunResult(
                exit_code=None if exit_code is None else int(exit_code),
                timed_out=limit is not None,
                oom_killed=oom,
                log=log.text(),
                log_truncated=log.truncated,
                wall_s=wall,
                peak_memory=peak,
                cpu_seconds=cpu,
                limit=limit,
                overloaded=limit == "wall"
                and overloaded(cpu or 0.0, wall, request.limits.cpus, run_delay),
            )
        except requests.RequestException as e:
            raise SandboxError(f"lost the Docker engine during the {label} phase: {e}") from None
        finally:
            slot.close()
            if not kept:
                with span(f"{label}.remove"):
                    _remove(container)
                    if reader is not None:
                        reader.join(timeout=KILL_GRACE_S)

    def _wait_exec(
        self,
        exec_id: str,
        drain: threading.Thread,
        request: RunRequest,
        started: float,
        stats: _StatsReader,
    ) -> str | None:
        """Wait for an exec'd command to end; the limit that stopped it, or None.

        The output stream closing (the drain thread ending) is the quick signal; the
        engine's word on the process decides (something the command left may hold the
        stream open)."""
        lim = request.limits
        pause = 0.01
        while True:
            left = lim.wall_s - (time.monotonic() - started)
            if left <= 0:
                return "wall"
            if drain.is_alive():
                drain.join(timeout=max(0.005, min(pause, left)))
            else:
                time.sleep(max(0.005, min(pause, left)))
            if not self.client.api.exec_inspect(exec_id).get("Running"):
                return None
            stats.ran_for(time.monotonic() - started)
            if lim.cpu_s is not None and stats.cpu() >= lim.cpu_s:
                return "cpu"
            pause = min(pause * 1.5, POLL_S)

    def _oom_killed(
        self, container: Any, exit_code: int | None, peak: int | None, memory_mb: int
    ) -> bool:
        """Whether the kernel's OOM killer struck in the container.

        The engine records it only for a container's first process, so the memory cgroup's
        own count is read where the engine runs on this machine; elsewhere a SIGKILL that
        nobody here sent, at the memory limit, is taken for it."""
        try:
            container.reload()
            if container.attrs["State"].get("OOMKilled"):
                return True
            pid = int(container.attrs["State"]["Pid"])
        except (docker.errors.APIError, requests.RequestException, KeyError, ValueError):
            pid = 0
        kills = _oom_kills(pid) if pid > 0 and self._local() else None
        if kills is not None:
            return kills > 0
        return exit_code == 137 and peak is not None and peak >= 0.9 * memory_mb * 1024 * 1024

    @contextlib.contextmanager
    def _slot(self, label: str) -> Iterator[None]:
        """One of the shared command slots (see `slots`), for as long as the block runs."""
        if self.slots is None:
            yield
            return
        with span(f"{label}.slot"):
            self.slots.acquire()
        try:
            yield
        finally:
            self.slots.release()

    def _local(self) -> bool:
        return str(getattr(self.client.api, "base_url", "")).startswith(LOCAL_SOCKET_URL)

    def _wait(
        self, container: Any, request: RunRequest, started: float, stats: _StatsReader
    ) -> str | None:
        """Wait for the command to end; the limit that stopped it ("cpu" | "wall"), or None."""
        lim = request.limits
        while True:
            left = lim.wall_s - (time.monotonic() - started)
            if left <= 0:
                return "wall"
            try:
                container.wait(timeout=max(0.05, min(POLL_S, left)))
                return None
            except requests.exceptions.ReadTimeout:
                pass
            except requests.exceptions.ConnectionError as e:
                # The SDK reports a read timeout on a unix socket as a ConnectionError.
                if "timed out" not in str(e).lower():
                    raise
            stats.ran_for(time.monotonic() - started)
            if lim.cpu_s is not None and stats.cpu() >= lim.cpu_s:
                return "cpu"

    def _run_delay(self, container: Any) -> float | None:
        """Run-queue wait of the container's threads, when the engine is on this machine.

        The threads are read from the container's cgroup, not from `docker top`: under a
        user-space kernel (gVisor) the pids `top` reports are the guest's, not the host's,
        and every runtime's host threads (gVisor's sentry included) live in that cgroup."""
        if not self._local():
            return None
        try:
            container.reload()
            pid = int(container.attrs["State"]["Pid"])
        except (docker.errors.APIError, requests.RequestException, KeyError, ValueError):
            return None
        tids = _cgroup_threads(pid) if pid > 0 else None
        return _run_delay_s(tids) if tids else None


def _freeze(container: Any, attempts: int = 5) -> bool:
    """Pause the container (the cgroup freezer); whether it froze.

    A process held back by its CPU quota can outlast the runtime's own wait for the freeze,
    so it is asked again a few times. If it never freezes, the export reads a live scratch
    area (the command's outputs may still change: they are untrusted data either way) and
    removal ends it."""
    for attempt in range(attempts):
        try:
            container.pause()
            return True
        except docker.errors.APIError:
            time.sleep(0.05 * (attempt + 1))
    return False


def _cgroup_files(pid: int, controller: str, v1: tuple[str, ...], v2: str) -> list[Path]:
    """Where a file of process `pid`'s cgroup lies: under each of the v1 mounts given for
    `controller` (named `v1[0]` onwards; the last item is the file) or in the v2 hierarchy."""
    try:
        lines = (_PROC / str(pid) / "cgroup").read_text().splitlines()
    except OSError:
        return []
    *mounts, v1_file = v1
    found: list[Path] = []
    for line in lines:
        _, controllers, path = line.split(":", 2)
        rel = path.lstrip("/")
        if controller in controllers.split(","):
            found += [_CGROUP / mount / rel / v1_file for mount in mounts]
        elif controllers == "" and rel:
            found.append(_CGROUP / rel / v2)
    return found


def _oom_kills(pid: int) -> int | None:
    """OOM kills in the memory cgroup of process `pid` (v1 memory.oom_control, v2
    memory.events); None where neither is readable."""
    for file in _cgroup_files(pid, "memory", ("memory", "memory.oom_control"), "memory.events"):
        try:
            for row in file.read_text().splitlines():
                key, _, value = row.partition(" ")
                if key == "oom_kill":
                    return int(value)
        except (OSError, ValueError):
            continue
    return None


def _cgroup_threads(pid: int) -> list[int] | None:
    """Host thread ids in the cgroup of process `pid` (v1: the cpu hierarchy's tasks, v2:
    the unified hierarchy's threads)."""
    v1 = ("cpu", "cpu,cpuacct", "cpuacct,cpu", "tasks")
    for file in _cgroup_files(pid, "cpu", v1, "cgroup.threads"):
        try:
            return [int(t) for t in file.read_text().split()]
        except (OSError, ValueError):
            continue
    return None


def _start(target: Any, *args: Any) -> threading.Thread:
    t = threading.Thread(target=target, args=args, daemon=True)
    t.start()
    return t


def _ready(starts: list[tuple[threading.Thread, list[BaseException]]]) -> None:
    """Wait for containers started in threads; raise the first error one of them met."""
    for thread, errors in starts:
        thread.join()
        if errors:
            raise errors[0]


def _send_line(sock: Any, line: str) -> None:
    """Write one line to a container's standard input through its attach socket."""
    real = getattr(sock, "_sock", sock)  # on a unix socket the SDK hands back a SocketIO
    with contextlib.suppress(OSError):  # the command already ended: its result says so
        real.sendall(line.encode("utf-8") + b"\n")


def _drain(sock: Any, log: BoundedLog, lines: LineFeed | None = None) -> None:
    """Read the multiplexed attach stream (no tty) into the bounded log, then close it;
    a trusted run's lines also go to its progress callback (a failing one is ignored)."""
    try:
        with contextlib.suppress(Exception):
            for _stream, data in frames_iter(sock, tty=False):
                log.feed(data)
                if lines is not None:
                    with contextlib.suppress(Exception):
                        lines.feed(data)
        if lines is not None:
            with contextlib.suppress(Exception):
                lines.close()
    finally:
        # On a unix socket the SDK hands back a SocketIO wrapping the real socket.
        real = getattr(sock, "_sock", None)
        with contextlib.suppress(Exception):
            sock.close()
        if real is not None:
            with contextlib.suppress(Exception):
                real.close()


class _StatsReader:
    """The engine's stats of one container, read into `out` by a thread started once its
    command has run for :data:`STATS_AFTER_S` (:meth:`ran_for`, from the wait loop)."""

    def __init__(self, api: Any, container_id: str, out: dict[str, float]) -> None:
        self.api, self.container_id, self.out = api, container_id, out
        self.thread: threading.Thread | None = None

    def ran_for(self, seconds: float) -> None:
        if self.thread is None and seconds >= STATS_AFTER_S:
            self.thread = _start(_sample_stats, self.api, self.container_id, self.out)

    def cpu(self) -> float:
        return self.out.get("cpu", 0.0)

    def join(self, timeout: float) -> None:
        if self.thread is not None:
            self.thread.join(timeout=timeout)


def _sample_stats(api: Any, container_id: str, out: dict[str, float]) -> None:
    """Best effort peak memory and CPU time: the engine samples about once a second."""
    url = api._url("/containers/{0}/stats", container_id)
    with contextlib.suppress(Exception), api.get(url, params={"stream": 1}, stream=True) as resp:
        for line in resp.iter_lines():
            if not line:
                continue
            s = json.loads(line)
            mem = s.get("memory_stats") or {}
            peak = mem.get("max_usage") or mem.get("usage")
            if peak:
                out["peak"] = max(out.get("peak", 0.0), float(peak))
            cpu = ((s.get("cpu_stats") or {}).get("cpu_usage") or {}).get("total_usage")
            if cpu:
                out["cpu"] = float(cpu) / 1e9


def _remove(container: Any) -> None:
    for _ in range(3):
        try:
            container.remove(force=True, v=True)
            return
        except docker.errors.NotFound:
            return
        except (docker.errors.APIError, requests.RequestException):
            time.sleep(0.5)
    raise SandboxError(f"could not remove container {container.name}; remove it by hand")
