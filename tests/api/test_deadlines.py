"""Deadline arithmetic (api.deadlines): budgets, grace, extensions, the close, time zones."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from api.deadlines import (
    Grant,
    close_for,
    deadline,
    duration,
    extra_minutes,
    in_zone,
    iso_utc,
    on_time,
    valid_zone,
    window_state,
)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def timed(start: datetime | None, budget: int = 90, grace: int = 0, close: datetime | None = None,
          grants: list[Grant] | None = None, task: str = "t1") -> datetime | None:  # fmt: skip
    return deadline(task_id=task, started_at=start, budget_minutes=budget, grace_minutes=grace,
                    closes_at=close, grants=grants or [])  # fmt: skip


def test_budget_and_grace_add_up_from_the_start() -> None:
    start = utc(2026, 3, 2, 9, 0)
    assert timed(start) == utc(2026, 3, 2, 10, 30)
    assert timed(start, grace=10) == utc(2026, 3, 2, 10, 40)


def test_the_close_caps_the_deadline() -> None:
    close = utc(2026, 3, 2, 10, 0)
    assert timed(utc(2026, 3, 2, 9, 0), close=close) == close
    assert timed(utc(2026, 3, 2, 7, 0), close=close) == utc(2026, 3, 2, 8, 30)


def test_a_timed_task_not_started_has_no_deadline_and_untimed_is_due_at_the_close() -> None:
    close = utc(2026, 3, 9, 12, 0)
    assert timed(None, close=close) is None
    untimed = deadline(task_id="t1", started_at=None, budget_minutes=None, grace_minutes=15,
                       closes_at=close)  # fmt: skip
    assert untimed == close  # grace belongs to a timed attempt's budget, not to the close
    no_close = deadline(task_id="t1", started_at=None, budget_minutes=None, grace_minutes=0,
                        closes_at=None)  # fmt: skip
    assert no_close is None


def test_extension_for_one_task_and_for_all_tasks() -> None:
    start = utc(2026, 3, 2, 9, 0)
    grants = [Grant(30, "t1"), Grant(10, None), Grant(60, "t2")]
    assert extra_minutes(grants, "t1") == (40, 0)
    assert extra_minutes(grants, "t2") == (70, 0)
    assert extra_minutes(grants, "t3") == (10, 0)
    assert timed(start, grants=grants, task="t1") == utc(2026, 3, 2, 11, 10)
    assert timed(start, grants=grants, task="t3") == utc(2026, 3, 2, 10, 40)


def test_past_close_extension_moves_the_cap_and_others_stop_at_the_close() -> None:
    close = utc(2026, 3, 2, 10, 0)
    start = utc(2026, 3, 2, 9, 30)  # 30 minutes before the close, 90-minute budget
    assert timed(start, close=close, grants=[Grant(45, "t1")]) == close
    moved = timed(start, close=close, grants=[Grant(45, "t1", past_close=True)])
    assert moved == utc(2026, 3, 2, 10, 45)
    assert close_for(close, [Grant(45, "t1", past_close=True)], "t2") == close
    # An untimed task: only a past-close grant moves its due time.
    grants = [Grant(20, None, past_close=True), Grant(99)]
    untimed = deadline(task_id="t1", started_at=None, budget_minutes=None, grace_minutes=0,
                       closes_at=close, grants=grants)  # fmt: skip
    assert untimed == utc(2026, 3, 2, 10, 20)


def test_window_state_before_during_after() -> None:
    opens, closes = utc(2026, 3, 1), utc(2026, 3, 8)
    assert window_state(utc(2026, 2, 28, 23, 59), opens, closes) == "not_open"
    assert window_state(opens, opens, closes) == "open"
    assert window_state(closes - timedelta(seconds=1), opens, closes) == "open"
    assert window_state(closes, opens, closes) == "closed"
    assert window_state(utc(2030, 1, 1), None, None) == "open"


def test_on_time_includes_the_deadline_itself() -> None:
    due = utc(2026, 3, 2, 10, 30)
    assert on_time(due, due) and not on_time(due + timedelta(seconds=1), due)
    assert on_time(utc(2099, 1, 1), None)


def test_london_spring_forward_is_real_minutes_and_shown_in_summer_time() -> None:
    # Clocks go 01:00 GMT -> 02:00 BST on 29 March 2026. A 90-minute attempt from 00:30 GMT
    # ends at 02:00 UTC, which is 03:00 on a London wall clock.
    start = utc(2026, 3, 29, 0, 30)
    end = timed(start)
    assert end == utc(2026, 3, 29, 2, 0)
    assert (
        in_zone(start, "Europe/London") == "Sun 29 Mar 2026, 00:30 GMT (Europe/London, UTC+00:00)"
    )
    assert in_zone(end, "Europe/London") == "Sun 29 Mar 2026, 03:00 BST (Europe/London, UTC+01:00)"


def test_new_york_fall_back_names_which_of_the_two_one_thirties() -> None:
    # 1 November 2026: 02:00 EDT -> 01:00 EST; 01:30 happens twice, the offset tells which.
    first = utc(2026, 11, 1, 5, 30)
    second = first + timedelta(hours=1)
    assert (
        in_zone(first, "America/New_York")
        == "Sun 1 Nov 2026, 01:30 EDT (America/New_York, UTC-04:00)"
    )
    assert (
        in_zone(second, "America/New_York")
        == "Sun 1 Nov 2026, 01:30 EST (America/New_York, UTC-05:00)"
    )
    # A 2-hour attempt from 00:30 EDT lasts 2 real hours: 01:30 EST on the wall clock.
    assert timed(utc(2026, 11, 1, 4, 30), budget=120) == second


def test_half_hour_and_quarter_hour_offsets() -> None:
    at = utc(2026, 6, 1, 12, 0)
    assert in_zone(at, "Asia/Kolkata") == "Mon 1 Jun 2026, 17:30 IST (Asia/Kolkata, UTC+05:30)"
    # Zones without a letter abbreviation show the offset once, not "+0545 (... UTC+05:45)".
    assert in_zone(at, "Asia/Kathmandu") == "Mon 1 Jun 2026, 17:45 (Asia/Kathmandu, UTC+05:45)"
    assert in_zone(at, "UTC") == "Mon 1 Jun 2026, 12:00 UTC"


def test_zone_validation_and_unknown_zone_falls_back_to_utc() -> None:
    assert valid_zone("Europe/London") and valid_zone("Asia/Kolkata")
    assert not valid_zone("Mars/Olympus_Mons") and not valid_zone("") and not valid_zone("../etc")
    assert in_zone(utc(2026, 6, 1, 12), "Mars/Olympus_Mons") == "Mon 1 Jun 2026, 12:00 UTC"
    with pytest.raises(ValueError, match="naive"):
        in_zone(datetime(2026, 6, 1, 12), "UTC")


def test_formatting_helpers() -> None:
    assert iso_utc(utc(2026, 6, 1, 12, 0, 5)) == "2026-06-01T12:00:05.000Z"
    # Milliseconds kept (truncated, never rounded up past the instant).
    assert iso_utc(utc(2026, 6, 1, 12, 0, 5).replace(microsecond=999_999)).endswith("05.999Z")
    assert [duration(m) for m in (45, 60, 90, 120)] == ["45 min", "1 h", "1 h 30 min", "2 h"]
