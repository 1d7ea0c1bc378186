"""Streams on SQLite and PostgreSQL: who sees which stream and applicant (HTML, JSON and CSV
agree), the stream ranking, shortlist and notes with their audit entries, the operators'
stream editor and the applicants' choice (closed at the cohort's close).

The world: a blind cohort with py-exec and py-rubric; streams "Interpretability" (mentor
``men``, follow-up task py-followup) and "Evals" (mentor ``men2``); ``rev`` is a reviewer who
mentors nothing. Alice chose both streams, Bob the first. Scores are written straight into
the summary columns (what a grading and reviews leave there), so the ranking is known.
"""

from __future__ import annotations

import csv
import io
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from api import streams
from api.core.db import transaction
from api.core.security import pseudonym
from api.models import Applicant, AuditEntry, Cohort, StreamChoice, StreamNote, Submission, utcnow
from api.services import Services
from tests.api.conftest import PY_EXEC, Service, add_user

FOLLOW_UP = "py-followup"


@pytest.fixture(scope="session")
def followup_task(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """py-exec again as task "py-followup": a loaded task that is not one of the cohort's."""
    root = tmp_path_factory.mktemp("followup") / FOLLOW_UP
    shutil.copytree(PY_EXEC, root, ignore=shutil.ignore_patterns("__pycache__", "bad"))
    toml = (root / "task.toml").read_text()
    (root / "task.toml").write_text(toml.replace('id = "py-exec"', f'id = "{FOLLOW_UP}"'))
    return root


@dataclass
class StreamsWorld:
    svc: Service
    services: Services
    ops: TestClient
    men: TestClient
    men2: TestClient
    rev: TestClient
    alice: TestClient
    bob: TestClient
    anon: TestClient
    cohort_id: int
    interp: int  # stream ids
    evals: int
    ids: dict[str, int]  # applicant ids

    def key(self, who: str) -> str:
        return pseudonym(self.services.secret, self.ids[who])


def score(
    services: Services, applicant_id: int, task: str, auto: float, task_score: float | None = None
) -> None:
    """A graded, counted submission whose automatic fraction is `auto` (and whose blended
    task score, once reviews are in, is `task_score`)."""
    with transaction(services.sessions) as s:
        a = s.get(Applicant, applicant_id)
        assert a is not None
        s.add(
            Submission(
                applicant_id=a.id, task_id=task, cohort_id=a.cohort_id,
                blob_sha256=f"{applicant_id:04d}{task}".ljust(64, "0")[:64], filename="s.zip",
                size=10, content_sha256="0" * 64, status="graded", score=10 * auto,
                max_score=10.0, task_score=auto if task_score is None else task_score,
                review_count=0 if task_score is None else 2, counted=True,
            )
        )  # fmt: skip


@pytest.fixture
def sw(
    service_factory: Callable[..., Service], rubric_task: Path, followup_task: Path
) -> Iterator[StreamsWorld]:
    svc = service_factory(tasks=(PY_EXEC, rubric_task, followup_task))
    services: Services = svc.client.app.state.services  # type: ignore[attr-defined]
    for name, role in (
        ("ops", "operator"),
        ("men", "mentor"),
        ("men2", "mentor"),
        ("rev", "reviewer"),
    ):
        add_user(svc, name, role)
    ops = svc.login("ops")
    r = ops.post("/api/v1/cohorts", json={"name": "c1", "blind": True, "tasks": ["py-exec"]})
    assert r.status_code == 201, r.text
    cohort_id = r.json()["id"]
    tokens, ids = {}, {}
    for who in ("alice", "bob"):
        r = ops.post(
            "/api/v1/invitations",
            json={"cohort": "c1", "email": f"{who}@example.org", "name": who.title()},
        )
        assert r.status_code == 201, r.text
        tokens[who] = r.json()["token"]
        ids[who] = r.json()["applicant_id"]
    with services.sessions() as s:
        users = {u: uid for u, uid in s.execute(select_users())}
    interp = ops.post(
        f"/api/v1/cohorts/{cohort_id}/streams",
        json={
            "name": "Interpretability",
            "description": "Circuits.\nProbes.",
            "mentor_ids": [users["men"]],
            "task_ids": [FOLLOW_UP],
        },
    )
    assert interp.status_code == 201, interp.text
    evals = ops.post(
        f"/api/v1/cohorts/{cohort_id}/streams",
        json={"name": "Evals", "mentor_ids": [users["men2"]]},
    )
    assert evals.status_code == 201, evals.text
    world = StreamsWorld(
        svc=svc, services=services, ops=ops, men=svc.login("men"), men2=svc.login("men2"),
        rev=svc.login("rev"), alice=svc.applicant(tokens["alice"]),
        bob=svc.applicant(tokens["bob"]), anon=svc.anonymous(), cohort_id=cohort_id,
        interp=interp.json()["id"], evals=evals.json()["id"], ids=ids,
    )  # fmt: skip
    r = world.alice.put("/api/v1/me/streams", json={"stream_ids": [world.interp, world.evals]})
    assert r.status_code == 200, r.text
    r = world.bob.put("/api/v1/me/streams", json={"stream_ids": [world.interp]})
    assert r.status_code == 200, r.text
    # Alice: composite 0.5, follow-up 1.0 -> 0.75. Bob: composite 0.8, no follow-up -> 0.8.
    score(services, ids["alice"], "py-exec", 0.5)
    score(services, ids["alice"], FOLLOW_UP, 1.0)
    score(services, ids["bob"], "py-exec", 0.8)
    yield world


def select_users() -> Any:
    from api.models import User

    return select(User.username, User.id)


def _json(c: TestClient, url: str) -> Any:
    r = c.get(url)
    assert r.status_code == 200, (url, r.status_code, r.text)
    return r.json()


def _csv(c: TestClient, url: str) -> list[dict[str, str]]:
    r = c.get(url)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(r.text)))


