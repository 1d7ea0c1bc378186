"""End to end with the real grader: upload → in-process worker → Docker sandbox → report."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from grader.sandbox import Sandbox
from tests.api.conftest import PY_EXEC, RIGHT, WRONG, Service, add_user

pytestmark = pytest.mark.docker


def test_upload_graded_in_docker(sandbox: Sandbox, service_factory: Callable[..., Service]) -> None:
    svc = service_factory(grade_fn=None, tasks=(PY_EXEC,))  # None: the real Docker grader
    add_user(svc, "ops", "operator")
    ops = svc.login("ops")
    cohort = ops.post("/api/v1/cohorts", json={"name": "c", "tasks": ["py-exec"]}).json()["id"]
    token = ops.post("/api/v1/invitations", json={"cohort": "c", "email": "a@x.org"}).json()[
        "token"
    ]
    alice = svc.applicant(token)
    right = svc.upload(alice, RIGHT).json()["id"]
    wrong = svc.upload(alice, WRONG, name="w.zip").json()["id"]
    assert svc.wait(alice, right, timeout=120)["status"] == "graded"
    assert svc.wait(alice, wrong, timeout=120)["status"] == "graded"
    assert svc.wait(alice, right)["checks"] == []  # nothing reaches applicants before release
    assert ops.post(f"/api/v1/cohorts/{cohort}/release").status_code == 200
    done = svc.wait(alice, right)
    report = ops.get(f"/api/v1/submissions/{right}/report").json()
    assert report["score"] == 10 and report["provenance"]["sandbox"] == "docker"
    assert ops.get(f"/api/v1/submissions/{wrong}/report").json()["score"] < 10
    visible = {c["id"] for c in done["checks"]}
    hidden = {c["id"] for c in report["checks"] if c["visibility"] == "reviewer"}
    assert visible and not visible & hidden


def test_notebook_upload_is_rendered_executed_in_the_reviewer_page(
    sandbox: Sandbox, service_factory: Callable[..., Service], tmp_path: Path
) -> None:
    """The service keeps the grading's outputs, so its report page shows the executed
    notebook (answer cells marked) and the notebook as submitted, as the CLI's report does."""
    from tests.conftest import FIXTURE_TASKS
    from tests.grader.notebook.test_notebook_docker import ANSWER, write_notebook

    svc = service_factory(grade_fn=None, tasks=(FIXTURE_TASKS / "nb-exec",))
    add_user(svc, "ops", "operator")
    ops = svc.login("ops")
    ops.post("/api/v1/cohorts", json={"name": "c", "tasks": ["nb-exec"]})
    token = ops.post("/api/v1/invitations", json={"cohort": "c", "email": "a@x.org"}).json()[
        "token"
    ]
    alice = svc.applicant(token)
    nb = write_notebook(tmp_path / "answer.ipynb", ("md", "# My working"), ANSWER)
    sid = svc.upload(alice, nb.read_bytes(), task="nb-exec", name="answer.ipynb").json()["id"]
    assert svc.wait(alice, sid, timeout=120)["status"] == "graded"
    assert ops.get(f"/api/v1/submissions/{sid}/report").json()["score"] == 10
    page = ops.get(f"/review/submissions/{sid}/report.html").text
    assert "ANSWER · answer" in page and "My working" in page
    assert "The notebook as submitted" in page
