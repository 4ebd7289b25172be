"""The cycle window search, against its definition counted day by day."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from streams.contract.models import ClaimLineEvent, Finding
from streams.samples import event
from streams.validation.history import (
    CYCLE_DAYS,
    PatientHistory,
    busiest_window,
    latest_service_day,
    treatment_cycles,
)

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


@given(st.sets(st.integers(-35, 35), max_size=30))
def test_busiest_window_matches_the_definition(offsets: set[int]) -> None:
    days = {DAY + timedelta(days=o) for o in offsets} | {DAY}
    assert busiest_window(days, DAY) == by_definition(days, DAY)


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


def line_on(day: str, sent: str, name: str) -> ClaimLineEvent:
    return ClaimLineEvent.model_validate(
        event(name, line={"service_date": day}, event_time=f"{sent}T15:00:00Z")
    )


def test_a_line_dated_in_the_future_does_not_push_the_real_ones_out() -> None:
    """Retention once counted back from the latest service date held, so one year
    typed as 2062 dropped every real line and blinded the cross-line edits."""
    history = PatientHistory()
    for n in range(10):
        day = (date(2026, 11, 1) + timedelta(days=n)).isoformat()
        history = history.record(line_on(day, day, f"real-{n}"), [], retention_days=91)
    typo = line_on("2062-11-11", "2026-11-11", "typo")
    history = history.record(typo, [], 91)
    assert "2062-11-11" not in history.lines and len(history.lines) == 10
    assert typo.event_id in history.findings  # a redelivery right away: the same verdict
    history = history.record(line_on("2026-11-12", "2026-11-12", "next"), [], 91)
    assert typo.event_id not in history.findings
    assert len(history.lines) == 11 and min(history.lines) == "2026-11-01"


def test_lines_arriving_out_of_order_are_all_kept() -> None:
    """Each line is judged by its own event_time, not by the one being recorded."""
    history = PatientHistory()
    for n in (9, 3, 7, 0, 5):
        day = (date(2026, 11, 1) + timedelta(days=n)).isoformat()
        history = history.record(line_on(day, day, f"late-{n}"), [], retention_days=91)
    assert len(history.lines) == 5


def test_a_service_date_a_day_ahead_of_utc_is_plausible() -> None:
    sent_late = line_on("2026-11-21", "2026-11-20", "east-of-utc")
    assert latest_service_day(sent_late.event_time) == date(2026, 11, 21)
    assert latest_service_day(line_on("9999-12-31", "9999-12-31", "last").event_time) == date.max


def test_recording_leaves_the_earlier_history_as_it_was() -> None:
    """Histories share their day lists; a redelivered event is judged on the history
    it first met, so recording must build new lists, not append to shared ones."""
    day = "2026-11-10"
    first = PatientHistory().record(line_on(day, day, "share-1"), [], 91)
    second = first.record(line_on(day, day, "share-2"), [], 91)
    assert [len(h.lines[day]) for h in (first, second)] == [1, 2]
    assert list(first.findings) == [line_on(day, day, "share-1").event_id]


def test_retention_counts_back_from_the_latest_day_held() -> None:
    history = PatientHistory()
    for day in ("2026-01-01", "2026-03-01", "2026-04-01"):
        history = history.record(line_on(day, day, f"keep-{day}"), [], retention_days=31)
    assert sorted(history.lines) == ["2026-03-01", "2026-04-01"]
    assert len(history.findings) == 2
    early = PatientHistory().record(line_on("0001-01-02", "0001-01-02", "early"), [], 91)
    assert list(early.lines) == ["0001-01-02"]
    stored = PatientHistory.model_validate_json(history.model_dump_json())
    assert stored == history


def test_treatment_cycles_split_at_a_week_without_a_dose() -> None:
    start = date(2026, 3, 2)
    offsets = [0, 1, 2, 4, 5, 11, 12, 30]  # a missed day (3) and six rest days (6-10) stay
    days = {start + timedelta(days=n) for n in offsets}
    cycles = treatment_cycles(days, 7)
    assert [[(d - start).days for d in c] for c in cycles] == [[0, 1, 2, 4, 5, 11, 12], [30]]
    assert treatment_cycles(set(), 7) == []


_STEP = st.tuples(
    st.integers(0, 60),  # service day, days after 2026-01-01
    st.sampled_from(["J9262", "C9297", "J9045"]),
    st.booleans(),  # JW (a waste line)
    st.sampled_from([None, "replacement", "void"]),
    st.integers(-2, 2),  # sent this many days after the service day (a future date too)
    st.integers(0, 3),  # claim, among a few, so replacements find their originals
)
Step = tuple[int, str, bool, str | None, int, int]


def step_event(step: Step, claim_prefix: str, event_id: str) -> ClaimLineEvent:
    """The line a `_STEP` describes, on claim `{claim_prefix}-{claim number}`."""
    offset, hcpcs, waste, frequency, lag, claim_no = step
    day = date(2026, 1, 1) + timedelta(days=offset)
    doc = event(
        f"{claim_prefix}-{claim_no}",
        claim={"frequency": frequency, "claim_type": "professional"},
        line={"service_date": day.isoformat(), "hcpcs": hcpcs, "modifiers": ["JW"] * waste},
        event_time=f"{(day + timedelta(days=lag)).isoformat()}T15:00:00Z",
    )
    doc["event_id"] = event_id
    return ClaimLineEvent.model_validate(doc)


@given(st.lists(_STEP, max_size=25), st.integers(5, 40))
def test_the_memos_record_carries_agree_with_a_fresh_history(
    steps: list[Step], retention: int
) -> None:
    """`record` carries each history's dosing days and whether its findings are all live;
    whatever the lines, a history read back from its JSON (no memos) must agree."""
    codes = frozenset({"J9262", "C9297"})
    history = PatientHistory()
    history.dosing_days(codes)  # the memo starts here, as the first line's rules start it
    for n, step in enumerate(steps):
        line = step_event(step, "memo", f"memo-event-{n}")
        history = history.record(line, [], retention)
        fresh = PatientHistory.model_validate_json(history.model_dump_json())
        assert history.dosing_days(codes) == fresh.dosing_days(codes)
        live = {ln.event_id for lines in history.lines.values() for ln in lines}
        assert set(history.findings) <= live | {line.event_id}


_ODD_IDS = ["plain", 'quote"and\\backslash', "line\nbreak\t\x01", "accent-é-\u2028-😀"]


@given(st.lists(st.tuples(_STEP, st.sampled_from(_ODD_IDS), st.booleans()), max_size=20))
def test_the_history_written_in_parts_is_pydantics_json(
    steps: list[tuple[Step, str, bool]],
) -> None:
    """`stored_json` reuses the JSON of the days and findings a line left alone; whatever
    the lines (replacements, voids, retention cuts, ids that need escaping), its bytes
    must be pydantic's, also for a history read back from its table (no parts known)."""
    history = PatientHistory()
    for n, (step, odd, found) in enumerate(steps):
        findings = (
            [
                Finding(
                    code="DUPLICATE_LINE",
                    category="duplicate",
                    severity="error",
                    message=f"seen {odd}",
                    field="line",
                )
            ]
            if found
            else []
        )
        history = history.record(step_event(step, "parts", f"{odd}-{n}"), findings, 20)
        pydantic_json = history.model_dump_json(by_alias=True).encode()
        assert history.stored_json() == pydantic_json  # once to know the parts
        assert history.stored_json() == pydantic_json  # then from them
        read_back = PatientHistory.model_validate_json(pydantic_json)
        assert read_back.stored_json() == pydantic_json


def test_a_write_serializes_only_what_the_line_changed() -> None:
    """The next history reuses the parts of the days and findings it shares."""
    history = PatientHistory()
    for n in range(3):
        day = date(2026, 1, 1) + timedelta(days=n)
        doc = event("reuse", line={"service_date": day.isoformat()}, event_time=f"{day}T20:00:00Z")
        doc["event_id"] = f"reuse-{n}"
        history = history.record(ClaimLineEvent.model_validate(doc), [], 30)
        history.stored_json()
    lines, findings = history.__dict__["_parts"]
    doc = event("reuse", line={"service_date": "2026-01-03"}, event_time="2026-01-03T21:00:00Z")
    doc["event_id"] = "reuse-3"
    after = history.record(ClaimLineEvent.model_validate(doc), [], 30)
    assert after.stored_json() == after.model_dump_json().encode()
    lines_after, findings_after = after.__dict__["_parts"]
    assert [lines_after[d] is lines[d] for d in lines] == [True, True, False]
    assert all(findings_after[e] is findings[e] for e in findings)