# -- who sees what ------------------------------------------------------------------------


def test_visibility_matrix_is_the_same_for_pages_json_and_csv(sw: StreamsWorld) -> None:
    urls = [
        f"/api/v1/streams/{sw.interp}",
        f"/api/v1/streams/{sw.interp}/applicants",
        f"/api/v1/streams/{sw.interp}/applicants.csv",
        f"/review/streams/{sw.interp}",
    ]
    expected = {"ops": 200, "men": 200, "men2": 404, "rev": 404, "alice": 401, "anon": 401}
    for who, code in expected.items():
        client = getattr(sw, who)
        for url in urls:
            assert client.get(url).status_code == code, (who, url)
    # A stream that does not exist reads exactly like one that is not yours.
    missing = sw.men.get("/api/v1/streams/999999")
    other = sw.men.get(f"/api/v1/streams/{sw.evals}")
    assert missing.status_code == other.status_code == 404
    assert missing.json() == other.json()
    # The lists: operators all, mentors their own, a plain reviewer none.
    listed = {
        who: [s["name"] for s in _json(getattr(sw, who), f"/api/v1/cohorts/{sw.cohort_id}/streams")]
        for who in ("ops", "men", "men2", "rev")
    }
    assert listed == {
        "ops": ["Evals", "Interpretability"],
        "men": ["Interpretability"],
        "men2": ["Evals"],
        "rev": [],
    }
    page = sw.men.get("/review/streams").text
    assert "Interpretability" in page and "Evals" not in page
    assert "do not mentor any stream" in sw.rev.get("/review/streams").text
    # Mentors are kept off the cohort-wide views.
    assert sw.men.get("/review").status_code == 403
    assert sw.men.get(f"/api/v1/cohorts/{sw.cohort_id}/ranking").status_code == 403


