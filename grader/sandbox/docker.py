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
import io
import json
import tarfile
import threading
import time
import uuid
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import docker.errors
import requests
from docker.types import DeviceRequest
from docker.types import Mount as DockerMount
from docker.utils.socket import frames_iter

from grader.errors import EngineUnavailable, IntakeError, SandboxError
from grader.member_names import check_member_name
from grader.sandbox.base import (
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
_PROC = Path("/proc")
_CGROUP = Path("/sys/fs/cgroup")
# gVisor's own host threads (sentry, gofer) count in the container's pids cgroup: without
# this headroom it cannot start under a small limit. The guest's processes are its tasks.
RUNSC_HOST_THREADS = 96


def _client(timeout: int = API_TIMEOUT_S) -> docker.DockerClient:
    try:
        client = docker.from_env(timeout=timeout)
        client.ping()
    except (docker.errors.DockerException, requests.RequestException) as e:
        raise EngineUnavailable(
            f"no Docker engine answers ({type(e).__name__}); run scripts/ensure-docker.sh"
        ) from None
    return client


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
    """A tmpfs-backed volume, held mounted by a tiny idle container.

    Docker's local driver unmounts (and so empties) a tmpfs volume when the last container
    using it stops; the holder keeps it alive from the run phase until the export.
    """

    def __init__(self, client: docker.DockerClient, size_mb: int, image: str, owner: str) -> None:
        self.size_mb = size_mb
        self._client = client
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
        try:
            with span("scratch.holder"):
                self.holder = client.containers.run(
                    image,
                    ["sleep", "infinity"],
                    name=f"assess-hold-{tag}",
                    detach=True,
                    init=True,
                    user="1000:1000",
                    network_mode="none",
                    cap_drop=["ALL"],
                    security_opt=["no-new-privileges"],
                    read_only=True,
                    pids_limit=8,
                    mem_limit="64m",
                    log_config={"type": "none", "config": {}},
                    mounts=[
                        DockerMount("/scratch", self.volume_name, type="volume", read_only=True)
                    ],
                    labels={LABEL: "holder", OWNER_LABEL: owner},
                )
        except BaseException:
            self.volume.remove(force=True)
            raise

    def export(self, dest: Path, *, max_bytes: int, max_files: int) -> Exported:
        with span("export"):
            return self._export(dest, max_bytes=max_bytes, max_files=max_files)

    def _export(self, dest: Path, *, max_bytes: int, max_files: int) -> Exported:
        dest.mkdir(parents=True, exist_ok=True)
        stream, _ = self.holder.get_archive("/scratch/.")
        raw = io.BufferedReader(_IterStream(stream), buffer_size=1 << 16)
        written: list[str] = []
        total = unsafe = 0
        with tarfile.open(fileobj=raw, mode="r|") as tar:
            for member in tar:
                name = member.name.removeprefix("./")
                if name in ("", ".") or not member.isfile():
                    continue  # folders are recreated from file paths; links are never followed
                try:
                    rel = check_member_name(name)
                except IntakeError:
                    unsafe += 1  # counted for the report, never written
                    continue
                if len(written) >= max_files or total + member.size > max_bytes:
                    raise SandboxError(
                        f"outputs exceed the limit of {max_files} files / {max_bytes} bytes"
                    )
                src = tar.extractfile(member)
                if src is None:
                    continue
                target = dest.joinpath(*rel.parts)
                target.parent.mkdir(parents=True, exist_ok=True)
                with target.open("wb") as out:
                    while chunk := src.read(1 << 16):
                        out.write(chunk)
                total += member.size
                written.append(rel.as_posix())
        return Exported(written, unsafe_names=unsafe)

    def close(self) -> None:
        """Remove the holder and the volume.

        Raises:
            SandboxError: the engine stopped answering (e.g. dockerd restarted mid-grade);
                the grading becomes an `error` report, not a crash of the caller.
        """
        try:
            with span("scratch.remove"), contextlib.suppress(docker.errors.NotFound):
                self.holder.remove(force=True)
            for _ in range(20):
                try:
                    self.volume.remove(force=True)
                    return
                except docker.errors.NotFound:
                    return
                except docker.errors.APIError:
                    time.sleep(0.1)  # the engine may still be unmounting it
        except requests.RequestException as e:
            raise SandboxError(f"the Docker engine stopped answering: {e}") from None


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


class DockerSandbox(Sandbox):
    """Runs each request in a fresh container on the local Docker engine."""

    name = "docker"

    def __init__(
        self, client: docker.DockerClient | None = None, *, runtime: str | None = None
    ) -> None:
        """`runtime`: an OCI runtime registered with the engine for the runs, e.g. ``runsc``
        (gVisor: a user-space kernel between the submission and the host's). The default is
        the engine's (runc). The scratch holder only sleeps and stays on the default."""
        self.client = client or _client()
        self.owner = uuid.uuid4().hex
        self.runtime = runtime or None
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
        s = _DockerScratch(self.client, size_mb, image, self.owner)
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

    def _create(self, req: RunRequest, name: str) -> Any:
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
        device_requests = [DeviceRequest(count=-1, capabilities=[["gpu"]])] if lim.gpu else None
        mem = f"{lim.memory_mb}m"
        try:
            return self.client.containers.create(
                req.image,
                list(req.command),
                name=name,
                user=req.user,
                working_dir=req.workdir,
                environment=dict(req.env),
                hostname="sandbox",
                network_mode="none",
                cap_drop=["ALL"],
                security_opt=["no-new-privileges"],
                read_only=True,
                init=True,
                pids_limit=lim.pids + (RUNSC_HOST_THREADS if self.runtime == "runsc" else 0),
                mem_limit=mem,
                memswap_limit=mem,  # equal to the memory limit: no swap
                nano_cpus=int(lim.cpus * 1e9),
                shm_size="16m",
                tmpfs={"/tmp": f"rw,nosuid,nodev,size={lim.tmp_mb}m,mode=1777"},
                ulimits=[docker.types.Ulimit(name="core", soft=0, hard=0)],
                mounts=mounts,
                device_requests=device_requests,
                # No logging driver: output is read live through attach, within a bound.
                log_config={"type": "none", "config": {}},
                labels={LABEL: req.label or "run", OWNER_LABEL: self.owner},
                stdin_open=False,
                tty=False,
                runtime=self.runtime,
            )
        except docker.errors.ImageNotFound:
            raise SandboxError(
                f"image {req.image!r} is not built; run `assess images build`"
            ) from None
        except docker.errors.APIError as e:
            raise SandboxError(
                f"could not create the {req.label or 'run'} container: {e.explanation}"
            ) from None
        except requests.RequestException as e:
            raise SandboxError(f"the Docker engine stopped answering: {e}") from None

    def run(self, request: RunRequest) -> RunResult:
        label = request.label or "run"
        name = f"assess-{label}-{uuid.uuid4().hex[:12]}"
        with span(f"{label}.create"):
            container = self._create(request, name)
        log = BoundedLog(request.limits.log_bytes)
        stats: dict[str, float] = {}
        threads: list[threading.Thread] = []
        try:
            # Attach before start so no output is missed; read in a thread, within bounds.
            with span(f"{label}.attach"):
                sock = self.client.api.attach_socket(
                    container.id, params={"stdout": 1, "stderr": 1, "stream": 1}
                )
            lines = LineFeed(request.on_output) if request.on_output else None
            threads.append(_start(_drain, sock, log, lines))
            started = time.monotonic()
            try:
                with span(f"{label}.start"):
                    container.start()
            except docker.errors.APIError as e:
                raise SandboxError(
                    f"could not start the {request.label or 'run'} container: {e.explanation}"
                ) from None
            threads.append(_start(_sample_stats, self.client.api, container.id, stats))
            with span(f"{label}.wait"):
                limit = self._wait(container, request, started, stats)
            run_delay = self._run_delay(container) if limit == "wall" else None
            if limit is not None:
                with contextlib.suppress(docker.errors.APIError):
                    container.kill()
                container.wait(timeout=KILL_GRACE_S)
            wall = time.monotonic() - started
            with span(f"{label}.inspect"):
                threads[0].join(timeout=KILL_GRACE_S)
                state = self.client.api.inspect_container(container.id)["State"]
            cpu = stats.get("cpu")
            starved = limit == "wall" and overloaded(
                cpu or 0.0, wall, request.limits.cpus, run_delay
            )
            return RunResult(
                exit_code=None if limit else int(state.get("ExitCode", -1)),
                timed_out=limit is not None,
                oom_killed=bool(state.get("OOMKilled")),
                log=log.text(),
                log_truncated=log.truncated,
                wall_s=wall,
                peak_memory=int(stats["peak"]) if "peak" in stats else None,
                cpu_seconds=cpu,
                limit=limit,
                overloaded=starved,
            )
        except requests.RequestException as e:
            label = request.label or "run"
            raise SandboxError(f"lost the Docker engine during the {label} phase: {e}") from None
        finally:
            with span(f"{label}.remove"):
                _remove(container)
                for t in threads:
                    t.join(timeout=KILL_GRACE_S)

    def _wait(
        self, container: Any, request: RunRequest, started: float, stats: dict[str, float]
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
            if lim.cpu_s is not None and stats.get("cpu", 0.0) >= lim.cpu_s:
                return "cpu"

    def _run_delay(self, container: Any) -> float | None:
        """Run-queue wait of the container's threads, when the engine is on this machine.

        The threads are read from the container's cgroup, not from `docker top`: under a
        user-space kernel (gVisor) the pids `top` reports are the guest's, not the host's,
        and every runtime's host threads (gVisor's sentry included) live in that cgroup."""
        if not str(getattr(self.client.api, "base_url", "")).startswith("http+docker://"):
            return None
        try:
            container.reload()
            pid = int(container.attrs["State"]["Pid"])
        except (docker.errors.APIError, requests.RequestException, KeyError, ValueError):
            return None
        tids = _cgroup_threads(pid) if pid > 0 else None
        return _run_delay_s(tids) if tids else None


def _cgroup_threads(pid: int) -> list[int] | None:
    """Host thread ids in the cgroup of process `pid` (cgroup v1 cpu controller, or v2)."""
    try:
        lines = (_PROC / str(pid) / "cgroup").read_text().splitlines()
    except OSError:
        return None
    candidates: list[Path] = []
    for line in lines:
        _, controllers, path = line.split(":", 2)
        rel = path.lstrip("/")
        if "cpu" in controllers.split(","):  # v1: the cpu hierarchy's tasks (thread ids)
            for mount in ("cpu", "cpu,cpuacct", "cpuacct,cpu"):
                candidates.append(_CGROUP / mount / rel / "tasks")
        elif controllers == "" and rel:  # v2: the unified hierarchy
            candidates.append(_CGROUP / rel / "cgroup.threads")
    for file in candidates:
        try:
            return [int(t) for t in file.read_text().split()]
        except (OSError, ValueError):
            continue
    return None


def _start(target: Any, *args: Any) -> threading.Thread:
    t = threading.Thread(target=target, args=args, daemon=True)
    t.start()
    return t


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
