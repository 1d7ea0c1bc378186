"""Operators: cohorts, task assignment, invitations (one and CSV), accounts, re-grading."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from grader.report import Check, Report
from grader.task import Task
from tests.api.conftest import PY_EXEC, RIGHT, Service, World, add_user, fake_grade


def test_only_operators_manage(world: World) -> None:
    rev = world.reviewer
    assert rev.post("/api/v1/cohorts", json={"name": "x"}).status_code == 403
    assert rev.patch(f"/api/v1/cohorts/{world.cohort_id}", json={"blind": False}).status_code == 403
    assert (
        rev.post("/api/v1/invitations", json={"cohort": "c1", "email": "a@b.c"}).status_code == 403
    )
    assert (
        rev.post("/api/v1/users", json={"username": "x", "password": "y" * 12}).status_code == 403
    )
    assert rev.post("/api/v1/tasks/py-exec/regrade").status_code == 403
    assert rev.get("/admin").status_code == 403
    assert world.alice.get("/admin").status_code == 401
    assert world.svc.anonymous().post("/api/v1/cohorts", json={"name": "x"}).status_code == 401


def test_cohorts_weights_and_assignment(world: World) -> None:
    ops = world.operator
    r = ops.post("/api/v1/cohorts", json={"name": "c2", "tasks": ["py-exec"]})
    assert r.status_code == 201 and r.json()["blind"] is True
    assert r.json()["weights"]["research-taste"] == 0.5
    assert ops.post("/api/v1/cohorts", json={"name": "c2"}).status_code == 409
    assert ops.post("/api/v1/cohorts", json={"name": "c3", "tasks": ["nope"]}).status_code == 422
    cid = r.json()["id"]
    r = ops.patch(
        f"/api/v1/cohorts/{cid}", json={"weights": {"implementation": 1.0}, "tasks": ["py-rubric"]}
    )
    assert r.json()["weights"] == {"implementation": 1.0} and r.json()["tasks"] == ["py-rubric"]
    names = [c["name"] for c in world.reviewer.get("/api/v1/cohorts").json()]
    assert names == ["c1", "c2"]


def test_csv_import_names_bad_rows_and_imports_valid_ones_on_request(world: World) -> None:
    ops = world.operator
    good = "email,name\ncarol@example.org,Carol\ndave@example.org,Dave\n"
    r = ops.post(
        "/api/v1/invitations/import",
        data={"cohort": "c1"},
        files={"file": ("people.csv", good.encode(), "text/csv")},
    )
    assert r.status_code == 201, r.text
    links = r.json()["invitations"]
    assert [i["email"] for i in links] == ["carol@example.org", "dave@example.org"]
    assert links[0]["link"].endswith("/invite/" + links[0]["token"])
    assert [row["ok"] for row in r.json()["rows"]] == [True, True]
    carol = world.svc.applicant(links[0]["token"])
    assert [t["id"] for t in carol.get("/api/v1/me/tasks").json()] == ["py-exec", "py-rubric"]
    bad = "email,name\nerin@example.org,Erin\nnot-an-email,X\n"
    r = ops.post(
        "/api/v1/invitations/import",
        data={"cohort": "c1"},
        files={"file": ("people.csv", bad.encode(), "text/csv")},
    )
    # A bad row is named, with every row's verdict, and nothing is imported.
    assert r.status_code == 422 and "line 3: not an e-mail address" in r.json()["detail"]
    assert [(x["line"], x["ok"]) for x in r.json()["rows"]] == [(2, True), (3, False)]
    r = ops.post(
        "/api/v1/invitations/import",
        data={"cohort": "c1"},
        files={"file": ("people.csv", b"name\nX\n", "text/csv")},
    )
    assert r.status_code == 422 and "'email' column" in r.json()["detail"]
    # Nothing from the failed file was kept: erin is new.
    r = ops.post(
        "/api/v1/invitations/import",
        params={"valid_only": "true"},
        data={"cohort": "c1"},
        files={"file": ("people.csv", bad.encode(), "text/csv")},
    )
    assert r.status_code == 201, r.text
    assert [i["email"] for i in r.json()["invitations"]] == ["erin@example.org"]
    assert (r.json()["imported"], r.json()["invalid"]) == (1, 1)


def test_admin_page_invites(world: World) -> None:
    c = world.svc.anonymous()
    c.post("/login", data={"username": "ops", "password": "correct horse battery"})
    page = c.get("/admin").text
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    r = c.post(
        "/admin/invite",
        data={"cohort": "c1", "email": "frank@example.org", "csrf_token": token},
        files={"csv_file": ("", b"", "text/csv")},
    )
    assert r.status_code == 200, r.text
    assert "frank@example.org" in r.text and "/invite/" in r.text


def test_create_reviewer_account(world: World) -> None:
    r = world.operator.post(
        "/api/v1/users", json={"username": "newrev", "password": "a long password"}
    )
    assert r.status_code == 201 and r.json()["role"] == "reviewer"
    ok = world.svc.anonymous().post(
        "/api/v1/auth/login", json={"username": "newrev", "password": "a long password"}
    )
    assert ok.status_code == 200 and ok.json()["kind"] == "reviewer"
    short = world.operator.post("/api/v1/users", json={"username": "x2", "password": "short"})
    assert short.status_code == 422


def _versioned_grade(task: Task, submission: Path, artifacts: Path) -> Report:
    """fake_grade, except that version 2 of the task is stricter on the hidden check."""
    report = fake_grade(task, submission, artifacts)
    if task.spec.version == "2.0.0":
        checks = [
            c if c.id != "answer" else Check(**{**c.model_dump(), "score": c.score / 2})
            for c in report.checks
        ]
        report = report.model_copy(update={"checks": checks, "score": sum(c.score for c in checks)})
    return report


def test_regrade_keeps_old_reports_and_lists_differences(
    service_factory: Callable[..., Service], tmp_path: Path
) -> None:
    task_dir = tmp_path / "tasks" / "py-exec"
    shutil.copytree(PY_EXEC, task_dir, ignore=shutil.ignore_patterns("__pycache__"))
    svc = service_factory(grade_fn=_versioned_grade, tasks=(task_dir,))
    add_user(svc, "ops", "operator")
    ops = svc.login("ops")
    ops.post("/api/v1/cohorts", json={"name": "c", "tasks": ["py-exec"]})
    token = ops.post("/api/v1/invitations", json={"cohort": "c", "email": "a@x.org"}).json()[
        "token"
    ]
    alice = svc.applicant(token)
    sid = svc.upload(alice, RIGHT).json()["id"]
    svc.wait(alice, sid)
    # Nothing changed: nothing to re-grade.
    assert ops.post("/api/v1/tasks/py-exec/regrade").json()["queued"] == 0
    toml = task_dir / "task.toml"
    toml.write_text(toml.read_text().replace('version = "1.0.0"', 'version = "2.0.0"'))
    r = ops.post("/api/v1/tasks/py-exec/regrade")
    assert r.json()["queued"] == 1
    import time

    deadline = time.monotonic() + 30
    while True:
        detail = ops.get(f"/api/v1/submissions/{sid}").json()
        # The detail is read in several statements; on SQLite (pysqlite starts no read
        # transaction) a poll can land between the new grading row and the submission's new
        # score. Wait for the settled state the assertions are about.
        settled = len(detail["gradings"]) == 2 and detail["score"] == 6
        if settled or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    old, new = detail["gradings"]
    assert (old["task_version"], new["task_version"]) == ("1.0.0", "2.0.0")
    assert new["previous_id"] == old["id"] and old["score"] == 10 and new["score"] == 6
    assert {"what": "score", "before": 10.0, "after": 6.0} in new["differences"]
    assert {"what": "check answer", "before": 8.0, "after": 4.0} in new["differences"]
    assert detail["score"] == 6
    audit = ops.get("/api/v1/audit", params={"submission": sid}).json()
    regrade = next(a for a in audit if a["action"] == "regrade")
    assert regrade["before"]["score"] == 10 and regrade["after"]["score"] == 6
    assert "4.0" in ops.get(f"/review/submissions/{sid}").text  # differences listed