def test_blind_cohort_shows_pseudonyms_to_mentors_everywhere(sw: StreamsWorld) -> None:
    base = f"/api/v1/streams/{sw.interp}/applicants"
    keys = {sw.key("alice"), sw.key("bob")}
    for who, identity in (("men", False), ("ops", True)):
        client = getattr(sw, who)
        data = _json(client, base)
        rows = _csv(client, base + ".csv")
        html = client.get(f"/review/streams/{sw.interp}").text
        labels = [a["applicant"] for a in data["applicants"]]
        assert [r["applicant"] for r in rows] == labels
        assert {a["key"] for a in data["applicants"]} == keys
        if identity:
            assert labels == ["Bob <bob@example.org>", "Alice <alice@example.org>"]
            assert "alice@example.org" in html
        else:
            assert labels == [sw.key("bob"), sw.key("alice")]
            for body in (str(data), str(rows), html):
                assert "example.org" not in body and "Alice" not in body and "Bob" not in body
    # The same cohort, no longer blind: mentors see who applied.
    with transaction(sw.services.sessions) as s:
        cohort = s.get(Cohort, sw.cohort_id)
        assert cohort is not None
        cohort.blind = False
    data = _json(sw.men, base)
    assert data["applicants"][0]["applicant"] == "Bob <bob@example.org>"


def test_ranking_combines_composite_and_follow_up(sw: StreamsWorld) -> None:
    data = _json(sw.men, f"/api/v1/streams/{sw.interp}/applicants")
    assert "(composite + follow-up score) / 2" in data["formula"]
    got = [
        (a["key"], a["rank"], a["stream_score"], a["composite"], a["follow_up"])
        for a in data["applicants"]
    ]
    assert got == [
        (sw.key("bob"), 1, pytest.approx(0.8), pytest.approx(0.8), None),
        (sw.key("alice"), 2, pytest.approx(0.75), pytest.approx(0.5), pytest.approx(1.0)),
    ]
    # The follow-up task is not part of the composite, and Evals has no follow-up task.
    evals = _json(sw.ops, f"/api/v1/streams/{sw.evals}/applicants")["applicants"]
    assert [(a["stream_score"], a["follow_up"]) for a in evals] == [(pytest.approx(0.5), None)]
    html = sw.men.get(f"/review/streams/{sw.interp}").text
    assert "no follow-up score" in html and "(composite + follow-up score) / 2" in html
    rows = _csv(sw.men, f"/api/v1/streams/{sw.interp}/applicants.csv")
    assert [(r["rank"], r["stream_score"], r["follow_up"]) for r in rows] == [
        ("1", "0.8", ""),
        ("2", "0.75", "1"),
    ]


def test_mentors_see_the_consensus_as_operators_do(sw: StreamsWorld) -> None:
    """A reviewed rubric task: a mentor account never reviews, so nothing it reads can anchor
    a review of its own: it sees the blended score as operators do (api.reviewing.Independence)."""
    with transaction(sw.services.sessions) as s:
        from api.models import CohortTask

        s.add(CohortTask(cohort_id=sw.cohort_id, task_id="py-rubric"))
    score(sw.services, sw.ids["bob"], "py-rubric", 0.2, task_score=0.6)
    ops = _json(sw.ops, f"/api/v1/streams/{sw.interp}/applicants")["applicants"]
    men = _json(sw.men, f"/api/v1/streams/{sw.interp}/applicants")["applicants"]
    bob_ops = next(a for a in ops if a["key"] == sw.key("bob"))
    bob_men = next(a for a in men if a["key"] == sw.key("bob"))
    assert bob_ops["tasks"]["py-rubric"] == pytest.approx(0.6)
    assert bob_men["tasks"]["py-rubric"] == pytest.approx(0.6)
    assert bob_men["provisional"] is bob_ops["provisional"]


# -- shortlist and notes ------------------------------------------------------------------


