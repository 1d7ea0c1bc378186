"""Every service page escapes what it shows: one Jinja environment, autoescape on for every
template name, and every template rendered with hostile strings in every field."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import jinja2
from fastapi.testclient import TestClient

from api import viewer, views
from grader.report import Check, Report
from grader.task import Task
from grader.text import UNSAFE_CHARACTERS, finalize
from tests.api.conftest import RIGHT, Service, add_user, fake_grade
from tests.api.hostile import (
    FIELDS,
    PASSWORD,
    RAW,
    escaped,
    evil,
    hostile_grade,
    hostile_task,
    seed,
    upload_with_hostile_name,
)

API = Path(views.__file__).parent


def test_one_environment_autoescapes_every_template_name() -> None:
    env = views.environment()
    assert env is views.templates().env
    assert env.autoescape is True  # not a function of the name: every template escapes
    names = env.list_templates()
    assert sorted(names) == sorted(p.name for p in (API / "templates").iterdir())
    for name in [*names, "x.txt", "x.j2", "x"]:
        assert env.autoescape is True or env.autoescape(name), name
    assert str(env.from_string("{{ x }}").render(x="<b>")) == "&lt;b&gt;"
    # Nothing else in the service builds an environment or marks text safe, except the
    # submission viewer's two renderers: Pygments' output and nh3's (tests/api/test_viewer.py).
    builders = re.compile(r"\b(Jinja2Templates|Environment|Template|Markup)\(|\|\s*safe\b")
    for path in [*API.rglob("*.py"), *(API / "templates").iterdir()]:
        text = path.read_text()
        hits = builders.findall(text)
        if path == Path(views.__file__):
            assert sorted(hits) == ["Environment", "Jinja2Templates"], hits
        elif path == Path(viewer.__file__):
            assert hits == ["Markup", "Markup"], hits
            assert "Markup(strip_controls(pyg_highlight(" in text  # highlight()
            assert "Markup(strip_controls(sanitize_markdown_html(" in text  # render_markdown()
        else:
            assert not hits, (path, hits)


def _signed_in(svc: Service, username: str) -> TestClient:
    c = svc.anonymous()
    r = c.post("/login", data={"username": username, "password": PASSWORD}, follow_redirects=False)
    assert r.status_code == 303, r.text
    return c


def _csrf(html: str) -> str:
    return html.split('name="csrf_token" value="')[1].split('"')[0]


def test_every_template_escapes_hostile_strings_in_every_field(
    service_factory: Callable[..., Service], tmp_path: Path, rubric_task: Path
) -> None:
    task = hostile_task(tmp_path / "hostile", rubric_task)
    svc = service_factory(grade_fn=hostile_grade, tasks=(task,))
    seeded = seed(svc.client.app.state.services)  # type: ignore[attr-defined]
    people = {
        "operator": _signed_in(svc, seeded.operator),
        "reviewer": _signed_in(svc, seeded.username),
        "applicant": svc.anonymous(),
        "anonymous": svc.anonymous(),
    }
    people["applicant"].get(f"/invite/{seeded.token}")
    responses = []
    for who, paths in seeded.pages().items():
        for path in paths:
            r = people[who].get(path, headers={"Accept": "text/html"})  # as a browser asks
            assert r.status_code in (200, 401, 404, 422), (who, path, r.status_code)
            responses.append((f"{who} GET {path}", r))
    # Pages answering a form: a failed sign-in, an invitation, a rejected upload.
    anon = people["anonymous"]
    form = {"username": evil("x"), "password": "x", "next": "/" + evil("next")}
    r = anon.post("/login", data=form)
    responses.append(("failed sign-in", r))
    ops = people["operator"]
    token = _csrf(ops.get("/admin").text)
    r = ops.post(
        "/admin/invite",
        data={"cohort": evil("cohort"), "email": evil("email") + "@x.org", "csrf_token": token},
        files={"csv_file": ("", b"", "text/csv")},
    )
    assert r.status_code == 200, r.text
    responses.append(("invitation", r))
    applicant = people["applicant"]
    token = _csrf(applicant.get("/portal").text)
    r = applicant.post(
        "/portal/tasks/py-rubric/submissions",
        files={"file": ("s.zip", upload_with_hostile_name(), "application/zip")},
        data={"csrf_token": token},
    )
    assert r.status_code == 422, r.text
    responses.append(("rejected upload", r))

    rendered: set[str] = set()
    shown: set[str] = set()
    for what, r in responses:
        assert r.headers["content-type"].startswith("text/html"), what
        assert RAW not in r.text, f"{what}: unescaped {r.text[r.text.index(RAW) - 80 :][:200]}"
        rendered.add(r.template.name)  # type: ignore[attr-defined]
        shown |= {f for f in FIELDS if escaped(f) in r.text}
    # base.html.j2 and the partials (_*.html.j2) are rendered inside the pages.
    templates = {
        p.name for p in (API / "templates").iterdir() if not p.name.startswith(("base.", "_"))
    }
    assert rendered == templates, templates - rendered
    assert shown == set(FIELDS), set(FIELDS) - shown
    # Each page's title holds only the title: no markup from another block.
    for what, r in responses:
        title = r.text.split("<title>", 1)[1].split("</title>", 1)[0]
        assert "<" not in title, (what, title)


def test_jinja_would_not_escape_these_names_by_default() -> None:
    """Why the environment says autoescape=True: select_autoescape() leaves *.j2 raw."""
    assert jinja2.select_autoescape()("page.html.j2") is False


CONTROLS = "\u202e\x1b[31m\x1b]0;t\x07\x07\u2066\u200f"


def _grade_with_controls(task: Task, submission: Path, artifacts: Path) -> Report:
    """fake_grade, with control and bidi characters in every text the check phase writes."""
    report = fake_grade(task, submission, artifacts)
    checks = [
        Check(**{**c.model_dump(), "name": f"name-ok{CONTROLS}", "feedback": f"fb-ok{CONTROLS}"})
        for c in report.checks
    ]
    return report.model_copy(update={"checks": checks, "explanation": f"why-ok{CONTROLS}"})


def test_pages_strip_escapes_controls_and_bidi_overrides_from_what_they_show(
    service_factory: Callable[..., Service],
) -> None:
    """Every value a page prints passes through grader.text.finalize: check names and
    feedback, the report page, applicant names and review comments arrive without an
    escape sequence, a control character or a bidi override."""
    env = views.environment()
    assert env.finalize is finalize
    svc = service_factory(grade_fn=_grade_with_controls)
    add_user(svc, "ops", "operator")
    add_user(svc, "rev", "reviewer")
    ops, rev = svc.login("ops"), svc.login("rev")
    r = ops.post("/api/v1/cohorts", json={"name": "c", "blind": False, "tasks": ["py-rubric"]})
    assert r.status_code == 201, r.text
    cohort_id = r.json()["id"]
    r = ops.post(
        "/api/v1/invitations",
        json={"cohort": "c", "email": "a@example.org", "name": f"applicant-ok{CONTROLS}"},
    )
    token = r.json()["token"]
    applicant = svc.applicant(token)
    sid = svc.upload(applicant, RIGHT, task="py-rubric").json()["id"]
    assert svc.wait(applicant, sid)["status"] == "graded"
    review = {"scores": {"clarity": 5}, "tier": "Meets", "comment": f"comment-ok{CONTROLS}"}
    assert rev.put(f"/api/v1/submissions/{sid}/review", json=review).status_code == 200
    # Applicants read their checks once the results are released.
    assert ops.post(f"/api/v1/cohorts/{cohort_id}/release").status_code == 200
    portal = svc.anonymous()
    assert portal.get(f"/invite/{token}").status_code == 200
    pages = {
        "submission": (ops.get(f"/review/submissions/{sid}").text, ["applicant-ok", "comment-ok"]),
        "dashboard": (ops.get("/review").text, ["applicant-ok"]),
        "report": (ops.get(f"/review/submissions/{sid}/report.html").text, ["name-ok", "why-ok"]),
        "portal": (portal.get("/portal").text, ["name-ok", "fb-ok"]),
    }
    for where, (text, shown) in pages.items():
        found = {f"U+{ord(c):04X}" for c in re.findall(f"[{UNSAFE_CHARACTERS}]", text)}
        assert not found, (where, found)
        assert all(s in text for s in shown), (where, shown)
