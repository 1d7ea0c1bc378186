"""The dashboard: counted submissions by default, search by the viewer's rights, sortable
headers, keyset pages, bounded page numbers, percent score filters, flags by kind, and
values written for people. Each test runs on SQLite and PostgreSQL (the world fixture)."""

from __future__ import annotations

import re
import shutil
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from sqlalchemy import update

from api.core.db import transaction
from api.models import Submission
from tests.api.conftest import PY_EXEC, RIGHT, WRONG, World, add_user


def _graded(world: World, client: Any, files: dict[str, str], task: str = "py-exec") -> int:
    sid: int = world.svc.upload(client, files, task=task).json()["id"]
    assert world.svc.wait(client, sid)["status"] == "graded"
    return sid


def _ids(client: Any, **params: object) -> list[int]:
    r = client.get("/api/v1/submissions", params=params)
    assert r.status_code == 200, r.text
    return [i["id"] for i in r.json()["items"]]


def _rows(html: str) -> list[int]:
    return [int(x) for x in re.findall(r'<tr class="row[^"]*" data-id="(\d+)"', html)]


def _services(world: World) -> Any:
    return world.svc.client.app.state.services  # type: ignore[attr-defined]


def test_counted_only_by_default_superseded_marked_and_filterable(world: World) -> None:
    first = _graded(world, world.alice, WRONG)
    second = _graded(world, world.alice, RIGHT)  # Alice's last upload: the one that counts
    other = _graded(world, world.bob, RIGHT)
    rev = world.reviewer
    assert set(_ids(rev)) == {second, other}
    assert _ids(rev, superseded="only") == [first]
    assert set(_ids(rev, superseded="include")) == {first, second, other}
    old = rev.get(f"/api/v1/submissions/{first}").json()
    assert old["counted"] is False and old["superseded_by"] == second
    new = rev.get(f"/api/v1/submissions/{second}").json()
    assert new["counted"] is True and new["superseded_by"] is None

    page = rev.get("/review").text
    assert set(_rows(page)) == {second, other}
    page = rev.get("/review", params={"superseded": "include"}).text
    assert set(_rows(page)) == {first, second, other}
    row = page.split(f'data-id="{first}"')[1].split("</tr>")[0]
    assert "superseded by" in row and f'href="/review/submissions/{second}"' in row
    assert 'name="superseded"' in page  # the select that asks for them


def test_search_respects_blind_review(world: World) -> None:
    a = _graded(world, world.alice, RIGHT)
    b = _graded(world, world.bob, WRONG)
    rev, ops = world.reviewer, world.operator
    label = rev.get(f"/api/v1/submissions/{a}").json()["applicant"]
    assert label.startswith("A-")
    # A blind reviewer finds Alice by pseudonym (any part of it, any case) or number ...
    assert _ids(rev, q=label) == [a]
    assert _ids(rev, q=label[2:7].upper()) == [a] or a in _ids(rev, q=label[2:7].upper())
    assert _ids(rev, q=f"#{b}") == [b]
    # ... never by name or e-mail, in the API or the page.
    for q in ("alice@example.org", "alice", "Alice", "example.org", "%", "_"):
        assert _ids(rev, q=q) == [], q
        assert _rows(rev.get("/review", params={"q": q}).text) == [], q
    # Operators see identities and find them; so do reviewers once the cohort is not blind.
    assert _ids(ops, q="alice@example") == [a]
    assert _ids(ops, q="BOB") == [b]
    world.operator.patch(f"/api/v1/cohorts/{world.cohort_id}", json={"blind": False})
    assert _ids(rev, q="alice@example.org") == [a]
    assert _rows(rev.get("/review", params={"q": "Alice"}).text) == [a]
    # LIKE wildcards are text: "%" matches no one.
    assert _ids(ops, q="%") == []


def test_sort_headers_page_size_and_row_links_carry_the_filter(world: World) -> None:
    ids = [_graded(world, world.alice, RIGHT), _graded(world, world.bob, WRONG)]
    rev = world.reviewer
    html = rev.get("/review", params={"sort": "score", "order": "desc", "per_page": "25"}).text
    header = re.search(r'<th scope="col" aria-sort="descending" data-sort="score">', html)
    assert header, "the sorted column says so"
    assert html.count("aria-sort=") == 1
    # Its link flips the order; other headers sort their own column.
    assert "sort=score&amp;order=asc" in html and "sort=id&amp;order=desc" in html
    assert "<option selected>25</option>" in html
    # Row links carry the filter and order (not the page position) for previous / next.
    assert f'href="/review/submissions/{ids[0]}?sort=score&amp;order=desc&amp;per_page=25"' in html
    assert _rows(rev.get("/review", params={"sort": "score", "order": "asc"}).text)[0] == ids[1]
    # Page sizes are the offered ones; anything else is named in the page.
    bad = rev.get("/review", params={"per_page": "7"})
    assert bad.status_code == 422 and "rows per page must be one of 25, 50, 100, 200" in bad.text


