"""The sandbox's promises, one suite for every backend, against the real engine.

In the manner of inspect_ai's sandbox self-check: each test runs real containers and checks
one promise from docs/security.md (isolation, limits, bounded output, scratch export,
nothing left behind). A backend is proven by passing this suite unchanged; a new one is
added to BACKENDS. Today: Docker with the engine's default runtime (runc), and Docker with
gVisor's ``runsc`` (a user-space kernel) where the engine has it registered
(scripts/ensure-docker.sh does so on Debian).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import replace
from pathlib import Path

import pytest

from grader.errors import SandboxError
from grader.images import image_ref
from grader.sandbox import (
    Ahead,
    Limits,
    Mount,
    RunRequest,
    RunResult,
    Sandbox,
    Scratch,
    ScratchMount,
    docker_sandbox,
)

pytestmark = pytest.mark.docker
IMAGE = image_ref("cpu")

# Backend name -> how to build it. The default backend must run everywhere the suite runs
# (the session fixture fails under CI without it); others skip, with the reason, on an
# engine that lacks them.
BACKENDS = {"docker": None, "docker+runsc": "runsc"}


class WithScratch(Sandbox):
    """Every run with a scratch area mounted (at /held-output), exported after it: the run
    phase's shape, which the Docker backend runs differently (the command exec'd into a held
    container, frozen afterwards until the export). Each promise must hold both ways."""

    def __init__(self, inner: Sandbox) -> None:
        self.inner = inner
        self.name = inner.name
        self.exported: list[str] = []

    def run(self, request: RunRequest) -> RunResult:
        with (
            self.inner.scratch(4, image=request.image) as scratch,
            self.holding(scratch, request.image),
        ):
            extra = ScratchMount(scratch, "/held-output")
            held = replace(request, scratch=[*request.scratch, extra])
            result = self.inner.run(held)
            with tempfile.TemporaryDirectory() as out:
                self.exported = list(scratch.export(Path(out), max_bytes=4 << 20, max_files=50))
        return result

    def holding(self, scratch: Scratch, image: str) -> AbstractContextManager[object]:
        """What else keeps the area while the run writes it: nothing here (the run holds it)."""
        return contextlib.nullcontext()

    def scratch(self, size_mb: int, *, image: str) -> AbstractContextManager[Scratch]:
        return self.inner.scratch(size_mb, image=image)

    def ahead(
        self, request: RunRequest, *, hold: Sequence[Scratch] = ()
    ) -> AbstractContextManager[Ahead]:
        return self.inner.ahead(request, hold=hold)

    def image_id(self, image: str) -> str:
        return self.inner.image_id(image)

    def leftovers(self) -> Iterator[str]:
        return self.inner.leftovers()


class WithAheadHolder(WithScratch):
    """Every run with a scratch area held by a container started ahead of need (as the
    pipeline's check container holds the run phase's area): the run starts at once and its
    command waits, behind a gate, until the holder is up."""

    def holding(self, scratch: Scratch, image: str) -> AbstractContextManager[object]:
        gated = RunRequest(image=image, command=["python", "-c", "import sys; sys.stdin.read()"])
        return self.inner.ahead(gated, hold=[scratch])


HOLDING = {"plain": None, "held": WithScratch, "ahead-held": WithAheadHolder}


@pytest.fixture(scope="module", params=[(b, held) for b in BACKENDS for held in HOLDING], ids=str)
def sandbox(request: pytest.FixtureRequest, sandbox: Sandbox) -> Sandbox:
    """Each backend in turn: plain, with a scratch area on every run that the run holds,
    and with one that a container started ahead holds (overrides tests/conftest.py's
    default backend, which it takes)."""
    name, held = request.param
    runtime = BACKENDS[name]
    backend = sandbox
    if runtime is not None:
        try:
            backend = docker_sandbox(runtime)
        except SandboxError as e:
            pytest.skip(f"backend {name} unavailable: {e}")
    assert backend.name == name
    wrapper = HOLDING[held]
    return wrapper(backend) if wrapper else backend


def holding(sandbox: Sandbox, scratch: Scratch) -> AbstractContextManager[object]:
    """The variant's holder for a test's own scratch area (none for the plain variant)."""
    if isinstance(sandbox, WithScratch):
        return sandbox.holding(scratch, IMAGE)
    return contextlib.nullcontext()


def run(sandbox: Sandbox, code: str, **limits: float) -> tuple[int | None, str]:
    lim = Limits(**limits)  # type: ignore[arg-type]
    r = sandbox.run(RunRequest(image=IMAGE, command=["python", "-c", code], limits=lim))
    return r.exit_code, r.log


def test_runs_as_unprivileged_user_without_capabilities(sandbox: Sandbox) -> None:
    code, log = run(
        sandbox,
        "import os\n"
        "print('uid', os.getuid(), os.getgid())\n"
        "s = open('/proc/self/status').read()\n"
        "print([l for l in s.splitlines() if l.startswith(('CapEff', 'CapBnd'))])\n"
        "import ctypes\n"  # prctl(PR_GET_NO_NEW_PRIVS): every kernel answers, not every procfs
        "print('no_new_privs', ctypes.CDLL(None).prctl(39, 0, 0, 0, 0))",
    )
    assert code == 0, log
    assert "uid 1000 1000" in log
    assert "CapEff:\\t0000000000000000" in log
    assert "CapBnd:\\t0000000000000000" in log
    assert "no_new_privs 1" in log


def test_root_filesystem_is_read_only(sandbox: Sandbox) -> None:
    code, log = run(
        sandbox,
        "import errno\n"
        "for p in ['/etc/x', '/usr/x', '/opt/venv/x', '/x']:\n"
        "    try:\n"
        "        open(p, 'w')\n"
        "        print('WROTE', p)\n"
        "    except OSError as e:\n"
        "        print('denied', p, errno.errorcode[e.errno])\n",
    )
    assert code == 0, log
    assert "WROTE" not in log
    assert log.count("denied") == 4


def test_no_network_at_all(sandbox: Sandbox) -> None:
    code, log = run(
        sandbox,
        "import socket\n"
        "print(sorted(l.split(':')[0].strip() for l in open('/proc/net/dev').readlines()[2:]))\n"
        "for host in [('1.1.1.1', 53), ('172.17.0.1', 2375), ('169.254.169.254', 80)]:\n"
        "    try:\n"
        "        socket.create_connection(host, timeout=2)\n"
        "        print('CONNECTED', host)\n"
        "    except OSError as e:\n"
        "        print('blocked', host, e)\n"
        "try:\n"
        "    socket.getaddrinfo('pypi.org', 443)\n"
        "    print('RESOLVED')\n"
        "except OSError as e:\n"
        "    print('no dns', e)\n",
    )
    assert code == 0, log
    assert "['lo']" in log
    assert "CONNECTED" not in log and "RESOLVED" not in log
    assert log.count("blocked") == 3


def test_docker_socket_not_reachable(sandbox: Sandbox) -> None:
    code, log = run(sandbox, "import os; print(os.path.exists('/var/run/docker.sock'))")
    assert code == 0 and log.strip() == "False"


def test_tmp_is_size_capped(sandbox: Sandbox) -> None:
    code, log = run(
        sandbox,
        "n = 0\n"
        "try:\n"
        "    with open('/tmp/fill', 'wb') as f:\n"
        "        while True:\n"
        "            f.write(b'0' * 1048576); f.flush(); n += 1\n"
        "except OSError as e:\n"
        "    print('stopped at', n, 'MB:', e.strerror)\n",
        tmp_mb=8,
        memory_mb=256,
    )
    assert code == 0, log
    assert "No space left on device" in log
    assert int(log.split("stopped at")[1].split()[0]) <= 8


def test_wall_clock_limit_kills_and_reports(sandbox: Sandbox) -> None:
    t = time.monotonic()
    r = sandbox.run(
        RunRequest(
            image=IMAGE, command=["python", "-c", "while True: pass"], limits=Limits(wall_s=2)
        )
    )
    assert r.timed_out and r.exit_code is None
    assert time.monotonic() - t < 20


def test_cpu_budget_stops_a_spinner_before_the_wall_clock(sandbox: Sandbox) -> None:
    r = sandbox.run(
        RunRequest(
            image=IMAGE,
            command=["python", "-c", "while True: pass"],
            limits=Limits(cpu_s=3, wall_s=120),
        )
    )
    assert r.timed_out and r.exit_code is None and r.limit == "cpu", r
    assert r.cpu_seconds is not None and 3 <= r.cpu_seconds < 8, r.cpu_seconds
    assert r.wall_s < 60 and not r.overloaded


def test_a_sleeper_meets_the_wall_clock_backstop_and_is_charged(sandbox: Sandbox) -> None:
    """Waiting is the command's choice: it is charged even on a busy machine."""
    r = sandbox.run(
        RunRequest(
            image=IMAGE,
            command=["sleep", "600"],
            limits=Limits(cpu_s=60, wall_s=4),
        )
    )
    assert r.timed_out and r.limit == "wall" and (r.cpu_seconds or 0.0) < 1.0, r
    assert not r.overloaded, "a sleeper was judged starved"