def test_shortlist_is_audited_and_opens_follow_ups_to_the_applicant(sw: StreamsWorld) -> None:
    url = f"/api/v1/streams/{sw.interp}/applicants/{sw.key('alice')}/shortlist"
    before = _json(sw.alice, "/api/v1/me/streams")
    interp = next(s for s in before["streams"] if s["id"] == sw.interp)
    assert interp["follow_ups"] == [
        {"task_id": FOLLOW_UP, "title": interp["follow_ups"][0]["title"], "open": False}
    ]
    assert sw.men2.put(url, json={"shortlisted": True}).status_code == 404
    assert sw.rev.put(url, json={"shortlisted": True}).status_code == 404
    assert sw.alice.put(url, json={"shortlisted": True}).status_code == 401
    r = sw.men.put(url, json={"shortlisted": True})
    assert r.status_code == 200, r.text
    assert r.json()["shortlisted"] is True and r.json()["shortlisted_by"] == "men"
    # Bob is not in Evals: not there for its mentor, even by his right key.
    bob_in_evals = f"/api/v1/streams/{sw.evals}/applicants/{sw.key('bob')}/shortlist"
    assert sw.men2.put(bob_in_evals, json={"shortlisted": True}).status_code == 404
    with sw.services.sessions() as s:
        alice = s.get(Applicant, sw.ids["alice"])
        bob = s.get(Applicant, sw.ids["bob"])
        assert alice is not None and bob is not None
        assert streams.open_follow_up_task_ids(s, alice) == [FOLLOW_UP]
        assert streams.open_follow_up_task_ids(s, bob) == []
    after = _json(sw.alice, "/api/v1/me/streams")
    opened = {s["id"]: [f["open"] for f in s["follow_ups"]] for s in after["streams"]}
    assert opened == {sw.interp: [True], sw.evals: []}
    text = sw.alice.get("/api/v1/me/streams").text + sw.alice.get("/portal/streams").text
    assert "shortlist" not in text.lower() and "men" not in after.__repr__().lower()
    with sw.services.sessions() as s:
        entries = s.scalars(select(AuditEntry).where(AuditEntry.action == "stream_shortlist"))
        (entry,) = list(entries)
        assert entry.actor == "mentor:men"
        assert entry.before["shortlisted"] is False and entry.after["shortlisted"] is True
        assert entry.after["applicant_id"] == sw.ids["alice"]
    # Taking her off again is a second entry; doing nothing writes none.
    sw.men.put(url, json={"shortlisted": False})
    sw.men.put(url, json={"shortlisted": False})
    with sw.services.sessions() as s:
        n = len(list(s.scalars(select(AuditEntry).where(AuditEntry.action == "stream_shortlist"))))
    assert n == 2


def test_notes_are_plain_text_for_mentors_and_operators_only(sw: StreamsWorld) -> None:
    url = f"/api/v1/streams/{sw.interp}/applicants/{sw.key('bob')}/notes"
    hostile = "Strong <b>probe</b> work\x1b[31m\u202e =1+1"
    r = sw.men.post(url, json={"body": hostile})
    assert r.status_code == 201, r.text
    assert r.json()["body"] == "Strong <b>probe</b> work =1+1"
    assert r.json()["author"] == "men"
    assert sw.men.post(url, json={"body": "  \n "}).json()["detail"] == (
        "note: write something first"
    )
    assert sw.men.post(url, json={"body": "x" * 5001}).status_code == 422
    assert sw.men2.post(url, json={"body": "x"}).status_code == 404
    for who in ("men", "ops"):
        rows = _json(getattr(sw, who), f"/api/v1/streams/{sw.interp}/applicants")["applicants"]
        bob = next(a for a in rows if a["key"] == sw.key("bob"))
        assert [n["body"] for n in bob["notes"]] == ["Strong <b>probe</b> work =1+1"]
    html = sw.ops.get(f"/review/streams/{sw.interp}").text
    assert "Strong &lt;b&gt;probe&lt;/b&gt; work" in html and "<b>probe" not in html
    assert "probe" not in sw.bob.get("/portal/streams").text
    assert "probe" not in sw.bob.get("/api/v1/me/streams").text
    rows = _csv(sw.ops, f"/api/v1/streams/{sw.interp}/applicants.csv")
    assert [r["notes"] for r in rows] == ["1", "0"]
    with sw.services.sessions() as s:
        (entry,) = list(s.scalars(select(AuditEntry).where(AuditEntry.action == "stream_note")))
        assert entry.actor == "mentor:men" and entry.after["applicant_id"] == sw.ids["bob"]


