"""Reviewers: dashboard filters/sorting/pagination, blind review, reports, rubric scoring."""

from __future__ import annotations

import csv
import io

from tests.api.conftest import RIGHT, WRONG, World, zip_bytes


def _graded(world: World, who: str, files: dict[str, str], task: str = "py-exec") -> int:
    client = world.alice if who == "alice" else world.bob
    sid: int = world.svc.upload(client, files, task=task).json()["id"]
    assert world.svc.wait(client, sid)["status"] == "graded"
    return sid


def test_anonymous_and_applicants_get_401_reviewers_pages_redirect(world: World) -> None:
    anon = world.svc.anonymous()
    for path in ("/api/v1/submissions", "/api/v1/submissions/1", "/api/v1/tasks",
                 "/api/v1/cohorts", "/api/v1/auth/me", "/api/v1/submissions/1/report"):  # fmt: skip
        assert anon.get(path).status_code == 401, path
    r = anon.get("/review", headers={"accept": "text/html"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    assert anon.put("/api/v1/submissions/1/review", json={}).status_code == 401


def test_wrong_password(world: World) -> None:
    r = world.svc.anonymous().post(
        "/api/v1/auth/login", json={"username": "rev", "password": "nope"}
    )
    assert r.status_code == 401
    r = world.svc.anonymous().post(
        "/api/v1/auth/login", json={"username": "nobody", "password": "nope"}
    )
    assert r.status_code == 401


def test_cookie_session_requires_csrf_for_changes(world: World) -> None:
    sid = _graded(world, "alice", RIGHT)
    c = world.svc.login("rev")
    token = c.headers.pop("X-CSRF-Token")
    r = c.put(f"/api/v1/submissions/{sid}/review", json={"tier": "Meets"})
    assert r.status_code == 403
    r = c.put(
        f"/api/v1/submissions/{sid}/review", json={"tier": "Meets"}, headers={"X-CSRF-Token": "x"}
    )
    assert r.status_code == 403
    r = c.put(
        f"/api/v1/submissions/{sid}/review", json={"tier": "Meets"}, headers={"X-CSRF-Token": token}
    )
    assert r.status_code == 200


def test_blind_review_hides_identity_everywhere(world: World) -> None:
    sid = world.svc.upload(world.alice, RIGHT, name="alice-smith.zip").json()["id"]
    assert world.svc.wait(world.alice, sid)["status"] == "graded"
    rev = world.reviewer
    places = [
        rev.get("/api/v1/submissions").text,
        rev.get(f"/api/v1/submissions/{sid}").text,
        rev.get(f"/api/v1/submissions/{sid}/report").text,
        rev.get("/review").text,
        rev.get(f"/review/submissions/{sid}").text,
        rev.get(f"/review/submissions/{sid}/report.html").text,
        rev.get(f"/api/v1/cohorts/{world.cohort_id}/ranking").text,
        rev.get(f"/api/v1/cohorts/{world.cohort_id}/export.csv").text,
        rev.get(f"/review/cohorts/{world.cohort_id}").text,
    ]
    for text in places:
        assert "alice" not in text.lower() and "example.org" not in text
    label = rev.get(f"/api/v1/submissions/{sid}").json()["applicant"]
    assert label.startswith("A-")
    # Operators see who it is; with blind review off, reviewers do too.
    assert "alice@example.org" in world.operator.get(f"/api/v1/submissions/{sid}").text
    world.operator.patch(f"/api/v1/cohorts/{world.cohort_id}", json={"blind": False})
    assert "alice@example.org" in rev.get(f"/api/v1/submissions/{sid}").text


def test_dashboard_filters_sort_and_paginate(world: World) -> None:
    right = _graded(world, "alice", RIGHT)
    wrong = _graded(world, "bob", WRONG)
    rub = _graded(world, "bob", RIGHT, task="py-rubric")
    api = world.reviewer

    def ids(**params: object) -> list[int]:
        r = api.get("/api/v1/submissions", params=params)
        assert r.status_code == 200, r.text
        return [i["id"] for i in r.json()["items"]]

    assert ids(task="py-exec", sort="id", order="asc") == [right, wrong]
    assert ids(score_min=0.9) == [rub, right] or set(ids(score_min=0.9)) == {rub, right}
    assert ids(score_max=0.5) == [wrong]
    assert ids(sort="score", order="desc")[-1] == wrong
    assert ids(sort="score", order="asc")[0] == wrong
    assert ids(status="queued") == []
    assert set(ids(reviewed="no")) == {right, wrong, rub}
    api.put(f"/api/v1/submissions/{wrong}/review", json={"tier": "Below", "integrity_flag": True})
    assert ids(reviewed="yes") == [wrong]
    assert ids(reviewed="mine") == [wrong]
    assert set(ids(reviewed="not-mine")) == {right, rub}
    assert ids(flagged=True) == [wrong]
    page1 = api.get("/api/v1/submissions", params={"per_page": 2, "sort": "id", "order": "asc"})
    page2 = api.get(
        "/api/v1/submissions", params={"per_page": 2, "page": 2, "sort": "id", "order": "asc"}
    )
    assert page1.json()["total"] == 3
    assert [i["id"] for i in page1.json()["items"]] + [i["id"] for i in page2.json()["items"]] == [
        right,
        wrong,
        rub,
    ]
    assert api.get("/api/v1/submissions", params={"per_page": 1000}).status_code == 422
    assert api.get("/api/v1/submissions", params={"sort": "evil"}).status_code == 422
    html = api.get("/review", params={"task": "py-exec", "flagged": "true"}).text
    assert f'data-id="{wrong}"' in html and f'data-id="{right}"' not in html


def test_report_page_is_sandboxed_and_escapes_submission_text(world: World) -> None:
    evil = {"main.py": "ANSWER = 6 * 7  # <script>alert(1)</script>\n"}
    sid = _graded(world, "alice", evil)
    r = world.reviewer.get(f"/review/submissions/{sid}/report.html")
    assert r.status_code == 200
    csp = r.headers["content-security-policy"]
    assert "sandbox" in csp and "default-src 'none'" in csp
    assert "<script>" not in r.text
    page = world.reviewer.get(f"/review/submissions/{sid}")
    assert '<iframe class="report"' in page.text and "sandbox" in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    full = world.reviewer.get(f"/api/v1/submissions/{sid}/report").json()
    assert {c["id"] for c in full["checks"]} == {"ran", "answer"}


def test_rubric_review_updates_task_score_composite_and_audit(world: World) -> None:
    sid = _graded(world, "alice", RIGHT, task="py-rubric")
    before = world.reviewer.get(f"/api/v1/submissions/{sid}").json()
    assert before["task_score"] == 1.0 and before["composite_provisional"] is True
    r = world.reviewer.put(
        f"/api/v1/submissions/{sid}/review",
        json={"scores": {"clarity": 5, "judgement": 5}, "tier": "Meets", "comment": "ok"},
    )
    assert r.status_code == 200, r.text
    after = r.json()
    assert after["manual_frac"] == 0.5
    assert after["task_score"] == 0.75  # 0.5 * automatic 1.0 + 0.5 * rubric 0.5
    assert after["composite"] != before["composite"]
    assert after["tier"] == "Meets" and after["review_count"] == 1
    bad = world.reviewer.put(f"/api/v1/submissions/{sid}/review", json={"scores": {"clarity": 11}})
    assert bad.status_code == 422
    bad = world.reviewer.put(f"/api/v1/submissions/{sid}/review", json={"scores": {"nope": 1}})
    assert bad.status_code == 422
    bad = world.reviewer.put(f"/api/v1/submissions/{sid}/review", json={"tier": "Great"})
    assert bad.status_code == 422
    audit = world.operator.get("/api/v1/audit", params={"submission": sid}).json()
    review = next(a for a in audit if a["action"] == "review")
    assert review["actor"] == "reviewer:rev"
    assert review["before"]["submission"]["task_score"] == 1.0
    assert review["after"]["submission"]["task_score"] == 0.75
    assert review["after"]["review"]["scores"] == {"clarity": 5, "judgement": 5}
    assert any(a["action"] == "grade" for a in audit)
    assert world.reviewer.get("/api/v1/audit").status_code == 403


def test_review_form_with_csrf(world: World) -> None:
    sid = _graded(world, "alice", RIGHT, task="py-rubric")
    c = world.svc.anonymous()
    r = c.post("/login", data={"username": "rev", "password": "correct horse battery"},
               follow_redirects=False)  # fmt: skip
    assert r.status_code == 303
    page = c.get(f"/review/submissions/{sid}").text
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    form = {"score_clarity": "10", "score_judgement": "8", "tier": "Exceeds"}
    assert c.post(f"/review/submissions/{sid}/review", data=form).status_code == 403
    r = c.post(
        f"/review/submissions/{sid}/review",
        data={**form, "csrf_token": token},
        follow_redirects=False,
    )
    assert r.status_code == 303 and "saved=" in r.headers["location"]
    detail = world.reviewer.get(f"/api/v1/submissions/{sid}").json()
    assert detail["reviews"][0]["scores"] == {"clarity": 10, "judgement": 8}
    assert detail["tier"] == "Exceeds"


def test_several_reviewers_agreement_and_adjudication(world: World) -> None:
    a = _graded(world, "alice", RIGHT, task="py-rubric")
    b = _graded(world, "bob", WRONG, task="py-rubric")
    r1, r2 = world.reviewer, world.reviewer2
    r1.put(f"/api/v1/submissions/{a}/review", json={"tier": "Exceeds"})
    page = r2.get(f"/review/submissions/{a}").text
    assert "shown after you submit yours" in page  # independent scoring
    r2.put(f"/api/v1/submissions/{a}/review", json={"tier": "Exceeds"})
    r1.put(f"/api/v1/submissions/{b}/review", json={"tier": "Exceeds"})
    r2.put(f"/api/v1/submissions/{b}/review", json={"tier": "Below"})
    ag = r1.get("/api/v1/tasks/py-rubric/agreement").json()
    assert ag["pairs"] == 2 and ag["multi_reviewed"] == 2
    assert ag["kappa"] is not None and ag["kappa"] < 1
    assert ag["adjudicate"] == [b]
    assert r1.get("/api/v1/submissions", params={"disagreement": True}).json()["total"] == 1
    assert "reviewers disagree" in r1.get(f"/review/submissions/{b}").text
    assert "Quadratic-weighted kappa" in r1.get("/review/tasks/py-rubric").text


def test_ranking_csv_export_and_distribution_plot(world: World) -> None:
    _graded(world, "alice", RIGHT)
    _graded(world, "bob", WRONG)
    ranking = world.reviewer.get(f"/api/v1/cohorts/{world.cohort_id}/ranking").json()
    assert [r["rank"] for r in ranking] == [1, 2]
    assert ranking[0]["composite"] > ranking[1]["composite"]
    r = world.reviewer.get(f"/api/v1/cohorts/{world.cohort_id}/export.csv")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert len(rows) == 2 and {row["task"] for row in rows} == {"py-exec"}
    assert all(row["applicant"].startswith("A-") for row in rows)
    svg = world.reviewer.get("/api/v1/tasks/py-exec/distribution.svg")
    assert svg.status_code == 200 and svg.headers["content-type"] == "image/svg+xml"
    assert svg.text.count('class="bar"') == 10 and "(n=2)" in svg.text


def test_logout_ends_the_session(world: World) -> None:
    c = world.svc.login("rev")
    assert c.get("/api/v1/auth/me").status_code == 200
    assert c.post("/api/v1/auth/logout").status_code == 204
    assert c.get("/api/v1/auth/me").status_code == 401


def test_cross_site_requests_without_a_session_are_refused(world: World) -> None:
    """Login CSRF: a foreign page cannot sign the browser in (nor post anything else)."""
    form = {"username": "rev", "password": "correct horse battery"}
    for header in (
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
        {"Referer": "https://evil.example/page"},
        {"Origin": "http://testserver.evil.example"},
    ):
        c = world.svc.anonymous()
        r = c.post("/login", data=form, headers=header, follow_redirects=False)
        assert r.status_code == 403, header
        assert "set-cookie" not in r.headers
        r = c.post("/api/v1/auth/login", json=form, headers=header)
        assert r.status_code == 403 and "set-cookie" not in r.headers
    # The service's own pages, and scripts that send neither header, sign in as before.
    for header in ({"Origin": "http://testserver"}, {"Referer": "http://testserver/login"}, {}):
        c = world.svc.anonymous()
        r = c.post("/login", data=form, headers=header, follow_redirects=False)
        assert r.status_code == 303 and "assess_session" in r.headers["set-cookie"], header
    # So do requests from the configured base URL (behind a proxy that rewrites Host).
    r = world.svc.anonymous().post(
        "/api/v1/auth/login", json=form, headers={"Origin": "http://127.0.0.1:8000"}
    )
    assert r.status_code == 200
    # A cookie session from a foreign page is refused before its CSRF token is even read.
    r = world.reviewer.post("/api/v1/auth/logout", headers={"Origin": "https://evil.example"})
    assert r.status_code == 403
    assert world.reviewer.get("/api/v1/auth/me").status_code == 200
    # Bearer requests cannot come from a browser by themselves: the header is not checked.
    r = world.alice.post(
        "/api/v1/me/tasks/py-exec/submissions",
        files={"file": ("s.zip", zip_bytes(RIGHT), "application/zip")},
        headers={"Origin": "https://evil.example"},
    )
    assert r.status_code == 201
