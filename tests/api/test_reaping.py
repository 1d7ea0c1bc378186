"""The service's Docker grading cleans up what gradings leave in the engine: at once after a
grading that ended in an error, at most every REAP_EVERY_S after gradings that ended well,
and after any grading when the last look could not finish."""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace

import docker.errors
import pytest
import requests
from docker.models.containers import ContainerCollection

from api import services as services_module
from api.services import DockerGrading
from grader.images import image_ref
from grader.report import Status
from grader.sandbox import Sandbox
from grader.sandbox.docker import LABEL, NO_NETWORK, OWNER_LABEL, DockerSandbox
from grader.task import load_task
from tests.api.conftest import PY_EXEC

pytestmark = pytest.mark.docker

# Above any pid_max Linux allows (2**22): a process that cannot be alive.
DEAD_PID = 2**22 + 1


@pytest.fixture
def leave(sandbox: Sandbox) -> Iterator[Callable[[], str]]:
    """Make a stopped container as a dead process's grading would have left it; its id."""
    assert isinstance(sandbox, DockerSandbox)
    client, made = sandbox.client, []
    image = image_ref(load_task(PY_EXEC).spec.image)

    def make() -> str:
        owner = f"assess@{os.uname().nodename}:{DEAD_PID}:left{len(made)}"
        labels = {LABEL: "run", OWNER_LABEL: owner}
        container = client.containers.create(image, ["true"], labels=labels, **NO_NETWORK)
        made.append(container.id)
        return str(container.id)

    yield make
    for cid in made:
        with contextlib.suppress(docker.errors.NotFound):  # reaped, as it should be
            client.api.remove_container(cid, force=True)


def _exists(sandbox: Sandbox, cid: str) -> bool:
    assert isinstance(sandbox, DockerSandbox)
    return any(c.id == cid for c in sandbox.client.containers.list(all=True))


def _broken_task(tmp_path: Path) -> Path:
    """py-exec whose check.py fails: every grading of it ends in an error."""
    root = tmp_path / "broken" / "py-exec"
    shutil.copytree(PY_EXEC, root)
    (root / "grading" / "check.py").write_text("def check(ctx):\n    raise RuntimeError('x')\n")
    return root


def test_gradings_reap_leftovers_at_once_after_an_error_and_now_and_then_otherwise(
    sandbox: Sandbox,
    leave: Callable[[], str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    good, broken = load_task(PY_EXEC), load_task(_broken_task(tmp_path))
    grading = DockerGrading()

    def grade(task: object, expect: Status) -> None:
        out = tmp_path / f"out{len(list(tmp_path.iterdir()))}"
        report = grading(task, good.solution, out)  # type: ignore[arg-type]
        assert report.status == expect, report.explanation

    first = leave()
    grade(good, Status.graded)  # the first grading of a process looks
    assert not _exists(sandbox, first)

    second = leave()
    grade(good, Status.graded)  # ended well, just after a look: no listing
    assert _exists(sandbox, second)

    grade(broken, Status.error)  # ended in an error: looks at once
    assert not _exists(sandbox, second)

    third = leave()
    grade(good, Status.graded)
    assert _exists(sandbox, third)
    later = time.monotonic() + services_module.REAP_EVERY_S + 1
    monkeypatch.setattr(services_module, "time", SimpleNamespace(monotonic=lambda: later))
    grade(good, Status.graded)  # the interval has passed: this one looks
    assert not _exists(sandbox, third)


def test_a_look_that_could_not_finish_is_made_again_by_the_next_grading(
    sandbox: Sandbox,
    leave: Callable[[], str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The engine restarting under a grading: the grading ends in an error and its look for
    # leftovers fails too. The next grading, even one that ends well, must look again.
    assert isinstance(sandbox, DockerSandbox)
    good, broken = load_task(PY_EXEC), load_task(_broken_task(tmp_path))
    grading = DockerGrading()
    grading(good, good.solution, tmp_path / "out0")  # the process's first look, done

    def engine_away(*_: object, **__: object) -> object:
        raise requests.ConnectionError("Connection aborted")

    left = leave()
    with monkeypatch.context() as away:
        away.setattr(ContainerCollection, "list", engine_away)
        assert grading(broken, good.solution, tmp_path / "out1").status == Status.error
    assert _exists(sandbox, left)  # its look failed
    assert grading(good, good.solution, tmp_path / "out2").status == Status.graded
    assert not _exists(sandbox, left)