def test_mentor_page_forms_shortlist_and_note(sw: StreamsWorld) -> None:
    csrf = sw.men.headers["X-CSRF-Token"]
    base = f"/review/streams/{sw.interp}/applicants/{sw.key('alice')}"
    r = sw.men.post(
        base + "/shortlist",
        data={"csrf_token": csrf, "shortlisted": "1"},
        headers={"X-CSRF-Token": ""},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    assert "done=shortlisted" in r.headers["location"]
    page = sw.men.get(r.headers["location"]).text
    assert "Added to the shortlist." in page and "by men," in page
    r = sw.men.post(base + "/notes", data={"body": "   "})
    assert r.status_code == 422
    assert "note: write something first" in r.text
    r = sw.men.post(base + "/notes", data={"body": "x" * 5001})
    assert r.status_code == 422 and "x" * 5001 in r.text  # what was typed is kept
    r = sw.men.post(base + "/notes", data={"body": "Interview first"}, follow_redirects=False)
    assert r.status_code == 303
    assert "Interview first" in sw.men.get(f"/review/streams/{sw.interp}").text
    # Another stream's mentor, and a key that is nobody in the stream: 404.
    assert sw.men2.post(base + "/notes", data={"body": "x"}).status_code == 404
    bad = f"/review/streams/{sw.interp}/applicants/A-00000000/shortlist"
    assert sw.men.post(bad, data={"shortlisted": "1"}).status_code == 404
    # Cookie sessions need the CSRF token.
    r = sw.men.post(base + "/notes", data={"body": "x"}, headers={"X-CSRF-Token": "nope"})
    assert r.status_code == 403


def test_csv_cells_are_formula_safe(sw: StreamsWorld) -> None:
    with transaction(sw.services.sessions) as s:
        cohort = s.get(Cohort, sw.cohort_id)
        assert cohort is not None
        cohort.blind = False
        alice = s.get(Applicant, sw.ids["alice"])
        assert alice is not None
        alice.name = '=HYPERLINK("http://x")'
    rows = _csv(sw.ops, f"/api/v1/streams/{sw.interp}/applicants.csv")
    alice_row = next(r for r in rows if r["key"] == sw.key("alice"))
    assert alice_row["applicant"].startswith("'=HYPERLINK")


# -- the operators' stream editor ---------------------------------------------------------


def test_operator_api_validates_and_audits(sw: StreamsWorld) -> None:
    base = f"/api/v1/cohorts/{sw.cohort_id}/streams"
    with sw.services.sessions() as s:
        users = {u: i for u, i in s.execute(select_users())}
    cases = [
        ({"name": "  "}, 422, "name: required"),
        ({"name": "interpretability"}, 409, "has a stream called"),
        ({"name": "X", "mentor_ids": [users["ops"]]}, 422, "ops is an operator"),
        ({"name": "X", "mentor_ids": [999999]}, 422, "no active account with id 999999"),
        ({"name": "X", "task_ids": ["py-exec"]}, 422, "already a task of cohort"),
        ({"name": "X", "task_ids": ["nope"]}, 422, "unknown task 'nope'"),
        ({"name": "x" * 101}, 422, "at most 100"),
    ]
    for body, code, detail in cases:
        r = sw.ops.post(base, json=body)
        assert r.status_code == code, (body, r.text)
        assert detail in r.json()["detail"], (body, r.text)
    assert sw.men.post(base, json={"name": "Mine"}).status_code == 403
    assert sw.rev.post(base, json={"name": "Mine"}).status_code == 403
    assert sw.ops.post("/api/v1/cohorts/999999/streams", json={"name": "X"}).status_code == 404
    # A reviewer may mentor; the mentors and tasks are replaced as a whole.
    new = sw.ops.post(base, json={"name": "Governance", "mentor_ids": [users["rev"]]}).json()
    assert [m["username"] for m in new["mentors"]] == ["rev"]
    assert _json(sw.rev, f"/api/v1/streams/{new['id']}")["name"] == "Governance"
    r = sw.ops.put(f"/api/v1/streams/{new['id']}/mentors", json={"user_ids": [users["men"]]})
    assert [m["username"] for m in r.json()["mentors"]] == ["men"]
    assert sw.rev.get(f"/api/v1/streams/{new['id']}").status_code == 404
    r = sw.ops.put(f"/api/v1/streams/{new['id']}/tasks", json={"task_ids": [FOLLOW_UP]})
    assert r.json()["task_ids"] == [FOLLOW_UP]
    r = sw.ops.patch(f"/api/v1/streams/{new['id']}", json={"name": "Evals"})
    assert r.status_code == 409
    r = sw.ops.patch(f"/api/v1/streams/{new['id']}", json={"description": "Policy."})
    assert r.json()["description"] == "Policy." and r.json()["name"] == "Governance"
    # Chosen streams stay; an unchosen one can go.
    assert sw.ops.delete(f"/api/v1/streams/{sw.interp}").status_code == 409
    assert sw.men.delete(f"/api/v1/streams/{new['id']}").status_code == 403
    assert sw.ops.delete(f"/api/v1/streams/{new['id']}").status_code == 204
    assert sw.ops.get(f"/api/v1/streams/{new['id']}").status_code == 404
    with sw.services.sessions() as s:
        actions = [
            e.action
            for e in s.scalars(
                select(AuditEntry)
                .where(AuditEntry.action.like("stream_%"), AuditEntry.actor == "operator:ops")
                .order_by(AuditEntry.id)
            )
        ]
    assert actions == [
        "stream_create", "stream_create", "stream_create", "stream_update", "stream_update",
        "stream_update", "stream_delete",
    ]  # fmt: skip


def test_admin_page_creates_edits_and_keeps_input_on_error(sw: StreamsWorld) -> None:
    url = f"/admin/cohorts/{sw.cohort_id}/streams"
    page = sw.ops.get(url)
    assert page.status_code == 200
    assert "Interpretability" in page.text and "Chosen by applicants" in page.text
    assert sw.men.get(url).status_code == 403
    assert sw.ops.get("/admin/cohorts/999999/streams").status_code == 404
    r = sw.ops.post(url, data={"name": "Evals", "description": "kept text"})
    assert r.status_code == 422
    assert "has a stream called" in r.text and "kept text" in r.text
    r = sw.ops.post(url, data={"name": "Safety cases", "mentor_ids": "abc"})
    assert r.status_code == 422 and "mentors: &#39;abc&#39; is not an id" in r.text
    with sw.services.sessions() as s:
        users = {u: i for u, i in s.execute(select_users())}
    r = sw.ops.post(
        url,
        data={"name": "Safety cases", "mentor_ids": [str(users["men"])], "task_ids": [FOLLOW_UP]},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"].endswith("done=created")
    created = next(
        s
        for s in _json(sw.ops, f"/api/v1/cohorts/{sw.cohort_id}/streams")
        if s["name"] == "Safety cases"
    )
    assert [m["username"] for m in created["mentors"]] == ["men"]
    r = sw.ops.post(
        f"/admin/streams/{created['id']}",
        data={"name": "Safety cases", "description": "new", "mentor_ids": [str(users["men2"])]},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert _json(sw.men2, f"/api/v1/streams/{created['id']}")["task_ids"] == []
    r = sw.ops.post(f"/admin/streams/{sw.interp}/delete")
    assert r.status_code == 422 and "cannot be deleted" in r.text
    r = sw.ops.post(f"/admin/streams/{created['id']}/delete", follow_redirects=False)
    assert r.status_code == 303
    assert sw.ops.get(f"/api/v1/streams/{created['id']}").status_code == 404


# -- the applicant's choice ---------------------------------------------------------------


def test_applicant_chooses_until_the_cohort_closes(sw: StreamsWorld) -> None:
    mine = _json(sw.bob, "/api/v1/me/streams")
    assert mine["open"] is True
    assert [(s["name"], s["chosen"]) for s in mine["streams"]] == [
        ("Evals", False),
        ("Interpretability", True),
    ]
    assert set(mine["streams"][0]) == {"id", "name", "description", "chosen", "follow_ups"}
    r = sw.bob.put("/api/v1/me/streams", json={"stream_ids": [999999]})
    assert r.status_code == 422 and "no stream with id 999999" in r.json()["detail"]
    # A stream of another cohort is not one Bob can choose.
    sw.ops.post("/api/v1/cohorts", json={"name": "c2", "blind": True, "tasks": ["py-exec"]})
    c2 = next(c for c in _json(sw.ops, "/api/v1/cohorts") if c["name"] == "c2")
    other = sw.ops.post(f"/api/v1/cohorts/{c2['id']}/streams", json={"name": "Other"}).json()
    assert sw.bob.put("/api/v1/me/streams", json={"stream_ids": [other["id"]]}).status_code == 422
    assert "Other" not in sw.bob.get("/portal/streams").text
    # The page's form: tick both, then an error keeps what was ticked.
    page = sw.bob.get("/portal/streams")
    assert page.status_code == 200 and "Circuits.\nProbes." in page.text
    r = sw.bob.post(
        "/portal/streams",
        data={"stream_ids": [str(sw.interp), str(sw.evals)]},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert "Your streams were saved." in sw.bob.get(r.headers["location"]).text
    assert all(s["chosen"] for s in _json(sw.bob, "/api/v1/me/streams")["streams"])
    r = sw.bob.post("/portal/streams", data={"stream_ids": [str(sw.interp), "x"]})
    assert r.status_code == 422 and "streams: &#39;x&#39; is not an id" in r.text
    # Closed: read-only, and nothing changes.
    with transaction(sw.services.sessions) as s:
        cohort = s.get(Cohort, sw.cohort_id)
        assert cohort is not None
        cohort.closes_at = utcnow() - timedelta(minutes=1)
    r = sw.bob.put("/api/v1/me/streams", json={"stream_ids": []})
    assert r.status_code == 409 and "choices closed at" in r.json()["detail"]
    page = sw.bob.get("/portal/streams").text
    assert "Stream choices closed on" in page and "disabled" in page
    assert 'id="save-streams"' not in page
    assert sw.bob.post("/portal/streams", data={}).status_code == 422
    with sw.services.sessions() as s:
        kept = s.scalars(
            select(StreamChoice.stream_id).where(StreamChoice.applicant_id == sw.ids["bob"])
        ).all()
    assert sorted(kept) == sorted([sw.interp, sw.evals])
    assert sw.ops.get("/api/v1/me/streams").status_code == 401


def test_dropping_a_stream_drops_its_shortlist_but_keeps_notes(sw: StreamsWorld) -> None:
    key = sw.key("alice")
    sw.men.put(
        f"/api/v1/streams/{sw.interp}/applicants/{key}/shortlist", json={"shortlisted": True}
    )
    sw.men.post(f"/api/v1/streams/{sw.interp}/applicants/{key}/notes", json={"body": "good"})
    assert sw.alice.put("/api/v1/me/streams", json={"stream_ids": [sw.evals]}).status_code == 200
    rows = _json(sw.men, f"/api/v1/streams/{sw.interp}/applicants")["applicants"]
    assert [a["key"] for a in rows] == [sw.key("bob")]
    assert (
        sw.men.post(
            f"/api/v1/streams/{sw.interp}/applicants/{key}/notes", json={"body": "x"}
        ).status_code
        == 404
    )
    with sw.services.sessions() as s:
        assert s.scalar(select(StreamNote.body)) == "good"
        (entry,) = [
            e
            for e in s.scalars(select(AuditEntry).where(AuditEntry.action == "stream_choice"))
            if e.after.get("dropped_shortlisted")
        ]
        assert entry.after["dropped_shortlisted"] == [sw.interp]
