"""Reviewers score independently: one rule for pages, the JSON API, the CSV export, the
ranking and the dashboard's filters. Until a reviewer saves their own review of a
submission, nothing another reviewer decided about it reaches them."""

from __future__ import annotations

import csv
import io

from fastapi.testclient import TestClient

from tests.api.conftest import RIGHT, World, add_user

SECRET = "R1-COMMENT-SECRET"


def _everything(world: World, who: TestClient, sid: int) -> dict[str, str]:
    cid = world.cohort_id
    return {
        "detail": who.get(f"/api/v1/submissions/{sid}").text,
        "list": who.get("/api/v1/submissions").text,
        "page": who.get(f"/review/submissions/{sid}").text,
        "dashboard": who.get("/review").text,
        "ranking": who.get(f"/api/v1/cohorts/{cid}/ranking").text,
        "cohort page": who.get(f"/review/cohorts/{cid}").text,
        "csv": who.get(f"/api/v1/cohorts/{cid}/export.csv").text,
    }


def _csv_row(world: World, who: TestClient) -> dict[str, str]:
    text = who.get(f"/api/v1/cohorts/{world.cohort_id}/export.csv").text
    (row,) = csv.DictReader(io.StringIO(text))
    return row


def test_others_reviews_stay_hidden_everywhere_until_you_save_yours(world: World) -> None:
    sid = world.svc.upload(world.alice, RIGHT, task="py-rubric").json()["id"]
    assert world.svc.wait(world.alice, sid)["status"] == "graded"
    r1, r2 = world.reviewer, world.reviewer2
    baseline = r2.get(f"/api/v1/submissions/{sid}").json()
    baseline_rank = r2.get(f"/api/v1/cohorts/{world.cohort_id}/ranking").json()
    review = {
        "scores": {"clarity": 0, "judgement": 0},
        "tier": "Below",
        "integrity_flag": True,
        "integrity_note": "R1-NOTE-SECRET",
        "comment": SECRET,
    }
    assert r1.put(f"/api/v1/submissions/{sid}/review", json=review).status_code == 200

    # r2 has not reviewed: every view reads as before r1's review, except the count.
    for where, text in _everything(world, r2, sid).items():
        assert SECRET not in text and "R1-NOTE-SECRET" not in text, where
    d = r2.get(f"/api/v1/submissions/{sid}").json()
    assert d["reviews"] == [] and d["review_count"] == 1
    for key in ("manual_frac", "task_score", "tier", "integrity_flag", "disagreement"):
        assert d[key] == baseline[key], key
    assert d["composite"] == baseline["composite"]
    (item,) = r2.get("/api/v1/submissions").json()["items"]
    assert (item["task_score"], item["tier"], item["integrity_flag"]) == (1.0, None, False)
    assert r2.get(f"/api/v1/cohorts/{world.cohort_id}/ranking").json() == baseline_rank
    row = _csv_row(world, r2)
    assert (row["task_score"], row["tier"], row["integrity_flag"], row["manual_frac"]) == (
        "1", "", "False", ""
    )  # fmt: skip
    page = r2.get(f"/review/submissions/{sid}").text
    assert "1 other review(s), shown after you submit yours" in page
    assert "integrity flag" not in page and 'id="tier">—' in page
    # Filters and sorting answer from the same view: r1's flag and scores select nothing.
    assert r2.get("/api/v1/submissions", params={"flagged": True}).json()["total"] == 0
    assert r2.get("/api/v1/submissions", params={"score_max": 0.9}).json()["total"] == 0
    assert r2.get("/api/v1/submissions", params={"flagged": False}).json()["total"] == 1

    # r1, who reviewed it, and the operator see the review and what follows from it.
    for who in (r1, world.operator):
        d = who.get(f"/api/v1/submissions/{sid}").json()
        assert d["reviews"][0]["comment"] == SECRET
        assert d["tier"] == "Below" and d["integrity_flag"] is True and d["task_score"] == 0.5
        assert who.get("/api/v1/submissions", params={"flagged": True}).json()["total"] == 1
        assert _csv_row(world, who)["tier"] == "Below"

    # Once r2 saves their own review, they see r1's too.
    assert r2.put(f"/api/v1/submissions/{sid}/review", json={"tier": "Meets"}).status_code == 200
    seen = _everything(world, r2, sid)
    assert SECRET in seen["detail"] and SECRET in seen["page"]
    assert _csv_row(world, r2)["integrity_flag"] == "True"


def test_agreement_and_distribution_count_only_submissions_you_have_reviewed(
    world: World,
) -> None:
    """Kappa, the adjudication list and the score histogram follow the same rule: two
    reviewers who disagree show up there only for those who have saved their own review."""
    add_user(world.svc, "rev3", "reviewer")
    r1, r2, r3 = world.reviewer, world.reviewer2, world.svc.login("rev3")
    sid = world.svc.upload(world.alice, RIGHT, task="py-rubric").json()["id"]
    assert world.svc.wait(world.alice, sid)["status"] == "graded"
    agreement, histogram = (
        "/api/v1/tasks/py-rubric/agreement",
        "/api/v1/tasks/py-rubric/distribution.svg",
    )
    nothing = r2.get(agreement).json()
    svg_before = r2.get(histogram).text
    low = {"scores": {"clarity": 0, "judgement": 0}, "tier": "Below"}
    high = {"scores": {"clarity": 5, "judgement": 5}, "tier": "Exceeds"}
    assert r1.put(f"/api/v1/submissions/{sid}/review", json=low).status_code == 200
    assert r3.put(f"/api/v1/submissions/{sid}/review", json=high).status_code == 200

    # The operator and both reviewers who reviewed see the disagreement.
    for who in (world.operator, r1, r3):
        got = who.get(agreement).json()
        assert (got["pairs"], got["multi_reviewed"], got["adjudicate"]) == (1, 1, [sid])
        assert got["kappa"] is not None
    assert world.operator.get(histogram).text != svg_before
    # r2 has not reviewed: nothing of it reaches them, not even the histogram's shape.
    assert r2.get(agreement).json() == nothing
    assert nothing["adjudicate"] == [] and nothing["pairs"] == 0 and nothing["kappa"] is None
    assert r2.get(histogram).text == svg_before
    page = r2.get("/review/tasks/py-rubric").text
    assert f"#{sid}" not in page and "over 0 pair(s)" in page

    assert r2.put(f"/api/v1/submissions/{sid}/review", json={"tier": "Meets"}).status_code == 200
    got = r2.get(agreement).json()
    assert (got["pairs"], got["adjudicate"]) == (3, [sid])
    assert f"#{sid}" in r2.get("/review/tasks/py-rubric").text
