"""An applicant's stage follows from what is stored: attempts, counted submissions, reviews,
and a decision, which wins over all of them."""

from __future__ import annotations

from sqlalchemy import select

from api.core.db import transaction
from api.models import Applicant, Attempt, Cohort, Submission, User
from api.reviewing import ReviewInput, save_review
from api.stages import derive, stage_of, stages
from tests.api.conftest import RIGHT, WRONG, World
from tests.api.test_decisions import submit


def test_derive_orders_the_evidence() -> None:
    assert derive(None, False, []) == "invited"
    assert derive(None, True, []) == "started"
    assert derive(None, True, [0]) == "submitted"
    assert derive(None, False, [1, 0]) == "submitted"
    assert derive(None, False, [1, 2]) == "reviewed"
    for decision in ("advanced", "rejected", "withdrawn"):
        assert derive(decision, False, []) == decision
        assert derive(decision, True, [3]) == decision
    assert derive("bogus", False, [1]) == "reviewed"  # not a decision: ignored


def test_stages_from_the_database(world: World) -> None:
    services = world.svc.client.app.state.services  # type: ignore[attr-defined]
    alice_sub = submit(services, "alice@example.org", RIGHT)

    def current() -> dict[str, str]:
        with services.sessions() as s:
            cohort = s.get(Cohort, world.cohort_id)
            assert cohort is not None
            by_id = stages(s, cohort)
            names = {a.id: a.name for a in s.scalars(select(Applicant))}
            # the bulk rule and the one-applicant rule agree
            for aid, stage in by_id.items():
                applicant = s.get(Applicant, aid)
                assert applicant is not None and stage_of(s, applicant) == stage
            return {names[k]: v for k, v in by_id.items()}

    assert current() == {"Alice": "submitted", "Bob": "invited"}
    with transaction(services.sessions) as s:
        bob = s.scalar(select(Applicant).where(Applicant.name == "Bob"))
        assert bob is not None
        s.add(Attempt(applicant_id=bob.id, task_id="py-exec"))
    assert current() == {"Alice": "submitted", "Bob": "started"}
    with transaction(services.sessions) as s:
        sub = s.get(Submission, alice_sub)
        rev = s.scalar(select(User).where(User.username == "rev"))
        assert sub is not None and rev is not None
        save_review(s, sub, rev, ReviewInput({}, "Meets", False, "", ""))
    assert current() == {"Alice": "reviewed", "Bob": "started"}
    # A second counted submission without a review: submitted again until it is reviewed.
    submit(services, "alice@example.org", WRONG, task="py-rubric")
    assert current()["Alice"] == "submitted"
    with transaction(services.sessions) as s:
        bob = s.scalar(select(Applicant).where(Applicant.name == "Bob"))
        assert bob is not None
        bob.decision = "withdrawn"
    assert current() == {"Alice": "submitted", "Bob": "withdrawn"}
