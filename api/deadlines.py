"""Deadline arithmetic for cohort windows and timed attempts: pure functions, no database.

Every instant is a timezone-aware UTC ``datetime``; a time zone only enters when an instant
is shown to a person (:func:`in_zone`). Adding minutes to a UTC instant is exact whatever
daylight-saving change happens in the applicant's zone meanwhile: a 90-minute attempt
started at 00:30 local time on the night the clocks go forward ends 90 real minutes later,
which the applicant's wall clock shows as 03:00, not 02:00.

The rule (one place): an attempt's deadline is

    min(start + budget + grace + extensions, close + past-close extensions)

where the extensions are the applicant's grants for that task or for all tasks; a grant
marked ``past_close`` also moves the cap, others stop at the close. An untimed task is due at
the close (moved by past-close grants); with no close it has no deadline.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

WindowState = Literal["not_open", "open", "closed"]


@dataclass(frozen=True)
class Grant:
    """An extension as the arithmetic needs it: minutes, for one task (or all: None)."""

    minutes: int
    task_id: str | None = None
    past_close: bool = False


def applies(grant: Grant, task_id: str) -> bool:
    return grant.task_id is None or grant.task_id == task_id


def extra_minutes(grants: Iterable[Grant], task_id: str) -> tuple[int, int]:
    """(minutes added to the attempt, minutes added to the close) for `task_id`."""
    mine = [g for g in grants if applies(g, task_id)]
    return sum(g.minutes for g in mine), sum(g.minutes for g in mine if g.past_close)


def close_for(closes_at: datetime | None, grants: Iterable[Grant], task_id: str) -> datetime | None:
    """The cohort's close as it applies to this applicant's task (past-close grants added)."""
    if closes_at is None:
        return None
    return closes_at + timedelta(minutes=extra_minutes(grants, task_id)[1])


def deadline(
    *,
    task_id: str,
    started_at: datetime | None,
    budget_minutes: int | None,
    grace_minutes: int,
    closes_at: datetime | None,
    grants: Iterable[Grant] = (),
) -> datetime | None:
    """When uploads for `task_id` stop being on time; None: never.

    A timed task (`budget_minutes` set) not yet started has no deadline of its own: callers
    must refuse uploads before Start (see :func:`api.attempts.admit`), so None is returned.
    """
    grants = list(grants)
    cap = close_for(closes_at, grants, task_id)
    if budget_minutes is None:
        return cap
    if started_at is None:
        return None
    added, _ = extra_minutes(grants, task_id)
    own = started_at + timedelta(minutes=budget_minutes + grace_minutes + added)
    return own if cap is None else min(own, cap)


def window_state(
    now: datetime, opens_at: datetime | None, closes_at: datetime | None
) -> WindowState:
    """Where `now` falls in a cohort's window (both ends optional; the close is exclusive)."""
    if opens_at is not None and now < opens_at:
        return "not_open"
    if closes_at is not None and now >= closes_at:
        return "closed"
    return "open"


def on_time(received_at: datetime, due: datetime | None) -> bool:
    """An upload at exactly the deadline is on time; after it, late."""
    return due is None or received_at <= due


@functools.cache
def zones() -> frozenset[str]:
    """The IANA zone names this system knows (the choices offered to applicants)."""
    return frozenset(available_timezones())


def valid_zone(name: str) -> bool:
    if name not in zones():
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def zone_or_utc(name: str) -> ZoneInfo:
    """The applicant's zone, or UTC if the stored name no longer exists on this system."""
    return ZoneInfo(name) if valid_zone(name) else ZoneInfo("UTC")


def in_zone(instant: datetime, zone: str) -> str:
    """`instant` on the wall clock of `zone`, with the zone named: readable without guessing
    which zone or which side of a clock change is meant, e.g.
    ``Sun 29 Mar 2026, 03:00 BST (Europe/London, UTC+01:00)``."""
    if instant.tzinfo is None:
        raise ValueError("naive datetime: use timezone-aware UTC")
    tz = zone_or_utc(zone)
    local = instant.astimezone(tz)
    offset = local.strftime("%z")
    offset = f"UTC{offset[:3]}:{offset[3:]}"
    abbrev = local.tzname() or ""
    # Zones without a letter abbreviation (tzdata writes "+0530"-style names) show the offset once.
    label = f"{abbrev} " if abbrev and not abbrev.startswith(("+", "-")) else ""
    name = getattr(tz, "key", zone)
    if name == "UTC":  # "12:00 UTC (UTC, UTC+00:00)" says it three times
        return f"{local:%a} {local.day} {local:%b %Y, %H:%M} UTC"
    return f"{local:%a} {local.day} {local:%b %Y, %H:%M} {label}({name}, {offset})"


def iso_utc(instant: datetime) -> str:
    """The instant as the page's machine-readable attribute (what the countdown trusts), to
    the millisecond: cut to whole seconds, the deadline and the server's clock could each
    lose up to a second, and the countdown would say "passed" while uploads are still on
    time."""
    at = instant.astimezone(UTC)
    return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


def duration(minutes: int) -> str:
    """90 -> "1 h 30 min"; 45 -> "45 min"; 120 -> "2 h"."""
    hours, mins = divmod(minutes, 60)
    if hours and mins:
        return f"{hours} h {mins} min"
    return f"{hours} h" if hours else f"{mins} min"