def test_a_starved_command_is_overloaded_not_timed_out(sandbox: Sandbox) -> None:
    """Seven other busy containers share two cores with it: it gets about 2/8 of a core, so
    the wall clock runs out while it had no CPU to use, and the result says so."""
    from concurrent.futures import ThreadPoolExecutor

    spin = [
        "python",
        "-c",
        "import os\nfor _ in range(os.cpu_count() - 1): os.fork()\nwhile 1: pass",
    ]
    hogs = max(7, 4 * (os.cpu_count() or 1) - 1)
    # The hogs run plain (a scratch area each would only delay their start past the sleep);
    # the starved command runs in the variant under test.
    plain = sandbox.inner if isinstance(sandbox, WithScratch) else sandbox
    with ThreadPoolExecutor(max_workers=hogs + 1) as pool:
        busy = [
            pool.submit(
                plain.run,
                RunRequest(image=IMAGE, command=spin, limits=Limits(cpus=2, wall_s=14)),
            )
            for _ in range(hogs)
        ]
        time.sleep(4)  # the hogs are running
        r = sandbox.run(
            RunRequest(
                image=IMAGE,
                command=["python", "-c", "while True: pass"],
                limits=Limits(cpu_s=60, wall_s=6),
            )
        )
        for f in busy:
            f.result()
    assert r.timed_out and r.limit == "wall", r
    assert r.overloaded, f"got {r.cpu_seconds} CPU-s in {r.wall_s:.1f} s and was not judged starved"


