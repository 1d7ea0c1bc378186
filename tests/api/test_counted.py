"""Counted submissions: the last upload per (applicant, task) counts; exports rank it alone."""

from __future__ import annotations

import csv
import io

from sqlalchemy import select

from api.models import Assignment, AuditEntry, Submission, User
from tests.api.conftest import RIGHT, WRONG, World


def _counted(world: World) -> dict[int, bool]:
    services = world.svc.client.app.state.services  # type: ignore[attr-defined]
    with services.sessions() as s:
        return {sid: c for sid, c in s.execute(select(Submission.id, Submission.counted))}


def _csv(world: World, **params: str) -> list[dict[str, str]]:
    r = world.operator.get(f"/api/v1/cohorts/{world.cohort_id}/export.csv", params=params)
    assert r.status_code == 200, r.text
    return list(csv.DictReader(io.StringIO(r.text)))


def test_the_last_upload_counts_and_an_identical_re_upload_counts_again(world: World) -> None:
    up = world.svc.upload
    first = up(world.alice, RIGHT).json()["id"]
    assert _counted(world) == {first: True}
    second = up(world.alice, WRONG).json()["id"]
    assert _counted(world) == {first: False, second: True}
    # Bob's upload of the same task is a different pair: Alice's marks stay as they were.
    bobs = up(world.bob, RIGHT).json()["id"]
    assert _counted(world) == {first: False, second: True, bobs: True}
    # The first bytes again: no third submission, and the first one counts once more.
    again = up(world.alice, RIGHT)
    assert again.json()["id"] == first
    assert _counted(world) == {first: True, second: False, bobs: True}
    services = world.svc.client.app.state.services  # type: ignore[attr-defined]
    with services.sessions() as s:
        entry = s.scalar(select(AuditEntry).where(AuditEntry.action == "counted"))
        assert entry is not None and entry.submission_id == first
        assert entry.before == {"counted": False, "counted_submissions": [second]}
    # Sending it yet again changes nothing and writes no second audit entry.
    assert up(world.alice, RIGHT).json()["id"] == first
    with services.sessions() as s:
        entries = s.scalars(select(AuditEntry).where(AuditEntry.action == "counted")).all()
        assert len(entries) == 1


def test_csv_has_one_row_and_one_rank_per_applicant_and_task(world: World) -> None:
    up, wait = world.svc.upload, world.svc.wait
    ids = [up(world.alice, files).json()["id"] for files in (WRONG, RIGHT, {"main.py": "x = 0\n"})]
    bob = up(world.bob, RIGHT).json()["id"]
    for sid in ids:
        wait(world.alice, sid)
    wait(world.bob, bob)
    ranking = world.operator.get(f"/api/v1/cohorts/{world.cohort_id}/ranking").json()
    assert [r["rank"] for r in ranking] == [1, 2]
    rows = _csv(world)
    # Before counted submissions, Alice had three rows, each "rank 1"; now one row each.
    assert sorted(int(r["submission"]) for r in rows) == sorted([ids[-1], bob])
    assert sorted(r["rank"] for r in rows) == ["1", "2"]
    assert len({r["applicant"] for r in rows}) == 2
    assert all(r["counted"] == "True" for r in rows)
    everything = _csv(world, superseded="true")
    assert len(everything) == 4
    old = [r for r in everything if r["counted"] == "False"]
    assert sorted(int(r["submission"]) for r in old) == sorted(ids[:2])
    assert all(r["rank"] == "" and r["composite"] == "" for r in old)


def test_reviewers_assigned_to_a_submission_follow_its_re_upload(world: World) -> None:
    first = world.svc.upload(world.alice, RIGHT).json()["id"]
    services = world.svc.client.app.state.services  # type: ignore[attr-defined]
    with services.sessions() as s, s.begin():
        rev = s.scalar(select(User.id).where(User.username == "rev"))
        assert rev is not None
        s.add(Assignment(submission_id=first, reviewer_id=rev, assigned_by="ops"))
    second = world.svc.upload(world.alice, WRONG).json()["id"]
    with services.sessions() as s:
        pairs = set(s.execute(select(Assignment.submission_id, Assignment.reviewer_id)))
    assert pairs == {(first, rev), (second, rev)}
