"""Every integer parameter has a range in its schema: out of range is a 422, never a 500."""

from __future__ import annotations

import annotated_types
import pytest
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from api.app import create_app
from tests.api.conftest import World

HUGE = [str(2**62), str(2**63), str(10**30), "0", "-1"]


def _fields(dep: Dependant) -> list[object]:
    out: list[object] = [*dep.path_params, *dep.query_params, *dep.body_params]
    for sub in dep.dependencies:
        out += _fields(sub)
    return out


def _routes(routes: list[object]) -> list[APIRoute]:
    out: list[APIRoute] = []
    for route in routes:
        if isinstance(route, APIRoute):
            out.append(route)
        elif hasattr(route, "original_router"):  # an included router (FastAPI >= 0.16x)
            out += _routes(route.original_router.routes)
    return out


def _int_params(app: object) -> list[tuple[str, str, list[object]]]:
    """Every integer path, query and form parameter of every route (pages included)."""
    found = []
    for route in _routes(app.routes):  # type: ignore[attr-defined]
        for field in _fields(route.dependant):
            info = field.field_info  # type: ignore[attr-defined]
            if info.annotation is int or info.annotation == int | None:
                found.append((route.path, field.name, list(info.metadata)))  # type: ignore[attr-defined]
    return found


def test_every_integer_parameter_has_a_range(tmp_path: object) -> None:
    from api.core.config import Settings

    app = create_app(Settings(data_dir=tmp_path, secret_key="x"))  # type: ignore[arg-type]
    params = _int_params(app)
    assert len(params) >= 15  # ids in paths, pages, limits, filters
    for path, name, meta in params:
        low = any(isinstance(m, annotated_types.Ge | annotated_types.Gt) for m in meta)
        high = any(isinstance(m, annotated_types.Le | annotated_types.Lt) for m in meta)
        assert low and high, f"{path}: {name} has no range"


@pytest.mark.parametrize("value", HUGE)
def test_out_of_range_integers_are_422_never_500(world: World, value: str) -> None:
    rev, ops, alice = world.reviewer, world.operator, world.alice
    checks = [
        (rev, "get", f"/api/v1/submissions?page={value}"),
        (rev, "get", f"/api/v1/submissions?cohort={value}"),
        (rev, "get", f"/review?page={value}"),
        (rev, "get", f"/api/v1/submissions/{value}"),
        (rev, "get", f"/api/v1/submissions/{value}/report"),
        (rev, "get", f"/review/submissions/{value}"),
        (rev, "get", f"/review/submissions/{value}/report.html"),
        (rev, "put", f"/api/v1/submissions/{value}/review"),
        (rev, "get", f"/api/v1/cohorts/{value}/ranking"),
        (rev, "get", f"/api/v1/cohorts/{value}/export.csv"),
        (rev, "get", f"/review/cohorts/{value}"),
        (ops, "patch", f"/api/v1/cohorts/{value}"),
        (ops, "get", f"/api/v1/audit?submission={value}"),
        (ops, "delete", f"/api/v1/invitations/{value}"),
        (alice, "get", f"/api/v1/me/submissions/{value}"),
        (alice, "get", f"/api/v1/me/submissions/{value}/receipt"),
        (alice, "get", f"/portal/submissions/{value}/receipt"),
    ]
    for who, method, path in checks:
        kw = {"json": {}} if method in ("put", "patch") else {}
        r = getattr(who, method)(path, **kw)
        assert r.status_code == 422, (path, r.status_code, r.text[:200])


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ("page=2147483648", "page must be a whole number from 1 to 1000000"),
        ("page=-1", "page must be a whole number"),
        ("cohort=99999999999", "cohort must be a whole number from 1 to 2147483647"),
        ("per_page=0", "rows per page must be one of 25, 50, 100, 200"),
        ("score_min=nan", "minimum score must be a percentage from 0 to 100"),
        ("score_max=1e309", "maximum score must be a percentage from 0 to 100"),
        ("score_min=-5", "minimum score must be a percentage"),
        ("sort=evil", "sort: &#39;evil&#39; is not one of received, score"),
        ("order=sideways", "order: &#39;sideways&#39; is not one of asc, desc"),
        ("flagged=maybe", "integrity flag: &#39;maybe&#39; is not one of true, false, auto"),
        ("superseded=all", "superseded: &#39;all&#39; is not one of exclude, include, only"),
        ("status=done", "status: &#39;done&#39; is not one of queued"),
        ("after=%00%ff", "page link is not valid for this sort order"),
        ("q=" + "x" * 201, "search: at most 200 characters"),
    ],
)
def test_the_dashboard_names_a_bad_parameter_in_the_page(
    world: World, query: str, named: str
) -> None:
    """The dashboard is for people: a bad parameter is a 422 page that says which and why,
    with the form and the other filters still there, never a JSON body or a 500."""
    r = world.reviewer.get(f"/review?{query}", headers={"accept": "text/html"})
    assert r.status_code == 422, (query, r.status_code)
    assert r.headers["content-type"].startswith("text/html")
    assert named in r.text, (query, r.text.split('id="filter-errors"')[-1][:400])
    assert 'id="filters"' in r.text and 'id="submissions"' in r.text