def test_overload_judgement() -> None:
    from grader.sandbox.base import overloaded

    assert overloaded(cpu_s=1.0, wall_s=10.0, cpus=1.0, run_delay_s=8.5)  # starved
    assert not overloaded(cpu_s=0.1, wall_s=10.0, cpus=1.0, run_delay_s=0.01)  # sleeping
    assert not overloaded(cpu_s=9.5, wall_s=10.0, cpus=1.0, run_delay_s=30.0)  # its own quota
    assert not overloaded(cpu_s=1.0, wall_s=10.0, cpus=1.0, run_delay_s=None)  # remote engine


def test_a_command_that_runs_a_while_reports_its_peak_memory_and_cpu(sandbox: Sandbox) -> None:
    # Stats are read once a command has run for a while (the engine samples about once a
    # second); a command of a few seconds gets them.
    code = (
        "import time; b = bytearray(64 << 20); t = time.process_time()\n"
        "while time.process_time() - t < 2.5: pass"
    )
    r = sandbox.run(
        RunRequest(
            image=IMAGE, command=["python", "-c", code], limits=Limits(memory_mb=256, wall_s=30)
        )
    )
    assert r.exit_code == 0, r.log
    assert r.peak_memory is not None and r.peak_memory >= 64 << 20, r.peak_memory
    assert r.cpu_seconds is not None and r.cpu_seconds >= 0.5, r.cpu_seconds


