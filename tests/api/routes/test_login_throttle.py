"""Sign-in throttling: a growing delay per username and per client address, a lockout that
an operator lifts, audit entries, and no answer or timing that tells known from unknown
usernames."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

from fastapi.testclient import TestClient

from tests.api.conftest import Service, add_user

GOOD = "correct horse battery"
FAST = {
    "login_free_failures": 2,
    "login_base_delay_s": 0.3,
    "login_lock_after": 5,
    "login_max_delay_s": 2.0,
}


def _from(svc: Service, address: str) -> TestClient:
    c = TestClient(svc.client.app, client=(address, 40000))
    svc.clients.append(c)
    return c


def _login(c: TestClient, username: str, password: str) -> tuple[int, str | None]:
    r = c.post("/api/v1/auth/login", json={"username": username, "password": password})
    return r.status_code, r.headers.get("retry-after")


def test_growing_delay_then_lockout_that_an_operator_lifts(
    service_factory: Callable[..., Service],
) -> None:
    svc = service_factory(**FAST)
    add_user(svc, "ops", "operator")
    add_user(svc, "rev", "reviewer")
    ops = svc.login("ops")
    c = _from(svc, "10.0.0.1")
    assert _login(c, "rev", "wrong") == (401, None)
    assert _login(c, "rev", "wrong") == (401, None)  # two free failures
    assert _login(c, "rev", "wrong") == (401, None)  # the third: wait 0.3 s before the next
    status, retry = _login(c, "rev", GOOD)
    assert status == 429 and retry == "1"  # refused unseen, even with the right password
    waits = []
    for _ in range(2):  # the 4th and 5th failures: 0.6 s, then the lock
        t0 = time.monotonic()
        while _login(c, "rev", "wrong")[0] == 429:
            time.sleep(0.05)
        waits.append(time.monotonic() - t0)
    assert waits[0] > 0.2 and waits[1] > 0.5, waits  # the delay grows
    time.sleep(1.3)
    assert _login(c, "rev", GOOD)[0] == 423  # locked: the right password does not open it
    assert _login(_from(svc, "10.0.0.2"), "rev", GOOD)[0] == 423  # nor from elsewhere
    html = _from(svc, "10.0.0.3").post("/login", data={"username": "rev", "password": GOOD})
    assert html.status_code == 423 and "operator" in html.text

    locks = ops.get("/api/v1/login-locks").json()
    assert any(x["key"] == "user:rev" and x["locked"] for x in locks)
    assert ops.delete("/api/v1/login-locks/rev").status_code == 204
    assert ops.delete("/api/v1/login-locks/rev").status_code == 404
    assert _login(_from(svc, "10.0.0.4"), "rev", GOOD)[0] == 200
    audit = ops.get("/api/v1/audit").json()
    actions = [a["action"] for a in audit]
    assert actions.count("login-failed") == 5
    assert "login-locked" in actions and "login-unlocked" in actions
    failed = next(a for a in audit if a["action"] == "login-failed")
    assert failed["after"] == {"username": "rev", "address": "10.0.0.1"}
    unlocked = next(a for a in audit if a["action"] == "login-unlocked")
    assert unlocked["actor"] == "operator:ops"


def test_one_address_trying_many_usernames_is_delayed(
    service_factory: Callable[..., Service],
) -> None:
    svc = service_factory(**FAST)
    add_user(svc, "rev", "reviewer")
    spray = _from(svc, "10.0.0.9")
    for name in ("a", "b", "c"):
        assert _login(spray, name, "guess")[0] == 401
    assert _login(spray, "d", "guess")[0] == 429  # a new name, the same address
    assert _login(spray, "rev", GOOD)[0] == 429
    assert _login(_from(svc, "10.0.0.10"), "rev", GOOD)[0] == 200  # others are not held up


def test_known_and_unknown_usernames_look_alike(
    service_factory: Callable[..., Service],
) -> None:
    from api import accounts
    from api.core.db import transaction

    svc = service_factory(**{**FAST, "login_free_failures": 1000, "login_lock_after": 1000})
    services = svc.client.app.state.services  # type: ignore[attr-defined]
    with transaction(services.sessions) as session:  # the production hash parameters
        accounts.create_user(session, "real", "a long password here", "reviewer")
    c = _from(svc, "10.0.0.20")
    _login(c, "real", "warm-up")
    times: dict[str, list[float]] = {"real": [], "ghost": []}
    for _ in range(6):
        for name in ("real", "ghost"):
            t0 = time.perf_counter()
            r = c.post("/api/v1/auth/login", json={"username": name, "password": "nope"})
            times[name].append(time.perf_counter() - t0)
            assert (r.status_code, r.json()) == (401, {"detail": "wrong username or password"})
    real, ghost = statistics.median(times["real"]), statistics.median(times["ghost"])
    assert 0.6 < real / ghost < 1.6, (real, ghost)


def test_known_and_unknown_usernames_lock_alike(service_factory: Callable[..., Service]) -> None:
    svc = service_factory(**FAST)
    add_user(svc, "rev", "reviewer")
    answers = {}
    for n, name in enumerate(("rev", "ghost")):
        c = _from(svc, f"10.1.0.{n}")
        for _ in range(5):
            while _login(c, name, "x")[0] == 429:
                time.sleep(0.05)
        time.sleep(2.1)  # past the longest delay: what remains is the lock
        r = c.post("/api/v1/auth/login", json={"username": name, "password": "x"})
        answers[name] = (r.status_code, r.json(), r.headers.get("retry-after"))
    assert answers["rev"] == answers["ghost"] and answers["rev"][0] == 423
