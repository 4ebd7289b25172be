"""The cycle window search, against its definition counted day by day."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from streams.history import CYCLE_DAYS, busiest_window

DAY = date(2026, 11, 15)


def by_definition(days: set[date], day: date) -> tuple[int, date]:
    best, best_start = 0, day
    for offset in range(CYCLE_DAYS):
        if day.toordinal() - offset < 1:
            break  # no window starts before 0001-01-01
        start = day - timedelta(days=offset)
        end = start + timedelta(days=CYCLE_DAYS - 1)
        count = sum(1 for d in days if start <= d <= end)
        if count > best:
            best, best_start = count, start
    return best, best_start


@settings(max_examples=500)
@given(st.sets(st.integers(-35, 35), max_size=30))
def test_busiest_window_matches_the_definition(offsets: set[int]) -> None:
    days = {DAY + timedelta(days=o) for o in offsets} | {DAY}
    assert busiest_window(days, DAY) == by_definition(days, DAY)


@settings(max_examples=200)
@given(st.sets(st.integers(1, 60), max_size=30), st.integers(1, 60))
def test_windows_at_the_start_of_the_calendar(ordinals: set[int], today: int) -> None:
    day = date.fromordinal(today)
    days = {date.fromordinal(o) for o in ordinals} | {day}
    assert busiest_window(days, day) == by_definition(days, day)


def test_a_day_just_outside_every_window_is_not_counted() -> None:
    days = {DAY - timedelta(days=1), DAY, DAY + timedelta(days=CYCLE_DAYS - 1)}
    assert busiest_window(days, DAY) == (2, DAY)


def test_busiest_window_reports_the_latest_start_among_equals() -> None:
    days = {DAY + timedelta(days=o) for o in range(15)}
    assert busiest_window(days, DAY) == (15, DAY)
    assert busiest_window(days, DAY + timedelta(days=14)) == (15, DAY)