def test_memory_limit_ooms(sandbox: Sandbox) -> None:
    r = sandbox.run(
        RunRequest(
            image=IMAGE,
            command=["python", "-c", "b = bytearray(600 * 1024 * 1024); print('ALLOCATED')"],
            limits=Limits(memory_mb=128, wall_s=60),
        )
    )
    assert "ALLOCATED" not in r.log
    assert r.oom_killed or r.exit_code != 0
    assert r.oom_killed, f"expected an OOM kill, got exit {r.exit_code}: {r.log[-300:]}"


def test_pids_limit_contains_a_fork_bomb(sandbox: Sandbox) -> None:
    t = time.monotonic()
    r = sandbox.run(
        RunRequest(
            image=IMAGE,
            command=[
                "python",
                "-c",
                "import os\nn = 0\nwhile True:\n    try:\n        os.fork(); n += 1\n"
                "    except OSError:\n        pass\n",
            ],
            limits=Limits(pids=32, wall_s=4),
        )
    )
    # Contained: the run ends by its limit (runc: forks fail until the wall clock) or the
    # backend stops it (gVisor: its kernel dies at the limit), never with success, and
    # nothing of it is left on the host.
    assert r.timed_out or (r.exit_code not in (None, 0)), r
    assert time.monotonic() - t < 30
    ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True, check=True)
    assert "os.fork(); n += 1" not in ps.stdout


def test_output_flood_is_bounded_and_marked(sandbox: Sandbox) -> None:
    r = sandbox.run(
        RunRequest(
            image=IMAGE,
            command=["python", "-c", "import sys\nwhile True: sys.stdout.write('y' * 65536)"],
            limits=Limits(wall_s=3, log_bytes=4096),
        )
    )
    assert r.timed_out and r.log_truncated
    assert "dropped by the grader" in r.log
    assert len(r.log) < 4096 + 200


def test_background_processes_do_not_survive(sandbox: Sandbox) -> None:
    marker = "assess-bg-marker-7781"
    t = time.monotonic()
    r = sandbox.run(
        RunRequest(
            image=IMAGE,
            command=[
                "python",
                "-c",
                "import subprocess, os\n"
                f"subprocess.Popen(['sleep', '1000', '{marker}'], start_new_session=True)\n"
                "if os.fork() == 0:\n"
                "    os.setsid()\n"
                "    if os.fork() == 0:\n"
                f"        os.execvp('sleep', ['sleep', '999', '{marker}'])\n"
                "    os._exit(0)\n"
                "print('parent done')\n",
            ],
            limits=Limits(wall_s=30),
        )
    )
    assert r.exit_code == 0 and not r.timed_out, r.log
    assert time.monotonic() - t < 15, "the run must end when the main process ends"
    ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True, check=True)
    assert marker not in ps.stdout


def test_mounts_are_read_only_unless_asked(sandbox: Sandbox, tmp_path: Path) -> None:
    ro = tmp_path / "ro"
    ro.mkdir()
    (ro / "f.txt").write_text("data")
    ro.chmod(0o777)
    r = sandbox.run(
        RunRequest(
            image=IMAGE,
            command=["python", "-c", "print(open('/in/f.txt').read()); open('/in/g', 'w')"],
            mounts=[Mount(ro, "/in")],
        )
    )
    assert "data" in r.log and "Read-only file system" in r.log
    assert not (ro / "g").exists()


