"""Assignment: balanced, K distinct reviewers, conflicts and capacity respected, idempotent,
reassignment, audit, permissions; and "next unreviewed in my queue"."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.assignment import next_assigned
from api.models import (
    Applicant,
    Assignment,
    AuditEntry,
    Review,
    ReviewConflict,
    Submission,
    User,
    utcnow,
)
from tests.api.conftest import World, add_user


def _services(world: World) -> Any:
    return world.svc.client.app.state.services  # type: ignore[attr-defined]


def _seed(world: World, applicants: int, tasks: tuple[str, ...] = ("py-exec",)) -> list[int]:
    """Counted submissions written straight to the database (assignment reads rows only)."""
    ids = []
    with _services(world).sessions() as s, s.begin():
        for i in range(applicants):
            a = Applicant(
                cohort_id=world.cohort_id,
                email=f"seed{i}-{uuid.uuid4().hex[:6]}@example.org",
                token_hash=uuid.uuid4().hex,
                token_expires_at=utcnow() + timedelta(days=1),
            )
            s.add(a)
            s.flush()
            for task in tasks:
                sub = Submission(
                    applicant_id=a.id, task_id=task, cohort_id=world.cohort_id,
                    blob_sha256=uuid.uuid4().hex, filename="s.zip", size=1,
                    content_sha256="x", status="graded",
                )  # fmt: skip
                s.add(sub)
                s.flush()
                ids.append(sub.id)
    return ids


def _uid(world: World, name: str) -> int:
    with _services(world).sessions() as s:
        uid = s.scalar(select(User.id).where(User.username == name))
        assert uid is not None
        return uid


def _pairs(world: World) -> list[tuple[int, int]]:
    with _services(world).sessions() as s:
        rows = s.execute(select(Assignment.submission_id, Assignment.reviewer_id))
        return sorted((sid, rid) for sid, rid in rows)


def _auto(world: World, **body: Any) -> Any:
    r = world.operator.post("/api/v1/assignments/auto", json={"cohort_id": world.cohort_id, **body})
    assert r.status_code == 200, r.text
    return r.json()


def _reviewers(world: World) -> list[int]:
    for name in ("rev3", "rev4"):
        add_user(world.svc, name, "reviewer")
    return [_uid(world, n) for n in ("rev", "rev2", "rev3", "rev4")]


def test_k_distinct_reviewers_balanced_within_one_and_idempotent(world: World) -> None:
    subs = _seed(world, 7, ("py-exec", "py-rubric"))  # 14 submissions
    revs = _reviewers(world)
    preview = _auto(world, per_submission=3, reviewer_ids=revs, dry_run=True)
    assert preview["created"] == 42 and preview["dry_run"] and _pairs(world) == []
    done = _auto(world, per_submission=3, reviewer_ids=revs)
    assert (done["created"], done["unfilled"]) == (42, [])
    assert done["per_reviewer"] == preview["per_reviewer"]  # the preview is what happened
    pairs = _pairs(world)
    per_sub = Counter(sid for sid, _ in pairs)
    assert set(per_sub) == set(subs) and set(per_sub.values()) == {3}
    assert len(set(pairs)) == len(pairs)  # distinct reviewers per submission
    load = Counter(rid for _, rid in pairs)
    assert set(load) == set(revs) and max(load.values()) - min(load.values()) <= 1
    again = _auto(world, per_submission=3, reviewer_ids=revs)
    assert (again["created"], again["unfilled"]) == (0, []) and _pairs(world) == pairs
    # Raising K to 4 fills each submission with the one reviewer it lacks.
    assert _auto(world, per_submission=4, reviewer_ids=revs)["created"] == 14
    with _services(world).sessions() as s:
        audited = s.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "assign")
        )
    assert audited == 56


def test_existing_load_counts_and_ties_break_by_reviewer(world: World) -> None:
    subs = _seed(world, 4)
    rev, rev2, rev3, _ = _reviewers(world)
    r = world.operator.post(
        "/api/v1/assignments/auto",
        json={"cohort_id": world.cohort_id, "task_id": "py-exec", "per_submission": 1,
              "reviewer_ids": [rev]},
    )  # fmt: skip
    assert r.json()["created"] == 4
    # rev already carries 4: the next round goes to rev2 and rev3 first, alternating.
    _auto(world, per_submission=2, reviewer_ids=[rev, rev2, rev3])
    load = Counter(rid for _, rid in _pairs(world))
    assert load == {rev: 4, rev2: 2, rev3: 2}
    assert {sid for sid, rid in _pairs(world) if rid == rev2} == {subs[0], subs[2]}


def test_conflicts_and_capacity_hold_and_unfilled_says_why(world: World) -> None:
    subs = _seed(world, 4)
    rev, rev2 = _uid(world, "rev"), _uid(world, "rev2")
    with _services(world).sessions() as s:
        first_applicant = s.scalar(select(Submission.applicant_id).where(Submission.id == subs[0]))
    r = world.operator.post(
        "/api/v1/conflicts",
        json={"reviewer_id": rev, "applicant_id": first_applicant, "reason": "former colleague"},
    )
    assert r.status_code == 201, r.text
    assert r.json()["applicant"] and r.json()["applicant_id"] == first_applicant
    assert (
        world.operator.put(f"/api/v1/reviewers/{rev2}/capacity", json={"capacity": 2}).status_code
        == 204
    )
    done = _auto(world, per_submission=2, reviewer_ids=[rev, rev2])
    pairs = _pairs(world)
    assert (subs[0], rev) not in pairs
    assert Counter(rid for _, rid in pairs)[rev2] == 2
    by_sub = {u["submission_id"]: u for u in done["unfilled"]}
    assert by_sub[subs[0]]["missing"] >= 1 and "conflict" in by_sub[subs[0]]["reason"]
    assert any("capacity" in u["reason"] for u in done["unfilled"])
    assert done["created"] + sum(u["missing"] for u in done["unfilled"]) == 8


def test_reassign_one_all_and_unassign(world: World) -> None:
    subs = _seed(world, 4)
    rev, rev2, rev3, rev4 = _reviewers(world)
    _auto(world, per_submission=1, reviewer_ids=[rev])
    ops = world.operator
    r = ops.post(
        "/api/v1/assignments/reassign",
        json={"from_reviewer_id": rev, "submission_id": subs[0], "to_reviewer_id": rev2},
    )
    assert r.json() == {"moved": 1, "unfilled": []}
    assert (subs[0], rev2) in _pairs(world) and (subs[0], rev) not in _pairs(world)
    # Moving onto a reviewer who already has it, or who declared a conflict, is refused.
    again = ops.post(
        "/api/v1/assignments/reassign",
        json={"from_reviewer_id": rev2, "submission_id": subs[0], "to_reviewer_id": rev2},
    )
    assert again.status_code == 422 and "already assigned" in again.json()["detail"]
    # rev reviewed subs[1]: moving "all" of rev's leaves that one with rev.
    with _services(world).sessions() as s, s.begin():
        s.add(Review(submission_id=subs[1], reviewer_id=rev, scores={}, total=0))
    r = ops.post(
        "/api/v1/assignments/reassign",
        json={"from_reviewer_id": rev, "reviewer_ids": [rev3, rev4]},
    )
    assert r.json()["moved"] == 2
    pairs = _pairs(world)
    assert (subs[1], rev) in pairs
    assert {rid for sid, rid in pairs if sid in (subs[2], subs[3])} == {rev3, rev4}
    listed = ops.get("/api/v1/assignments", params={"reviewer": rev3}).json()
    (one,) = listed
    assert ops.delete(f"/api/v1/assignments/{one['id']}").status_code == 204
    assert ops.delete(f"/api/v1/assignments/{one['id']}").status_code == 404
    with _services(world).sessions() as s:
        actions = Counter(s.scalars(select(AuditEntry.action)))
    assert actions["reassign"] == 3 and actions["unassign"] == 1


def test_bad_requests_say_what_is_wrong(world: World) -> None:
    ops = world.operator
    r = ops.post("/api/v1/assignments/auto", json={"cohort_id": 999, "per_submission": 2})
    assert r.status_code == 422 and r.json()["detail"] == "no cohort with id 999"
    r = ops.post(
        "/api/v1/assignments/auto",
        json={"cohort_id": world.cohort_id, "task_id": "nope", "per_submission": 2},
    )
    assert r.status_code == 422 and "'nope' is not a task of cohort" in r.json()["detail"]
    r = ops.post(
        "/api/v1/assignments/auto",
        json={"cohort_id": world.cohort_id, "per_submission": 2, "reviewer_ids": [4242]},
    )
    assert r.status_code == 422 and r.json()["detail"] == "no reviewer with id 4242"
    r = ops.post(
        "/api/v1/assignments/auto",
        json={"cohort_id": world.cohort_id, "per_submission": 2, "reviewer_ids": []},
    )
    assert r.status_code == 422 and r.json()["detail"].startswith("no reviewer named")
    r = ops.post(
        "/api/v1/assignments/auto", json={"cohort_id": world.cohort_id, "per_submission": 0}
    )
    assert r.status_code == 422


def test_reviewers_cannot_assign_or_read_others_queues(world: World) -> None:
    subs = _seed(world, 2)
    rev = world.reviewer
    body = {"cohort_id": world.cohort_id, "per_submission": 1}
    assert rev.post("/api/v1/assignments/auto", json=body).status_code == 403
    assert rev.post("/api/v1/assignments/reassign", json={"from_reviewer_id": 1}).status_code == 403
    assert rev.get("/api/v1/conflicts").status_code == 403
    assert (
        rev.put(
            f"/api/v1/reviewers/{_uid(world, 'rev')}/capacity", json={"capacity": 9}
        ).status_code
        == 403
    )
    assert world.svc.anonymous().get("/api/v1/me/queue").status_code == 401
    _auto(world, per_submission=2, reviewer_ids=[_uid(world, "rev"), _uid(world, "rev2")])
    other = _uid(world, "rev2")
    assert rev.get("/api/v1/assignments", params={"reviewer": other}).status_code == 403
    mine = rev.get("/api/v1/assignments").json()
    assert {a["reviewer"] for a in mine} == {"rev"} and len(mine) == 2
    queue = rev.get("/api/v1/me/queue").json()
    assert [i["submission_id"] for i in queue["items"]] == sorted(subs)
    assert all(i["applicant"].startswith("A-") for i in queue["items"])  # blind cohort
    assert rev.get("/admin/assignments").status_code == 403


def test_a_reviewer_declares_their_own_conflict_and_loses_the_assignment(world: World) -> None:
    subs = _seed(world, 2)
    revs = [_uid(world, "rev"), _uid(world, "rev2")]
    _auto(world, per_submission=2, reviewer_ids=revs)
    rev = world.reviewer
    assert (
        rev.post(
            "/api/v1/conflicts", json={"reviewer_id": revs[1], "submission_id": subs[0]}
        ).status_code
        == 403
    )
    assert rev.post("/api/v1/conflicts", json={"applicant_id": 1}).status_code == 403
    r = rev.post("/api/v1/conflicts", json={"submission_id": subs[0], "reason": "my cousin"})
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["dropped_assignments"] == 1 and body["applicant_id"] is None
    assert body["applicant"].startswith("A-")
    assert [i["submission_id"] for i in rev.get("/api/v1/me/queue").json()["items"]] == [subs[1]]
    # An operator's run does not give it back.
    assert (
        _auto(world, per_submission=2, reviewer_ids=revs)["unfilled"][0]["submission_id"] == subs[0]
    )
    with _services(world).sessions() as s:
        conflict = s.scalar(select(ReviewConflict))
        assert conflict is not None and conflict.declared_by == "reviewer:rev"
        cid = conflict.id
    assert world.operator.delete(f"/api/v1/conflicts/{cid}").status_code == 204
    assert _auto(world, per_submission=2, reviewer_ids=revs)["created"] == 1


def _next(db: Session, rid: int, after: int | None) -> int | None:
    return next_assigned(db, rid, after)


def test_next_assigned_wraps_skips_reviewed_and_superseded(world: World) -> None:
    subs = _seed(world, 3, ("py-exec", "py-rubric"))
    rev = _uid(world, "rev")
    _auto(world, per_submission=1, reviewer_ids=[rev])
    by_task = sorted(
        subs, key=lambda sid: (("py-exec", "py-rubric")[subs.index(sid) % 2], sid)
    )  # (task, id) order
    with _services(world).sessions() as s:
        assert _next(s, rev, None) == by_task[0]
        assert _next(s, rev, by_task[0]) == by_task[1]
        assert _next(s, rev, by_task[2]) == by_task[3]  # across the task boundary
        assert _next(s, rev, by_task[-1]) == by_task[0]  # wraps
    with _services(world).sessions() as s, s.begin():
        s.add(Review(submission_id=by_task[1], reviewer_id=rev, scores={}, total=0))
        old = s.get(Submission, by_task[2])
        assert old is not None
        old.counted = False  # superseded by a later upload (not assigned to rev)
    with _services(world).sessions() as s:
        assert _next(s, rev, by_task[0]) == by_task[3]
        assert _next(s, rev, None) == by_task[0]
    with _services(world).sessions() as s, s.begin():
        for sid in (by_task[0], by_task[3], by_task[4], by_task[5]):
            s.add(Review(submission_id=sid, reviewer_id=rev, scores={}, total=0))
    with _services(world).sessions() as s:
        assert _next(s, rev, None) is None
        assert _next(s, rev, by_task[0]) is None
