"""The review page: evidence beside the rubric, the report inline, the form that keeps its
input on a refusal, and saving that moves on to the next submission (filter or queue)."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.core.db import transaction
from api.models import Assignment, Review, User
from api.routes.review import opened_files
from api.viewer import FileEntry, Manifest
from tests.api.conftest import RIGHT, RUBRIC_TOML, WRONG, Service, World, add_user

WRITEUP = "# Method\n\nWe tried **three** probes.\n\n<script>alert(1)</script>\n"
CODE = "ANSWER = 6 * 7\n\n\ndef probe(x):\n    return x  # <b>not bold</b>\n"


def _graded(world: World, who: TestClient, files: dict[str, str], task: str = "py-rubric") -> int:
    sid: int = world.svc.upload(who, files, task=task).json()["id"]
    assert world.svc.wait(who, sid)["status"] == "graded"
    return sid


def _csrf(html: str) -> str:
    return html.split('name="csrf_token" value="')[1].split('"')[0]


def _browser(svc: Service, username: str) -> TestClient:
    """A cookie session, as a browser has (forms carry the CSRF field)."""
    c = svc.anonymous()
    r = c.post("/login", data={"username": username, "password": "correct horse battery"},
               follow_redirects=False)  # fmt: skip
    assert r.status_code == 303, r.text
    return c


def _services(world: World):  # type: ignore[no-untyped-def]
    return world.svc.client.app.state.services  # type: ignore[attr-defined]


def _entries(*paths_kinds: tuple[str, str]) -> Manifest:
    files = {p: FileEntry(p, 1, "0" * 64, k) for p, k in paths_kinds}
    return Manifest(files, {p: p for p in files})


def test_files_to_open_come_from_the_rubric_or_fall_back_to_the_write_up_and_code() -> None:
    m = _entries(("a/deep.md", "markdown"), ("writeup.md", "markdown"), ("run.sh", "code"),
                 ("src/main.py", "code"), ("data.csv", "csv"))  # fmt: skip
    assert opened_files({}, m) == [("writeup.md", []), ("a/deep.md", []), ("src/main.py", [])]
    rubric = {"criteria": [
        {"id": "a", "name": "Method", "files": ["writeup.md", "src/*.py"]},
        {"id": "b", "name": "Data", "files": ["*.csv", "writeup.md"]},
        {"id": "c", "name": "Nothing", "files": ["absent.txt"]},
    ]}  # fmt: skip
    assert opened_files(rubric, m) == [
        ("writeup.md", ["Method", "Data"]), ("src/main.py", ["Method"]), ("data.csv", ["Data"])
    ]  # fmt: skip
    # Globs that match nothing fall back, as if no criterion named any file.
    none = {"criteria": [{"id": "a", "name": "A", "files": ["*.ipynb"]}]}
    assert opened_files(none, m)[0] == ("writeup.md", [])
    assert opened_files({}, _entries(("data.csv", "csv"))) == []


def test_page_shows_write_up_code_and_report_inline_beside_the_form(world: World) -> None:
    sid = _graded(world, world.alice, {**RIGHT, "main.py": CODE, "writeup.md": WRITEUP})
    html = world.reviewer.get(f"/review/submissions/{sid}").text
    evidence = html[html.index('id="evidence"') : html.index('class="rubric-pane"')]
    form = html[html.index('class="rubric-pane"') :]
    # The write-up rendered and sanitised, the code highlighted with numbered line links.
    assert "<h3>Method</h3>" in evidence and "<strong>three</strong>" in evidence
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in evidence and "<script>alert" not in html
    assert '<span class="k">def</span>' in evidence and "&lt;b&gt;not bold" in evidence
    assert f'href="/review/submissions/{sid}/files/main.py?line=4#L-4"' in evidence
    # The report as data in the page (reviewers see reviewer-only checks), the full HTML
    # report still only in a sandboxed frame, behind a disclosure.
    assert 'id="checks"' in evidence and "HIDDEN-CHECK-DETAIL" in evidence
    assert '<th scope="col">Check</th>' in evidence
    assert re.search(r'<details class="full-report"[^>]*>.*<iframe class="report" src="[^"]+"'
                     r' sandbox', evidence, re.S)  # fmt: skip
    # The rubric form on the right, a labelled field per criterion, the page's own script.
    assert 'id="review-form"' in form and 'for="score-clarity"' in form
    assert 'for="score-judgement"' in form
    assert '<script src="/static/review.js" defer></script>' in html
    assert "alice" not in html.lower()  # blind cohort: a pseudonym only


def test_criteria_name_the_files_to_open(
    service_factory: Callable[..., Service], rubric_task: Path, tmp_path: Path
) -> None:
    root = tmp_path / "tasks" / "py-rubric"
    shutil.copytree(rubric_task, root)
    toml = RUBRIC_TOML.replace(
        'name = "Clarity of the write-up"\n',
        'name = "Clarity of the write-up"\nfiles = ["notes/*.md"]\n',
    )
    (root / "rubric.toml").write_text(toml)
    svc = service_factory(tasks=(root,))
    add_user(svc, "ops", "operator")
    ops = svc.login("ops")
    assert ops.post("/api/v1/cohorts", json={"name": "c", "tasks": ["py-rubric"]}).is_success
    token = ops.post("/api/v1/invitations", json={"cohort": "c", "email": "a@x.org"}).json()
    app = svc.applicant(token["token"])
    files = {**RIGHT, "writeup.md": "# Not this one\n", "notes/method.md": "# The method\n"}
    sid = svc.upload(app, files, task="py-rubric").json()["id"]
    assert svc.wait(app, sid)["status"] == "graded"
    html = ops.get(f"/review/submissions/{sid}").text
    evidence = html[html.index('id="evidence"') : html.index('class="rubric-pane"')]
    assert "<h3>The method</h3>" in evidence and "Read for: Clarity of the write-up" in evidence
    assert "Not this one" not in evidence  # only the criterion's files open


def test_a_refused_review_re_renders_with_the_input_kept(world: World) -> None:
    sid = _graded(world, world.alice, RIGHT)
    c = _browser(world.svc, "rev")
    token = _csrf(c.get(f"/review/submissions/{sid}").text)
    for score, error in (("abc", "&#39;abc&#39; is not a number"), ("11", "11 is outside 0 to 10")):
        r = c.post(
            f"/review/submissions/{sid}/review?task=py-rubric",
            data={"csrf_token": token, "score_clarity": score, "score_judgement": "7",
                  "tier": "Meets", "comment": "Careful <work>", "integrity_note": "none"},
            follow_redirects=False,
        )  # fmt: skip
        assert r.status_code == 422, r.text
        page = r.text
        alert = page[page.index('role="alert"') : page.index("</div>", page.index('role="alert"'))]
        assert "Clarity of the write-up" in alert and error in alert, alert
        assert f'value="{score}"' in page and 'value="7"' in page  # every field as typed
        assert "Careful &lt;work&gt;</textarea>" in page and 'value="none"' in page
        assert '<option value="Meets" selected>' in page
        # The form still carries the filter, and nothing was stored.
        assert f'action="/review/submissions/{sid}/review?task=py-rubric"' in page
    with _services(world).sessions() as s:
        assert s.query(Review).count() == 0


def test_saving_goes_to_the_next_in_the_filter_with_a_saved_message(world: World) -> None:
    first = _graded(world, world.alice, RIGHT)
    second = _graded(world, world.bob, WRONG)
    other_task = _graded(world, world.bob, RIGHT, task="py-exec")
    c = _browser(world.svc, "rev")
    query = "task=py-rubric&sort=id&order=asc"
    shown = query.replace("&", "&amp;")  # as HTML writes it
    page = c.get(f"/review/submissions/{first}?{query}").text
    assert f'href="/review/submissions/{second}?{shown}" id="nav-next"' in page
    assert 'id="nav-prev-none"' in page
    assert f'href="/review?{shown}" id="nav-back"' in page
    form = {"csrf_token": _csrf(page), "score_clarity": "8", "score_judgement": "6"}
    r = c.post(f"/review/submissions/{first}/review?{query}", data=form, follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == f"/review/submissions/{second}?{query}&saved={first}"
    landed = c.get(r.headers["location"]).text
    status = landed[
        landed.index('id="status"') : landed.index("</div>", landed.index('id="status"'))
    ]
    assert 'aria-live="polite"' in status and f"Review of #{first} saved." in status
    assert f'href="/review/submissions/{first}?{shown}" id="nav-prev"' in landed
    assert str(other_task) not in landed.split('id="nav-next')[0].rsplit("nav-prev", 1)[-1]
    # The last one in the filter: saved, and the page says there is no next.
    r = c.post(f"/review/submissions/{second}/review?{query}", data=form, follow_redirects=False)
    assert r.headers["location"] == f"/review/submissions/{second}?{query}&saved={second}&done=1"
    assert "That was the last one in this list." in c.get(r.headers["location"]).text
    # "Stay on this page" stays.
    r = c.post(f"/review/submissions/{first}/review?{query}", data={**form, "stay": "on"},
               follow_redirects=False)  # fmt: skip
    assert r.headers["location"] == f"/review/submissions/{first}?{query}&saved={first}"


def test_queue_mode_walks_my_assignments(world: World) -> None:
    a1 = _graded(world, world.alice, RIGHT)
    b1 = _graded(world, world.bob, WRONG)
    with transaction(_services(world).sessions) as s:
        rev = s.query(User).filter_by(username="rev").one()
        for sid in (a1, b1):
            s.add(Assignment(submission_id=sid, reviewer_id=rev.id, assigned_by="ops"))
    c = _browser(world.svc, "rev")
    page = c.get(f"/review/submissions/{a1}?queue=mine").text
    assert f'href="/review/submissions/{b1}?queue=mine" id="nav-next"' in page
    assert 'href="/review/queue" id="nav-back"' in page
    assert f'href="/review/queue/next?after={a1}" id="nav-queue-next"' in page
    # The queue travels through the file pages and their comment form, and back.
    assert f'href="/review/submissions/{a1}/files/main.py?queue=mine&amp;line=1#L-1"' in page
    file_page = c.get(f"/review/submissions/{a1}/files/main.py?queue=mine&line=1").text
    assert f'href="/review/submissions/{a1}?queue=mine" id="back"' in file_page
    assert '<input type="hidden" name="context" value="queue=mine">' in file_page
    note = {"csrf_token": _csrf(page), "path": "main.py", "line": "1", "body": "ok",
            "context": "queue=mine&line=9#x"}  # fmt: skip
    r = c.post(f"/review/submissions/{a1}/comments", data=note, follow_redirects=False)
    assert re.fullmatch(rf"/review/submissions/{a1}/files/main.py\?queue=mine#comment-\d+",
                        r.headers["location"]), r.headers["location"]  # fmt: skip
    form = {"csrf_token": _csrf(page), "score_clarity": "8", "score_judgement": "6"}
    r = c.post(f"/review/submissions/{a1}/review?queue=mine", data=form, follow_redirects=False)
    assert r.headers["location"] == f"/review/submissions/{b1}?queue=mine&saved={a1}"
    landed = c.get(r.headers["location"]).text
    assert f'href="/review/submissions/{a1}?queue=mine" id="nav-prev"' in landed
    assert 'id="nav-next-none"' in landed  # a1 is reviewed: nothing after b1
    r = c.post(f"/review/submissions/{b1}/review?queue=mine", data=form, follow_redirects=False)
    assert r.headers["location"] == f"/review/submissions/{b1}?queue=mine&saved={b1}&done=1"
    assert "Your queue has no unreviewed submission left." in c.get(r.headers["location"]).text
    # In my queue the page offers to declare a conflict of interest (the queue's own form).
    assert 'action="/review/queue/conflict"' in landed
    assert f'<input type="hidden" name="submission_id" value="{b1}">' in landed
    assert 'action="/review/queue/conflict"' not in c.get(f"/review/submissions/{b1}").text


def test_page_shows_only_comments_the_reviewer_may_see(world: World) -> None:
    sid = _graded(world, world.alice, {**RIGHT, "writeup.md": WRITEUP})
    note = {"path": "main.py", "line": 1, "body": "rev2 thinks <so>"}
    r = world.reviewer2.post(f"/api/v1/submissions/{sid}/comments", json=note)
    assert r.status_code == 201, r.text
    html = world.reviewer.get(f"/review/submissions/{sid}").text
    assert "rev2 thinks" not in html and "show once you have saved your review" in html
    assert world.reviewer.put(f"/api/v1/submissions/{sid}/review",
                              json={"scores": {"clarity": 5}}).is_success  # fmt: skip
    html = world.reviewer.get(f"/review/submissions/{sid}").text
    assert "rev2 thinks &lt;so&gt;" in html
    assert "rev2 thinks &lt;so&gt;" in world.operator.get(f"/review/submissions/{sid}").text


@pytest.mark.parametrize("bad", ["saved=0", "queue=theirs"])
def test_bad_page_parameters_are_refused(world: World, bad: str) -> None:
    sid = _graded(world, world.alice, RIGHT)
    assert world.reviewer.get(f"/review/submissions/{sid}?{bad}").status_code == 422


def test_rubric_criteria_may_name_relative_files(tmp_path: Path) -> None:
    from grader.errors import TaskSpecError
    from grader.rubric import load_rubric

    named = RUBRIC_TOML.replace(
        'name = "Experimental judgement"\n',
        'name = "Experimental judgement"\nfiles = ["writeup.md", "src/*.py"]\n',
    )
    (tmp_path / "rubric.toml").write_text(named)
    rubric = load_rubric(tmp_path)
    assert rubric is not None
    assert [c.files for c in rubric.criteria] == [(), ("writeup.md", "src/*.py")]
    assert rubric.model_dump(mode="json")["criteria"][1]["files"] == ["writeup.md", "src/*.py"]
    for bad in ('"/etc/passwd"', '""', "3"):
        (tmp_path / "rubric.toml").write_text(
            RUBRIC_TOML.replace("max_score = 10\n", f"max_score = 10\nfiles = [{bad}]\n", 1)
        )
        with pytest.raises(TaskSpecError, match="files"):
            load_rubric(tmp_path)


def test_long_files_open_inline_by_their_beginning() -> None:
    from api.routes.review import INLINE_BYTES, inline

    code = b"".join(b"x_%d = %d\n" % (i, i) for i in range(20_000))
    shown = inline(FileEntry("main.py", len(code), "0" * 64, "code"), code)
    assert shown.truncated and 0 < len(shown.lines) < 20_000
    assert sum(len(str(x)) for x in shown.lines) < 40 * INLINE_BYTES  # markup of the start only
    small = inline(FileEntry("main.py", 8, "0" * 64, "code"), b"x = 1\n")
    assert not small.truncated and len(small.lines) == 1
    big_nb = b"{" + b" " * (5 * 1024 * 1024) + b"}"
    assert (
        "open the file"
        in inline(FileEntry("a.ipynb", len(big_nb), "0" * 64, "notebook"), big_nb).problem
    )


def test_a_superseded_upload_says_which_one_counts(world: World) -> None:
    old = _graded(world, world.alice, RIGHT)
    new = _graded(world, world.alice, WRONG)
    page = world.reviewer.get(f"/review/submissions/{old}").text
    marked = page[page.index('id="superseded"') :]
    assert f'<a href="/review/submissions/{new}">#{new}</a>' in marked[: marked.index("</span>")]
    assert 'id="superseded"' not in world.reviewer.get(f"/review/submissions/{new}").text


def test_only_the_filter_travels_with_the_page(world: World) -> None:
    """Other words in the address (a message, a position) are never carried into links."""
    sid = _graded(world, world.alice, RIGHT)
    c = _browser(world.svc, "rev")
    page = c.get(f"/review/submissions/{sid}?task=py-rubric&error=Saved%21&page=3&x=<y>").text
    assert f'action="/review/submissions/{sid}/review?task=py-rubric"' in page
    for word in ("error=", "page=3", "x=%3Cy", "Saved!"):
        assert word not in page, page[page.index(word) - 200 : page.index(word) + 50]


def test_opened_files_are_rendered_once_per_submission(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Coming back to a page (after saving, from a file) does not render its files again."""
    import api.routes.review as review

    sid = _graded(world, world.alice, RIGHT)
    c = _browser(world.svc, "rev")
    calls: list[str] = []
    real = review.render

    def counting(entry: object, data: bytes, **kw: object) -> object:
        calls.append(getattr(entry, "path", "?"))
        return real(entry, data, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(review, "render", counting)
    first = c.get(f"/review/submissions/{sid}").text
    rendered = len(calls)
    assert rendered >= 1
    again = c.get(f"/review/submissions/{sid}").text
    assert len(calls) == rendered  # the second view used what the first rendered
    for shown in re.findall(r'<div class="highlight">.{0,400}', first, flags=re.S):
        assert shown in again  # the same rendered code, served again