def test_score_filter_in_percent_with_clear_errors_in_the_page(world: World) -> None:
    right = _graded(world, world.alice, RIGHT)
    wrong = _graded(world, world.bob, WRONG)
    rev = world.reviewer
    r = rev.get("/review", params={"score_min": "50"})
    assert r.status_code == 200 and _rows(r.text) == [right]
    assert _rows(rev.get("/review", params={"score_max": "20.5"}).text) == [wrong]
    # Out of range: a page (not a JSON 422) that names the field, keeps the input, and still
    # applies the other filters.
    r = rev.get("/review", params={"score_min": "150", "task": "py-exec"})
    assert r.status_code == 422 and r.headers["content-type"].startswith("text/html")
    assert "minimum score must be a percentage from 0 to 100, not &#39;150&#39;" in r.text
    assert 'name="score_min" id="f-score-min" type="number" min="0" max="100"' in r.text
    assert 'value="150"' in r.text
    assert set(_rows(r.text)) == {right, wrong}
    r = rev.get("/review", params={"score_min": "80", "score_max": "10"})
    assert r.status_code == 422 and "minimum score is above the maximum score" in r.text
    r = rev.get("/review", params={"score_min": "abc"})
    assert r.status_code == 422 and "not &#39;abc&#39;" in r.text
    # The JSON API keeps fractions and says so in its schema.
    assert _ids(rev, score_min=0.5) == [right]
    assert rev.get("/api/v1/submissions", params={"score_min": 50}).status_code == 422
    spec = rev.get("/openapi.json").json()
    params = spec["paths"]["/api/v1/submissions"]["get"]["parameters"]
    score = next(p for p in params if p["name"] == "score_min")
    assert "fraction 0-1" in score["description"]


def test_page_numbers_are_bounded_and_keyset_pages_walk_the_order(world: World) -> None:
    subs = [
        _graded(world, world.alice, RIGHT),
        _graded(world, world.bob, WRONG),
        _graded(world, world.alice, RIGHT, task="py-rubric"),
        _graded(world, world.bob, WRONG, task="py-rubric"),
    ]
    rev = world.reviewer
    html = rev.get("/review", params={"page": "99"}).text
    assert "Page 99" not in html and re.search(r'id="page-number">1<.*id="page-count">1<', html)
    assert "There are only 1 page(s); showing the last." in html
    # The API by keyset, one per page: next, next, ... equals the order by offset.
    for sort, order in (("id", "asc"), ("score", "desc"), ("received", "desc"), ("status", "asc")):
        base = {"sort": sort, "order": order, "per_page": 1}
        expected = [i for p in range(1, 5) for i in _ids(rev, **base, page=p)]  # by page number
        assert sorted(expected) == sorted(subs)
        walked, cursor, numbers = [], None, []
        while True:
            at = {"after": cursor} if cursor else {}
            body = rev.get("/api/v1/submissions", params={**base, **at}).json()
            walked += [i["id"] for i in body["items"]]
            numbers.append(body["page"])
            cursor = body["next_cursor"]
            if cursor is None:
                break
        assert walked == expected, (sort, order)
        assert numbers == [1, 2, 3, 4] and body["pages"] == 4
        last = rev.get("/api/v1/submissions", params={**base, "last": True}).json()
        assert [i["id"] for i in last["items"]] == expected[-1:] and last["page"] == 4
        back = rev.get("/api/v1/submissions", params={**base, "before": last["prev_cursor"]}).json()
        assert [i["id"] for i in back["items"]] == expected[2:3] and back["page"] == 3
    # A cursor off the page grid (after the first row, two per page): rows 2-3, with both a
    # previous and a next page.
    base = {"sort": "id", "order": "asc", "per_page": 1}
    one = rev.get("/api/v1/submissions", params=base).json()
    off = rev.get(
        "/api/v1/submissions", params={**base, "per_page": 2, "after": one["next_cursor"]}
    ).json()
    assert [i["id"] for i in off["items"]] == sorted(subs)[1:3]
    assert off["prev_cursor"] and off["next_cursor"] and off["page"] == 1
    # A page past the end answers the last; a forged cursor is a clear 422.
    assert rev.get("/api/v1/submissions", params={"per_page": 1, "page": 50}).json()["page"] == 4
    r = rev.get("/api/v1/submissions", params={"after": "bm90IGEgY3Vyc29y"})
    assert r.status_code == 422 and "not valid for this sort" in r.json()["detail"]
    r = rev.get("/review", params={"after": "garbage"})
    assert r.status_code == 422 and "start from the first page" in r.text


