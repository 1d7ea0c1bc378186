"""Inline comments: anchored to a file, a line or a notebook cell of the stored submission,
plain text, under the reviews' independence rule, audited, exported for operators."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from api.models import AuditEntry
from tests.api.conftest import RIGHT, Service, World

NOTEBOOK = {
    "nbformat": 4, "nbformat_minor": 5, "metadata": {},
    "cells": [
        {"cell_type": "markdown", "metadata": {}, "id": "a", "source": "# Notes"},
        {"cell_type": "code", "metadata": {}, "id": "b", "execution_count": 1,
         "source": "print(1)", "outputs": []},
    ],
}  # fmt: skip
FILES = {
    **RIGHT,
    "helper.py": "def f():\n    return 1\n\n# end",  # 4 lines, no final newline
    "writeup.md": "# Method\n\nText.\n",
    "nb.ipynb": json.dumps(NOTEBOOK),
}


def _sub(world: World) -> int:
    sid: int = world.svc.upload(world.alice, FILES, task="py-rubric").json()["id"]
    assert world.svc.wait(world.alice, sid)["status"] == "graded"
    return sid


def _post(c: TestClient, sid: int, **body: object) -> Any:
    return c.post(f"/api/v1/submissions/{sid}/comments", json={"line": None, **body})


def test_anchors_are_checked_against_the_stored_submission(world: World) -> None:
    sid = _sub(world)
    rev = world.reviewer
    ok: list[dict[str, Any]] = [
        {"path": "main.py", "line": 1, "body": "the answer"},
        {"path": "helper.py", "line": 4, "body": "last line, no newline"},
        {"path": "writeup.md", "body": "the whole write-up"},
        {"path": "nb.ipynb", "cell": 2, "body": "this cell"},
    ]
    for body in ok:
        r = _post(rev, sid, **body)
        assert r.status_code == 201, (body, r.text)
    bad: list[tuple[dict[str, Any], str]] = [
        ({"path": "helper.py", "line": 5, "body": "x"}, "line 5 is past the end of helper.py"),
        ({"path": "nb.ipynb", "cell": 3, "body": "x"}, "cell 3 is past the end of nb.ipynb"),
        ({"path": "main.py", "cell": 1, "body": "x"}, "main.py is not a notebook"),
        ({"path": "main.py", "line": 1, "cell": 1, "body": "x"}, "not both"),
        ({"path": "../etc/passwd", "body": "x"}, "no file '../etc/passwd' in this submission"),
        ({"path": "absent.py", "body": "x"}, "no file 'absent.py'"),
        ({"path": "main.py", "body": "  \n\x1b[31m "}, "the comment is empty"),
        ({"path": "main.py", "body": "x" * 5001}, "the comment is 5001 characters; at most 5000"),
    ]  # fmt: skip
    for body, message in bad:
        r = _post(rev, sid, **body)
        assert r.status_code == 422, body
        assert message in r.json()["detail"], (body, r.json())
    assert _post(rev, sid, path="main.py", line=0, body="x").status_code == 422
    listed = rev.get(f"/api/v1/submissions/{sid}/comments").json()
    assert [(c["path"], c["line"], c["cell"]) for c in listed] == [
        ("helper.py", 4, None), ("main.py", 1, None), ("nb.ipynb", None, 2),
        ("writeup.md", None, None),
    ]  # fmt: skip
    assert all(c["mine"] and c["reviewer"] == "rev" for c in listed)


def test_bodies_are_plain_cleaned_text(world: World) -> None:
    sid = _sub(world)
    r = _post(world.reviewer, sid, path="main.py", line=1,
              body="  \x1b[31mred\x1b[0m <b>bold</b> \u202eevil\n ")  # fmt: skip
    assert r.status_code == 201
    assert r.json()["body"] == "red <b>bold</b> evil"
    page = world.reviewer.get(f"/review/submissions/{sid}/files/main.py").text
    assert "red &lt;b&gt;bold&lt;/b&gt; evil" in page and "<b>bold</b>" not in page


def test_others_comments_follow_the_independence_rule(world: World) -> None:
    sid = _sub(world)
    mine = _post(world.reviewer, sid, path="main.py", line=1, body="rev's note").json()
    # rev2 has not saved a review: rev's comment is invisible, as good as absent.
    assert world.reviewer2.get(f"/api/v1/submissions/{sid}/comments").json() == []
    assert (
        world.reviewer2.patch(f"/api/v1/comments/{mine['id']}", json={"body": "x"}).status_code
        == 404
    )
    assert world.reviewer2.delete(f"/api/v1/comments/{mine['id']}").status_code == 404
    page = world.reviewer2.get(f"/review/submissions/{sid}/files/main.py").text
    assert "rev's note" not in page and "rev&#39;s note" not in page
    # Operators see every comment; after saving a review, rev2 does too (and may not edit it).
    assert [
        c["body"] for c in world.operator.get(f"/api/v1/submissions/{sid}/comments").json()
    ] == ["rev's note"]
    assert world.reviewer2.put(f"/api/v1/submissions/{sid}/review",
                               json={"scores": {"clarity": 4}}).is_success  # fmt: skip
    seen = world.reviewer2.get(f"/api/v1/submissions/{sid}/comments").json()
    assert [(c["body"], c["mine"]) for c in seen] == [("rev's note", False)]
    assert (
        world.reviewer2.patch(f"/api/v1/comments/{mine['id']}", json={"body": "x"}).status_code
        == 403
    )
    assert world.reviewer2.delete(f"/api/v1/comments/{mine['id']}").status_code == 403
    # The author edits and deletes; an operator deletes anyone's.
    r = world.reviewer.patch(f"/api/v1/comments/{mine['id']}", json={"body": "edited"})
    assert r.status_code == 200 and r.json()["body"] == "edited"
    assert (
        world.reviewer.patch(f"/api/v1/comments/{mine['id']}", json={"body": " "}).status_code
        == 422
    )
    assert (
        world.operator.patch(f"/api/v1/comments/{mine['id']}", json={"body": "x"}).status_code
        == 403
    )
    other = _post(world.reviewer2, sid, path="main.py", body="rev2's").json()
    assert world.reviewer.delete(f"/api/v1/comments/{mine['id']}").status_code == 204
    assert world.operator.delete(f"/api/v1/comments/{other['id']}").status_code == 204
    assert world.operator.get(f"/api/v1/submissions/{sid}/comments").json() == []
    services = world.svc.client.app.state.services  # type: ignore[attr-defined]
    with services.sessions() as s:
        actions = [
            (a.actor, a.action)
            for a in s.scalars(
                select(AuditEntry)
                .where(AuditEntry.action.like("comment-%"))
                .order_by(AuditEntry.id)
            )
        ]
    assert actions == [
        ("reviewer:rev", "comment-added"), ("reviewer:rev", "comment-edited"),
        ("reviewer:rev2", "comment-added"), ("reviewer:rev", "comment-deleted"),
        ("operator:ops", "comment-deleted"),
    ]  # fmt: skip


def test_applicants_and_strangers_cannot_comment(world: World) -> None:
    sid = _sub(world)
    for c in (world.alice, world.svc.anonymous()):
        assert _post(c, sid, path="main.py", body="x").status_code == 401
        assert c.get(f"/api/v1/submissions/{sid}/comments").status_code == 401
    assert _post(world.reviewer, 999999, path="main.py", body="x").status_code == 404


def _browser(svc: Service, username: str) -> tuple[TestClient, str]:
    c = svc.anonymous()
    r = c.post("/login", data={"username": username, "password": "correct horse battery"},
               follow_redirects=False)  # fmt: skip
    assert r.status_code == 303
    page = c.get("/review").text
    return c, page.split('name="csrf_token" value="')[1].split('"')[0]


def test_the_file_page_form_adds_a_comment_next_to_its_line(world: World) -> None:
    sid = _sub(world)
    c, token = _browser(world.svc, "rev")
    url = f"/review/submissions/{sid}/files/helper.py"
    page = c.get(f"{url}?line=2").text
    assert 'id="comment-line" name="line" inputmode="numeric" pattern="[0-9]*" value="2"' in page
    assert 'href="?line=2#L-2" class="line-link"' in page
    form = {"csrf_token": token, "path": "helper.py", "line": "2", "body": "why <1>?"}
    assert (
        c.post(f"/review/submissions/{sid}/comments", data={**form, "csrf_token": "x"}).status_code
        == 403
    )
    r = c.post(f"/review/submissions/{sid}/comments", data=form, follow_redirects=False)
    assert r.status_code == 303
    cid = world.reviewer.get(f"/api/v1/submissions/{sid}/comments").json()[0]["id"]
    assert r.headers["location"] == f"{url}#comment-{cid}"
    page = c.get(url).text
    line2 = page.index('id="L-2"')
    assert page.index('class="line-comments"') > line2 and page.index('id="L-3"') > page.index(
        f'id="comment-{cid}"'
    )  # the comment sits between line 2 and line 3
    assert "why &lt;1&gt;?" in page
    # A refused form: the page again (422), the text kept, the reason in an alert.
    r = c.post(
        f"/review/submissions/{sid}/comments", data={**form, "line": "40", "body": "keep me"}
    )
    assert r.status_code == 422
    assert "line 40 is past the end of helper.py (4 lines)" in r.text and 'role="alert"' in r.text
    assert ">keep me</textarea>" in r.text and 'value="40"' in r.text
    r = c.post(f"/review/submissions/{sid}/comments", data={**form, "line": "two"})
    assert r.status_code == 422 and "the line must be a whole number" in r.text
    # Edit and delete by form.
    r = c.post(f"/review/comments/{cid}/edit", data={"csrf_token": token, "body": "better"},
               follow_redirects=False)  # fmt: skip
    assert r.status_code == 303 and "better" in c.get(url).text
    r = c.post(f"/review/comments/{cid}/delete", data={"csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"{url}?deleted=1#comments"
    assert "Comment deleted." in c.get(r.headers["location"]).text
    # The submission page lists comments by file.
    _post(world.reviewer, sid, path="nb.ipynb", cell=1, body="on the notes cell")
    page = c.get(f"/review/submissions/{sid}").text
    listing = page[page.index('id="all-comments"') :]
    assert "nb.ipynb" in listing and "cell 1" in listing and "on the notes cell" in listing
    nb = c.get(f"/review/submissions/{sid}/files/nb.ipynb").text
    assert nb.index('id="cell-1"') < nb.index("on the notes cell") < nb.index('id="cell-2"')


def test_operators_export_comments_as_safe_csv(world: World) -> None:
    sid = _sub(world)
    _post(world.reviewer, sid, path="main.py", line=1, body='=HYPERLINK("http://x","y")')
    _post(world.reviewer, sid, path="writeup.md", body="plain, with a comma")
    url = f"/api/v1/cohorts/{world.cohort_id}/comments.csv"
    assert world.reviewer.get(url).status_code == 403
    assert world.alice.get(url).status_code == 401
    r = world.operator.get(url)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert [(x["path"], x["line"], x["comment"]) for x in rows] == [
        ("main.py", "1", '\'=HYPERLINK("http://x","y")'),  # never a formula
        ("writeup.md", "", "plain, with a comma"),
    ]
    assert rows[0]["applicant"] == "Alice <alice@example.org>"  # operators see identities
    assert rows[0]["reviewer"] == "rev" and rows[0]["submission"] == str(sid)
    assert world.operator.get("/api/v1/cohorts/9999/comments.csv").status_code == 404
