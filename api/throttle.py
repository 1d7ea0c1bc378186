"""Sign-in throttling: per account and per client address, with a growing delay and a
lockout that only an operator lifts.

Each failed sign-in counts against two keys: the username as typed (``user:NAME``, whether
or not such an account exists) and the client address (``addr:IP``). After
``login_free_failures`` failures a key must wait before its next attempt, twice as long after
each further failure (``login_base_delay_s`` doubling, at most ``login_max_delay_s``); an
attempt during the wait is refused (429, ``Retry-After``) without checking the password. A
username reaching ``login_lock_after`` failures is locked (423) until an operator unlocks it.
Counts are forgotten after ``login_window_s`` without a failure (a locked name stays locked);
a successful sign-in clears its username's count.

No timing or answer tells known from unknown usernames: both are counted, delayed and locked
alike, and a refused attempt never verifies a password for either. Failures, lockouts and
unlocks are audit entries.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.core.config import Settings
from api.models import LoginThrottle, utcnow
from api.reviewing import audit

_NAME = 150


def user_key(username: str) -> str:
    return "user:" + username[:_NAME]


def addr_key(address: str) -> str:
    return "addr:" + address[:_NAME]


@dataclass(frozen=True)
class Refusal:
    status_code: int  # 429 wait, 423 locked
    detail: str
    retry_after: int | None


LOCKED = "too many failed sign-ins: this account is locked until an operator unlocks it"


def _fresh(row: LoginThrottle, now: datetime, settings: Settings) -> None:
    """Forget an unlocked key's failures after a quiet window."""
    quiet = now - row.last_failure_at > timedelta(seconds=settings.login_window_s)
    if not row.locked and quiet:
        row.failures = 0
        row.blocked_until = None


def check(session: Session, keys: list[str], settings: Settings) -> Refusal | None:
    """Whether an attempt with these keys may go ahead now."""
    now = utcnow()
    wait = 0.0
    for row in session.scalars(select(LoginThrottle).where(LoginThrottle.key.in_(keys))):
        _fresh(row, now, settings)
        if row.locked:
            return Refusal(423, LOCKED, None)
        if row.blocked_until is not None and row.blocked_until > now:
            wait = max(wait, (row.blocked_until - now).total_seconds())
    if wait > 0:
        seconds = max(1, math.ceil(wait))
        return Refusal(429, f"too many failed sign-ins: try again in {seconds} s", seconds)
    return None


def delay(failures: int, settings: Settings) -> float:
    """Seconds to wait after the `failures`-th failure in a row."""
    over = failures - settings.login_free_failures
    if over <= 0:
        return 0.0
    return float(min(settings.login_max_delay_s, settings.login_base_delay_s * 2 ** (over - 1)))


def failed(session: Session, username: str, address: str, settings: Settings) -> None:
    """Count a failed sign-in against the username and the address; audit it."""
    now = utcnow()
    locked_now = False
    for key in (user_key(username), addr_key(address)):
        row = session.get(LoginThrottle, key)
        if row is None:
            row = LoginThrottle(key=key, failures=0, locked=False, last_failure_at=now)
            session.add(row)
        else:
            _fresh(row, now, settings)
        row.failures += 1
        row.last_failure_at = now
        row.blocked_until = now + timedelta(seconds=delay(row.failures, settings))
        user = key.startswith("user:")
        if user and not row.locked and row.failures >= settings.login_lock_after:
            row.locked = locked_now = True
    who = {"username": username[:_NAME], "address": address[:_NAME]}
    audit(session, actor=f"address:{address[:80]}", action="login-failed",
          submission_id=None, before={}, after=who)  # fmt: skip
    if locked_now:
        audit(session, actor=f"address:{address[:80]}", action="login-locked",
              submission_id=None, before={}, after=who)  # fmt: skip


def succeeded(session: Session, username: str) -> None:
    row = session.get(LoginThrottle, user_key(username))
    if row is not None and not row.locked:
        session.delete(row)


def locks(session: Session) -> list[LoginThrottle]:
    """Every key that is locked or waiting, newest failure first."""
    now = utcnow()
    rows = session.scalars(select(LoginThrottle).order_by(LoginThrottle.last_failure_at.desc()))
    return [r for r in rows if r.locked or (r.blocked_until is not None and r.blocked_until > now)]


def unlock(session: Session, username: str, actor: str) -> bool:
    """Lift a username's lock and delay (an operator's decision); audited."""
    row = session.get(LoginThrottle, user_key(username))
    if row is None:
        return False
    before = {"username": username[:_NAME], "failures": row.failures, "locked": row.locked}
    session.delete(row)
    audit(session, actor=actor, action="login-unlocked", submission_id=None,
          before=before, after={"username": username[:_NAME]})  # fmt: skip
    return True