def test_flags_by_kind_and_independence(world: World) -> None:
    a = _graded(world, world.alice, RIGHT)
    b = _graded(world, world.bob, WRONG)
    # The automatic pass's flag (set here as the pass sets it; test_integrity_pass runs one).
    with transaction(_services(world).sessions) as s:
        s.execute(update(Submission).where(Submission.id == a).values(integrity_auto=True))
    r1, r2 = world.reviewer, world.reviewer2
    r1.put(f"/api/v1/submissions/{b}/review", json={"tier": "Below", "integrity_flag": True})
    # Reviewer 1 flagged b: they see it; everyone sees the machine's flag on a.
    assert set(_ids(r1, flagged="true")) == {a, b}
    assert _ids(r1, flagged="reviewer") == [b]
    assert _ids(r1, flagged="auto") == [a]
    assert _ids(r1, flagged="false") == []
    # Reviewer 2 has not reviewed b: rev 1's judgement stays hidden, the machine's does not.
    assert _ids(r2, flagged="true") == [a]
    assert _ids(r2, flagged="reviewer") == []
    assert _ids(r2, flagged="false") == [b]
    row = next(i for i in r2.get("/api/v1/submissions").json()["items"] if i["id"] == b)
    assert row["integrity_flag"] is False and row["integrity_auto"] is False
    html = r2.get("/review").text
    a_row = html.split(f'data-id="{a}"')[1].split("</tr>")[0]
    assert "similarity (automatic)" in a_row
    b_row = html.split(f'data-id="{b}"')[1].split("</tr>")[0]
    assert "integrity (reviewer)" not in b_row
    assert "integrity (reviewer)" in r1.get("/review").text
    assert _rows(world.operator.get("/review", params={"flagged": "reviewer"}).text) == [b]


def test_dashboard_shows_values_for_people(world: World) -> None:
    _graded(world, world.alice, RIGHT)
    _graded(world, world.bob, WRONG, task="py-rubric")
    html = world.operator.get("/review").text
    table = html.split('<table id="submissions">')[1].split("</table>")[0]
    for raw in ("True", "False", "None", "0.826667"):
        assert raw not in table, raw
    assert re.search(r">10 / 10<", table) and re.search(r">2 / 10<", table)
    assert "100%" in table and "20%" in table


def _tags(html: str) -> list[tuple[str, list[tuple[str, str | None]]]]:
    """Every start tag in `html` with its attributes, as a browser's parser sees them."""
    found: list[tuple[str, list[tuple[str, str | None]]]] = []

    class Collect(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            found.append((tag, attrs))

    Collect().feed(html)
    return found


HOSTILE_MD = """\
# Linear probe

Read **carefully**; the table:

| step | what |
|------|------|
| 1 | fit |

<script>alert('instructions')</script>
<img src=x onerror="alert('img')">
[a javascript link](javascript:alert('link')) and [the docs](https://example.org/docs)
![remote figure](https://evil.example/track.png)
<a href="https://evil.example" onclick="alert('a')">raw anchor</a>
"""


def hostile_instructions_task(root: Path) -> Path:
    """py-exec, with instructions full of things that must not run, load or inject."""
    task = root / "py-exec"
    shutil.copytree(PY_EXEC, task, ignore=shutil.ignore_patterns("__pycache__", "bad"))
    (task / "instructions.md").write_text(HOSTILE_MD)
    return task


def test_instructions_are_rendered_markdown_and_inert(service_factory: Any, tmp_path: Path) -> None:
    svc = service_factory(tasks=(hostile_instructions_task(tmp_path / "t"),))
    add_user(svc, "ops", "operator")
    ops = svc.login("ops")
    ops.post("/api/v1/cohorts", json={"name": "c1", "tasks": ["py-exec"]})
    token = ops.post("/api/v1/invitations", json={"cohort": "c1", "email": "a@x.org"}).json()
    r = svc.applicant(token["token"]).get("/portal/tasks/py-exec/instructions")
    assert r.status_code == 200
    body = r.text.split('id="instructions">')[1].split("</article>")[0]
    assert "<h1>Linear probe</h1>" in body and "<strong>carefully</strong>" in body
    assert "<table>" in body and "<pre" not in body
    # Raw HTML shows as text; no script, handler, image or javascript: URL is markup.
    assert "&lt;script&gt;" in body and "&lt;img src=x" in body
    tags = _tags(body)
    assert not {t for t, _ in tags} & {"script", "img", "iframe", "style"}, tags
    attrs = [(name, value or "") for _, a in tags for name, value in a]
    assert not [n for n, _ in attrs if n.startswith("on")], attrs
    assert all(v.startswith("https://example.org") for n, v in attrs if n in ("href", "src"))
    assert "[image: remote figure]" in body
    assert '<a href="https://example.org/docs" rel="noopener nofollow">the docs</a>' in body
