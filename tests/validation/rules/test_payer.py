"""Payer-policy edits: the filing deadline's calendar arithmetic."""

from __future__ import annotations

from datetime import date

from streams.validation.rules.payer import add_months


def test_add_months_keeps_the_day_or_takes_the_month_s_last() -> None:
    assert add_months(date(2024, 2, 29), 12) == date(2025, 2, 28)
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(9999, 6, 1), 12) == date.max


def test_add_months_answers_a_date_it_has_seen_from_its_cache() -> None:
    """timely_filing asks it nearly every line: a repeat is a cache hit, the same date."""
    first = add_months(date(2026, 3, 31), 6)
    hits = add_months.cache_info().hits
    assert add_months(date(2026, 3, 31), 6) == first == date(2026, 9, 30)
    assert add_months.cache_info().hits == hits + 1
