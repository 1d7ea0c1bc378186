"""The pages: my queue and its "next" redirect, progress, the operators' assignment page, and
calibration on the task page."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from api.models import Assignment, Submission
from tests.api.conftest import RIGHT, WRONG, World
from tests.api.routes.test_assignments import _auto, _seed, _services, _uid


def _review(who: TestClient, sid: int, clarity: float, tier: str = "Meets") -> None:
    r = who.put(
        f"/api/v1/submissions/{sid}/review",
        json={"scores": {"clarity": clarity, "judgement": clarity}, "tier": tier},
    )
    assert r.status_code == 200, r.text


def _csrf(html: str) -> str:
    m = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert m is not None
    return m.group(1)


def _next(who: TestClient, after: int | None = None) -> str:
    r = who.get(
        "/review/queue/next", params={"after": after} if after else {}, follow_redirects=False
    )
    assert r.status_code == 303
    return str(r.headers["location"])


def test_my_queue_counts_next_and_done(world: World) -> None:
    subs = _seed(world, 3, ("py-rubric",))
    _auto(world, per_submission=2, reviewer_ids=[_uid(world, "rev"), _uid(world, "rev2")])
    rev = world.reviewer
    page = rev.get("/review/queue")
    assert page.status_code == 200
    html = page.text
    assert re.search(r'id="count-assigned">3<', html) and re.search(
        r'id="count-remaining">3<', html
    )
    assert f'href="/review/submissions/{subs[0]}?queue=mine"' in html
    assert "example.org" not in html and "A-" in html  # blind cohort: pseudonyms
    assert 'id="start" href="/review/queue/next">Start reviewing' in html
    assert _next(rev) == f"/review/submissions/{subs[0]}?queue=mine"
    _review(rev, subs[0], 5)
    assert _next(rev) == f"/review/submissions/{subs[1]}?queue=mine"
    assert _next(rev, after=subs[1]) == f"/review/submissions/{subs[2]}?queue=mine"
    assert _next(rev, after=subs[2]) == f"/review/submissions/{subs[1]}?queue=mine"  # wraps
    assert "Continue reviewing" in rev.get("/review/queue").text
    for sid in subs[1:]:
        _review(rev, sid, 5)
    assert _next(rev) == "/review/queue?done=1"
    done = rev.get("/review/queue?done=1").text
    assert "Queue finished" in done and re.search(r'id="count-remaining">0<', done)
    # The other reviewer's queue is untouched by this one's reviews.
    assert _next(world.reviewer2) == f"/review/submissions/{subs[0]}?queue=mine"


def test_a_re_upload_replaces_the_superseded_submission_in_the_queue(world: World) -> None:
    first = world.svc.upload(world.alice, RIGHT, task="py-rubric").json()["id"]
    _auto(world, per_submission=1, reviewer_ids=[_uid(world, "rev")])
    assert _next(world.reviewer) == f"/review/submissions/{first}?queue=mine"
    second = world.svc.upload(world.alice, WRONG, task="py-rubric").json()["id"]
    assert _next(world.reviewer) == f"/review/submissions/{second}?queue=mine"
    items = world.reviewer.get("/api/v1/me/queue").json()["items"]
    assert [i["submission_id"] for i in items] == [second]


def test_a_reviewer_declares_a_conflict_from_the_queue_page(world: World) -> None:
    subs = _seed(world, 2)
    _auto(world, per_submission=1, reviewer_ids=[_uid(world, "rev")])
    rev = world.reviewer
    token = _csrf(rev.get("/review/queue").text)
    bad = rev.post("/review/queue/conflict", data={"csrf_token": token, "reason": "x" * 20})
    assert bad.status_code == 422 and "choose the submission" in bad.text
    assert 'value="xxxxxxxxxxxxxxxxxxxx"' in bad.text  # the input is kept
    r = rev.post(
        "/review/queue/conflict",
        data={"csrf_token": token, "submission_id": str(subs[0]), "reason": "neighbour"},
    )
    assert r.status_code == 200 and "1 assignment(s) left your queue" in r.text
    assert [i["submission_id"] for i in rev.get("/api/v1/me/queue").json()["items"]] == [subs[1]]
    # The page words its own messages: a sentence in the address is not shown.
    assert "Visit evil" not in rev.get("/review/queue", params={"message": "Visit evil"}).text


def _lines(body: dict[str, Any], key: str) -> dict[str, dict[str, Any]]:
    return {line["name"]: line for line in body[key]}


def test_progress_per_reviewer_and_task_with_pace(world: World) -> None:
    subs = _seed(world, 2, ("py-rubric",))
    _auto(world, per_submission=2, reviewer_ids=[_uid(world, "rev"), _uid(world, "rev2")])
    ops = world.operator
    before = ops.get("/api/v1/progress").json()
    assert _lines(before, "reviewers")["rev"]["eta"] == "no pace yet"
    assert before["total"]["remaining"] == 4 and before["total"]["eta"] == "no pace yet"
    # rev and rev2 disagree on subs[0] (a two-tier gap): it needs adjudication.
    _review(world.reviewer, subs[0], 10, "Exceeds")
    _review(world.reviewer2, subs[0], 0, "Below")
    _review(world.reviewer, subs[1], 5)
    body = ops.get("/api/v1/progress").json()
    rev = _lines(body, "reviewers")["rev"]
    assert (rev["assigned"], rev["reviewed"], rev["remaining"], rev["needs_adjudication"]) == (
        2, 2, 0, 1,
    )  # fmt: skip
    assert rev["eta"] == "done"
    rev2 = _lines(body, "reviewers")["rev2"]
    assert (rev2["reviewed"], rev2["remaining"]) == (1, 1)
    # One review in the window, clamped to one hour: one per hour, an hour to go.
    assert rev2["pace_per_hour"] == 1.0 and rev2["eta"] == "about 1 h"
    task = _lines(body, "tasks")["py-rubric"]
    assert (task["assigned"], task["reviewed"], task["needs_adjudication"]) == (4, 3, 1)
    # A reviewer sees their own row only, and adjudication only where they reviewed.
    seen = world.reviewer2.get("/api/v1/progress").json()
    assert list(_lines(seen, "reviewers")) == ["rev2"]
    assert _lines(seen, "tasks")["py-rubric"]["assigned"] == 4
    html = world.reviewer2.get("/review/progress").text
    assert "rev2" in html and ">rev<" not in html
    page = ops.get("/review/progress").text
    assert 'id="assignments-link"' in page and "True" not in page and "False" not in page
    assert not re.search(r"\d\.\d{3,}", page)  # numbers for people, no 0.826667
    assert "per hour" in page and "no pace yet" not in page.split('id="by-reviewer"')[1][:2000]


def test_assignment_page_previews_assigns_and_keeps_input_on_error(world: World) -> None:
    subs = _seed(world, 3)
    ops = world.operator
    html = ops.get(f"/admin/assignments?cohort={world.cohort_id}").text
    token = _csrf(html)
    for label in (
        'for="auto-k"',
        'for="auto-task"',
        'for="from-reviewer"',
        'for="conflict-reason"',
    ):
        assert label in html
    revs = [str(_uid(world, "rev")), str(_uid(world, "rev2"))]
    form: dict[str, Any] = {
        "csrf_token": token, "cohort_id": str(world.cohort_id), "task_id": "",
        "per_submission": "two", "reviewer_ids": revs, "action": "preview",
    }  # fmt: skip
    bad = ops.post("/admin/assignments/auto", data=form)
    assert bad.status_code == 422
    assert "Reviewers per submission: &#39;two&#39; is not a whole number from 1 to 20" in bad.text
    assert 'value="two"' in bad.text
    preview = ops.post("/admin/assignments/auto", data=form | {"per_submission": "2"})
    assert (
        "Preview, nothing stored yet" in preview.text
        and "6 new assignment(s) would be" in preview.text
    )
    with _services(world).sessions() as s:
        assert s.scalar(select(Assignment.id)) is None
    done = ops.post(
        "/admin/assignments/auto", data=form | {"per_submission": "2", "action": "assign"}
    )
    assert "6 new assignment(s) were created" in done.text
    assert re.search(r"rev: \+3", done.text) and re.search(r"rev2: \+3", done.text)
    again = ops.post(
        "/admin/assignments/auto", data=form | {"per_submission": "2", "action": "assign"}
    )
    assert "0 new assignment(s) were created" in again.text
    # Capacity: a bad value names the reviewer; a good one is stored.
    rid = revs[0]
    cap = {"csrf_token": token, "cohort_id": str(world.cohort_id), f"capacity_{rid}": "-1"}
    r = ops.post("/admin/assignments/capacity", data=cap)
    assert r.status_code == 422 and "Capacity of rev: &#39;-1&#39;" in r.text
    r = ops.post("/admin/assignments/capacity", data=cap | {f"capacity_{rid}": "5"})
    assert "Capacities saved." in r.text and f'id="capacity_{rid}" name="capacity_{rid}"' in r.text
    # Reassign one submission to a reviewer who has it already: refused, in the page.
    moved = {
        "csrf_token": token, "cohort_id": str(world.cohort_id), "from_reviewer_id": revs[0],
        "submission_id": str(subs[0]), "to_reviewer_id": revs[1], "action": "reassign",
    }  # fmt: skip
    r = ops.post("/admin/assignments/reassign", data=moved)
    assert r.status_code == 422 and "rev2 is already assigned submission" in r.text
    r = ops.post("/admin/assignments/reassign", data=moved | {"action": "unassign"})
    assert f"Submission #{subs[0]} unassigned from rev." in r.text
    # Conflicts: declared with the applicant's identity (operators see it), then removed.
    with _services(world).sessions() as s:
        applicant = s.scalar(select(Submission.applicant_id).where(Submission.id == subs[1]))
    conflict = {
        "csrf_token": token, "cohort_id": str(world.cohort_id),
        "conflict_reviewer_id": revs[1], "applicant_id": str(applicant), "reason": "supervisor",
    }  # fmt: skip
    r = ops.post("/admin/assignments/conflicts", data=conflict)
    assert "Conflict declared; 1 assignment(s) removed." in r.text
    assert "supervisor" in r.text and "@example.org" in r.text
    cid = re.search(r"/admin/assignments/conflicts/(\d+)/delete", r.text)
    assert cid is not None
    r = ops.post(
        f"/admin/assignments/conflicts/{cid.group(1)}/delete",
        data={"csrf_token": token, "cohort_id": str(world.cohort_id)},
    )
    assert "Conflict removed." in r.text and 'id="no-conflicts"' in r.text
    # Forms without the CSRF token are refused.
    r = world.svc.login("ops")
    del r.headers["X-CSRF-Token"]
    assert r.post("/admin/assignments/auto", data=form).status_code == 403


def test_calibration_on_the_task_page(world: World) -> None:
    subs = _seed(world, 5, ("py-rubric",))
    for sid in subs:
        _review(world.reviewer, sid, 9, "Exceeds")  # steadily 40 points above rev2
        _review(world.reviewer2, sid, 5, "Meets")
    ops = world.operator.get("/review/tasks/py-rubric").text
    table = ops.split('id="calibration-table"')[1].split("</table>")[0]
    assert table.count("<tr") == 3  # header, rev, rev2
    assert "+40 points" in table and "-40 points" in table
    assert "outlier: more generous than the others" in table and "outlier: harsher" in table
    assert "Outlier: at least 5 submissions" in ops
    mine = world.reviewer2.get("/review/tasks/py-rubric").text
    table = mine.split('id="calibration-table"')[1].split("</table>")[0]
    assert ">rev2<" in table and ">rev<" not in table and "outlier" not in table
    assert "You see your own line only." in mine
    # The page's message is its own: a sentence in the address is not shown.
    assert (
        "Visit evil"
        not in world.operator.get("/review/tasks/py-rubric", params={"message": "Visit evil"}).text
    )


def test_hostile_names_and_reasons_print_as_text(world: World) -> None:
    evil = '<img src=x onerror="alert(1)">'
    ops = world.operator
    r = ops.post(
        "/api/v1/invitations",
        json={"cohort": "c1", "email": "eve@example.org", "name": evil},
    )
    assert r.status_code == 201, r.text
    ops.patch(f"/api/v1/cohorts/{world.cohort_id}", json={"blind": False})  # names shown
    token = r.json()["token"]
    sid = world.svc.upload(world.svc.applicant(token), RIGHT, task="py-rubric").json()["id"]
    rev, rev2 = _uid(world, "rev"), _uid(world, "rev2")
    _auto(world, per_submission=1, reviewer_ids=[rev])
    r = ops.post(
        "/api/v1/conflicts", json={"reviewer_id": rev2, "submission_id": sid, "reason": evil}
    )
    assert r.status_code == 201
    pages = [
        ops.get(f"/admin/assignments?cohort={world.cohort_id}").text,
        world.reviewer.get("/review/queue").text,
        ops.get("/review/progress").text,
    ]
    assert "&lt;img src=x" in pages[0] and "&lt;img src=x" in pages[1]
    for html in pages:
        assert "<img src=x" not in html


def test_absurd_numbers_in_the_assignment_forms_are_named_not_a_server_error(
    world: World,
) -> None:
    """Ids past Python's int-from-text limit (4,300 digits) or the database's are refused."""
    _seed(world, 1)
    ops = world.operator
    token = _csrf(ops.get(f"/admin/assignments?cohort={world.cohort_id}").text)
    huge = "9" * 5000
    for form in (
        {"cohort_id": huge, "from_reviewer_id": huge, "action": "reassign"},
        {"cohort_id": "99999999999", "from_reviewer_id": "1", "submission_id": huge},
    ):
        r = ops.post("/admin/assignments/reassign", data={"csrf_token": token, **form})
        assert r.status_code == 422, r.text[-500:]
        assert "is not a whole number from 1 up" in r.text