def test_scratch_export_counts_the_files_it_skips_for_unsafe_names(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """Names with a newline, ESC or a bidi override are never written, but counted."""
    with sandbox.scratch(4, image=IMAGE) as scratch, holding(sandbox, scratch):
        sandbox.run(
            RunRequest(
                image=IMAGE,
                command=[
                    "python",
                    "-c",
                    "import os\n"
                    "for name in ('ok.json', 'a\\nb.json', 'esc\\x1b[31m.json', "
                    "'rlo\\u202egnp.json', '<img src=x onerror=alert(1)>.json'):\n"
                    "    open('/output/' + name, 'w').write('{}')\n"
                    "os.makedirs('/output/d\\x07ir')\n"
                    "open('/output/d\\x07ir/inner.json', 'w').write('{}')\n",
                ],
                scratch=[ScratchMount(scratch, "/output")],
            )
        )
        files = scratch.export(tmp_path / "out", max_bytes=1 << 20, max_files=10)
    assert files == [
        "<img src=x onerror=alert(1)>.json",
        "ok.json",
    ]  # markup is a legal name, shown escaped
    assert files.unsafe_names == 4
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == list(files)


def test_scratch_export_is_bounded_and_skips_links(sandbox: Sandbox, tmp_path: Path) -> None:
    with sandbox.scratch(4, image=IMAGE) as scratch, holding(sandbox, scratch):
        r = sandbox.run(
            RunRequest(
                image=IMAGE,
                command=[
                    "python",
                    "-c",
                    "import os\n"
                    "open('/output/a.json', 'w').write('{}')\n"
                    "os.makedirs('/output/sub')\n"
                    "open('/output/sub/b.txt', 'w').write('b')\n"
                    "os.symlink('/etc/passwd', '/output/passwd')\n"
                    "try:\n"
                    "    open('/output/big', 'wb').write(b'0' * (8 * 1024 * 1024))\n"
                    "except OSError as e:\n"
                    "    print('capped:', e.strerror)\n",
                ],
                scratch=[ScratchMount(scratch, "/output")],
            )
        )
        assert "capped: No space left on device" in r.log, r.log
        files = scratch.export(tmp_path / "out", max_bytes=10 * 1024 * 1024, max_files=10)
    assert "a.json" in files and "sub/b.txt" in files
    assert "passwd" not in files
    assert not (tmp_path / "out" / "passwd").exists()


def test_a_whole_grading_scores_the_same_and_names_its_backend(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """Both phases, scratch export included, give the reference full marks on each backend."""
    from grader.pipeline import grade
    from grader.task import load_task
    from tests.conftest import FIXTURE_TASKS

    task = load_task(FIXTURE_TASKS / "py-exec")
    report = grade(task, task.solution, sandbox=sandbox, artifacts_dir=tmp_path / "art")
    assert report.score == report.max_score == 10, report.explanation
    assert report.provenance is not None and report.provenance.sandbox == sandbox.name


def _run_with_outputs(
    sandbox: Sandbox, code: str, *, wall_s: float, out: Path
) -> tuple[RunResult, list[str]]:
    """Run `code` with a scratch area at /output, as the run phase does; export it to `out`."""
    with sandbox.scratch(4, image=IMAGE) as scratch, holding(sandbox, scratch):
        r = sandbox.run(
            RunRequest(
                image=IMAGE,
                command=["python", "-c", code],
                limits=Limits(wall_s=wall_s),
                scratch=[ScratchMount(scratch, "/output")],
            )
        )
        return r, list(scratch.export(out, max_bytes=1 << 20, max_files=10))


def test_the_command_cannot_end_what_keeps_its_outputs(sandbox: Sandbox, tmp_path: Path) -> None:
    """The run phase's outputs outlive the command: it cannot signal what holds the scratch
    area (every process it can see of another user refuses), so a command that tries to end
    everything still has its outputs exported."""
    code = (
        "import os, signal\n"
        "open('/output/kept.txt', 'w').write('kept')\n"
        "refused = 0\n"
        "for pid in [int(p) for p in os.listdir('/proc') if p.isdigit()]:\n"
        "    if pid == os.getpid():\n"
        "        continue\n"
        "    try:\n"
        "        os.kill(pid, signal.SIGKILL)\n"
        "    except PermissionError:\n"
        "        refused += 1\n"
        "    except ProcessLookupError:\n"
        "        pass\n"
        "print('refused', refused)\n"
    )
    r, files = _run_with_outputs(sandbox, code, wall_s=30, out=tmp_path / "out")
    # How the command ends is its own affair (under gVisor it can end its own init);
    # what it wrote before is kept.
    assert r.exit_code is not None and not r.timed_out, r
    assert files == ["kept.txt"] and (tmp_path / "out" / "kept.txt").read_text() == "kept"


def test_outputs_written_before_a_time_limit_are_exported(sandbox: Sandbox, tmp_path: Path) -> None:
    code = (
        "import time\n"
        "open('/output/partial.json', 'w').write('{\"step\": 1}')\n"
        "while True:\n    pass\n"
    )
    r, files = _run_with_outputs(sandbox, code, wall_s=3, out=tmp_path / "out")
    assert r.timed_out and r.exit_code is None
    assert files == ["partial.json"]
    assert list(sandbox.leftovers()) == []  # the held container went with the scratch area


# Outputs written to trip an export: a FIFO (a reader that opens it waits for ever), links
# to a host file and to a folder, a link loop, a file nested deeper than any valid name, a
# hard link, a name with an escape sequence, and ordinary files beside them.
HOSTILE_OUTPUTS = (
    "import os\n"
    "os.chdir('/output')\n"
    "open('a.json', 'w').write('{}')\n"
    "os.makedirs('sub/inner')\n"
    "open('sub/inner/b.txt', 'w').write('b' * 1000)\n"
    "os.link('a.json', 'same-inode.json')\n"
    "os.mkfifo('pipe')\n"
    "os.symlink('/etc/passwd', 'passwd')\n"
    "os.symlink('/etc', 'etc-dir')\n"
    "os.symlink('loop', 'loop')\n"
    "deep = '/'.join(['d'] * 40)\n"
    "os.makedirs(deep)\n"
    "open(deep + '/deep.txt', 'w').write('deep')\n"
    "open('esc\\x1b[2J.txt', 'w').write('x')\n"
    "print('written')\n"
)


@pytest.mark.parametrize("path", ["host", "archive"])
def test_both_export_paths_copy_the_same_files_of_hostile_outputs(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, path: str
) -> None:
    """The host path (the area read where the engine mounts it, when this process can) and
    the engine's archive API keep the same promises: regular files only, links and FIFOs
    never followed or waited on, unsafe names counted, nothing written outside `dest`."""
    from grader.sandbox import host_export

    if path == "archive":
        monkeypatch.setattr(host_export, "readable_mount", lambda _mountpoint: None)
    out = tmp_path / "out"
    with sandbox.scratch(4, image=IMAGE) as scratch, holding(sandbox, scratch):
        r = sandbox.run(
            RunRequest(
                image=IMAGE,
                command=["python", "-c", HOSTILE_OUTPUTS],
                scratch=[ScratchMount(scratch, "/output")],
            )
        )
        assert "written" in r.log, r.log
        files = scratch.export(out, max_bytes=1 << 20, max_files=10)
    assert files == ["a.json", "same-inode.json", "sub/inner/b.txt"]
    assert files.unsafe_names == 2  # the escape sequence and the too-deep file
    assert (out / "sub" / "inner" / "b.txt").read_text() == "b" * 1000
    on_disk = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert on_disk == list(files)
    assert not any(p.is_symlink() for p in out.rglob("*"))


@pytest.mark.parametrize("path", ["host", "archive"])
@pytest.mark.parametrize(
    ("code", "limit"),
    [
        ("for i in range(12):\n    open(f'/output/f{i}', 'w').write('x')\n", "files"),
        ("open('/output/big', 'wb').write(b'0' * 300_000)\n", "bytes"),
        ("import os\nfor i in range(300):\n    os.mkdir(f'/output/d{i}')\n", "entries"),
    ],
    ids=["files", "bytes", "entries"],
)
def test_both_export_paths_refuse_outputs_over_the_limits(
    sandbox: Sandbox,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    path: str,
    code: str,
    limit: str,
) -> None:
    """Too many files, too many bytes, or too many entries of any kind (empty folders):
    the export stops with the limit named, on either path."""
    from grader.sandbox import host_export

    if path == "archive":
        monkeypatch.setattr(host_export, "readable_mount", lambda _mountpoint: None)
    with sandbox.scratch(4, image=IMAGE) as scratch, holding(sandbox, scratch):
        sandbox.run(
            RunRequest(
                image=IMAGE,
                command=["python", "-c", code],
                scratch=[ScratchMount(scratch, "/output")],
            )
        )
        with pytest.raises(SandboxError, match="outputs exceed the limit of 10 files"):
            scratch.export(tmp_path / "out", max_bytes=200_000, max_files=10)


def test_the_command_reads_an_empty_stdin(sandbox: Sandbox) -> None:
    """Standard input is empty for every command, however its run was started (a gated run
    reads its gate line first, then gives the command /dev/null)."""
    code, log = run(sandbox, "import sys\nprint('read', repr(sys.stdin.read()))\n", wall_s=30)
    assert code == 0 and "read ''" in log, log


def test_a_holder_started_ahead_cannot_read_the_area_it_holds(sandbox: Sandbox) -> None:
    """The check container that holds the run's scratch area keeps it out of its own
    command's reach (a root-only folder): the check reads only the exported copy."""
    inner = sandbox.inner if isinstance(sandbox, WithScratch) else sandbox
    probe = (
        "import os, sys\n"
        "sys.stdin.readline()\n"
        "for path in ('/.assess-hold', '/.assess-hold/0', '/.assess-hold/0/secret.txt'):\n"
        "    try:\n"
        "        seen = open(path).read() if path.endswith('.txt') else os.listdir(path)\n"
        "        print(path, seen)\n"
        "    except OSError as e:\n"
        "        print(path, 'refused', type(e).__name__)\n"
    )
    with inner.scratch(4, image=IMAGE) as scratch:
        check = RunRequest(image=IMAGE, command=["python", "-c", probe], label="check")
        with inner.ahead(check, hold=[scratch]) as ahead:
            written = inner.run(
                RunRequest(
                    image=IMAGE,
                    command=["python", "-c", "open('/output/secret.txt', 'w').write('s3cret')"],
                    scratch=[ScratchMount(scratch, "/output")],
                )
            )
            assert written.exit_code == 0, written.log
            result = ahead.run({})
    assert result.exit_code == 0, result.log
    assert "s3cret" not in result.log and "secret.txt'" not in result.log, result.log
    assert result.log.count("refused") == 3, result.log
    if inner.name == "docker":  # runc: the holder is this container, the folder is there
        assert "/.assess-hold refused PermissionError" in result.log, result.log


def test_an_export_after_its_holder_stopped_is_the_graders_error(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """If the container that keeps the run's outputs stops before the export (the run cannot
    reach it; an operator or the engine can), the outputs are gone: the export says so as a
    failure of the grader, never as empty outputs the submission would be scored on."""
    from grader.errors import OutputsRejected

    inner = sandbox.inner if isinstance(sandbox, WithScratch) else sandbox
    wait = RunRequest(image=IMAGE, command=["python", "-c", "import sys; sys.stdin.read()"])
    with inner.scratch(4, image=IMAGE) as scratch, inner.ahead(wait, hold=[scratch]):
        holder = getattr(scratch, "holder", None)
        if holder is None:
            pytest.skip(f"{inner.name}: no container started ahead holds the area")
        inner.run(
            RunRequest(
                image=IMAGE,
                command=["python", "-c", "open('/output/kept.json', 'w').write('{}')"],
                scratch=[ScratchMount(scratch, "/output")],
            )
        )
        holder.kill()
        holder.wait(timeout=30)
        with pytest.raises(SandboxError, match="stopped before the export") as raised:
            scratch.export(tmp_path / "out", max_bytes=1 << 20, max_files=10)
        assert not isinstance(raised.value, OutputsRejected)
