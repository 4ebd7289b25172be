"""A patient's recent J9262-family lines: the plain data the cross-line rules read.

The stream keeps one `PatientHistory` per patient in a changelog-backed Faust
table; `j9262 validate` keeps them in a dict. Either way the same functions
update it, so both see the same history for lines in the same order.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Set
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, TypeAdapter

from streams.contract.models import Claim, ClaimFrequency, ClaimLineEvent, ClaimType, Finding
from streams.validation.trusted import trusted

CYCLE_DAYS = 28
SUPERSEDING = frozenset({ClaimFrequency.REPLACEMENT, ClaimFrequency.VOID})
"""Claim frequencies (CLM05-3 7 and 8) whose lines take the place of an earlier claim's."""
BILL_FREQUENCY = {
    "1": ClaimFrequency.ORIGINAL,
    "7": ClaimFrequency.REPLACEMENT,
    "8": ClaimFrequency.VOID,
}
"""The type of bill's last digit (NUBC UB-04 form locator 4, the claim frequency code;
on an 837I it is CLM05-3), for institutional claims that do not say `frequency`."""


def claim_frequency(claim: Claim) -> ClaimFrequency | None:
    """The claim's frequency as sent, else as its type of bill's last digit says."""
    if claim.frequency is not None or claim.claim_type is not ClaimType.INSTITUTIONAL:
        return claim.frequency
    return BILL_FREQUENCY.get((claim.type_of_bill or "")[-1:])


SERVICE_DATE_GRACE_DAYS = 1
"""A service date may run one day past the UTC date the event was sent: a
hospital's local date can be ahead of UTC's."""


def latest_service_day(sent: datetime) -> date:
    """The last service date a line sent at `sent` can truthfully carry: services are
    billed after they are given, so a later date is a typo (2062 for 2026)."""
    day = sent.date().toordinal() + SERVICE_DATE_GRACE_DAYS
    return date.fromordinal(min(day, date.max.toordinal()))  # 9999-12-31 has no next day


class HistoryLine(BaseModel):
    model_config = ConfigDict(frozen=True)
    event_id: str
    claim_id: str
    line_number: int
    hcpcs: str
    units: float
    modifiers: tuple[str, ...]
    event_time: datetime
    frequency: ClaimFrequency | None = None
    """Absent in histories stored before claim frequency was read: an original."""

    @property
    def waste(self) -> bool:
        return "JW" in self.modifiers

    @classmethod
    def of(cls, event: ClaimLineEvent) -> HistoryLine:
        """Built from the validated event without validating it again (`trusted`)."""
        line = event.line
        return trusted(
            cls,
            {
                "event_id": event.event_id,
                "claim_id": event.claim.claim_id,
                "line_number": line.line_number,
                "hcpcs": line.hcpcs,
                "units": float(line.units),
                "modifiers": tuple(sorted(line.modifiers)),
                "event_time": event.event_time,
                "frequency": claim_frequency(event.claim),
            },
        )


def supersedes(event: ClaimLineEvent, line: HistoryLine) -> bool:
    """Whether `event`, a replacement or void, takes the place of `line`: a line of the
    claim it names (`original_claim_id`), or, when it keeps the original's claim id, a
    line that claim sent before it was replaced."""
    claim = event.claim
    if claim_frequency(claim) not in SUPERSEDING:
        return False
    target = claim.original_claim_id or claim.claim_id
    if line.claim_id != target:
        return False
    return target != claim.claim_id or line.frequency not in SUPERSEDING


class PatientHistory(BaseModel):
    """Lines by service date (ISO), and the history findings each event was given.

    Keeping the findings makes a redelivered event (same event_id) get the very
    verdict it got the first time, whatever arrived in between.
    """

    lines: dict[str, list[HistoryLine]] = {}
    findings: dict[str, list[Finding]] = {}
    # Two memos live in the instance's __dict__, where pydantic neither validates,
    # serializes nor compares them (as with a cached_property), and reads cost a dict
    # lookup (a PrivateAttr's go through __getattr__):
    # - "_dosing": `dosing_days` already known, by codes. `record` carries them to the
    #   next history instead of a pass over every line the patient has, at every line.
    # - "_clean": every key of `findings` is the event of a line held (as `record`
    #   leaves it), so the next `record` that drops no line need not filter them again.
    # - "_parts": each day's lines and each event's findings as JSON, for `stored_json`;
    #   `record` hands them on, so a write serializes only what the line changed.

    def on(self, day: date) -> list[HistoryLine]:
        return self.lines.get(day.isoformat(), [])

    def dosing_days(
        self, codes: frozenset[str], superseded_by: ClaimLineEvent | None = None
    ) -> frozenset[date]:
        """Days with an administered line of `codes`, leaving out the lines that
        `superseded_by` (a replacement or void) takes the place of."""
        memo: dict[frozenset[str], frozenset[date]] = self.__dict__.setdefault("_dosing", {})
        if superseded_by is None and (known := memo.get(codes)) is not None:
            return known
        days = set()
        for day, lines in self.lines.items():
            for ln in lines:
                if superseded_by is not None and supersedes(superseded_by, ln):
                    continue
                if ln.hcpcs in codes and not ln.waste:
                    days.add(date.fromisoformat(day))
                    break
        found = frozenset(days)
        if superseded_by is None:
            memo[codes] = found
        return found

    def stored_json(self) -> bytes:
        """The history's JSON, byte for byte what pydantic writes for it, built from the
        JSON of each day's lines and each event's findings.

        A patient on treatment has a history of some 180 lines (95 kB of JSON), written
        to its table at every line although a line changes one day and adds one
        event's findings. The parts of the history this one was recorded from are
        reused wherever the list is the very same object (`record` shares the lists it
        does not change), so a write serializes only the changed day and the new
        findings. The parts live in `__dict__` with the other memos.

        Building every part costs about 2.4 times pydantic's JSON of the whole. A history
        with no parts known (parsed from its table, or a new patient's) is written by
        pydantic and marks the next history to build them: they pay off only when that
        one is written too, from the model the table keeps parsed (`ModelTable`).
        """
        known = self.__dict__.get("_parts")
        if known is None:
            self.__dict__["_parts"] = _BUILD_PARTS
            return self.__pydantic_serializer__.to_json(self, by_alias=True)
        before_lines, before_findings = known
        lines = _parts(self.lines, before_lines, _LINES.dump_json)
        findings = _parts(self.findings, before_findings, _FINDINGS.dump_json)
        self.__dict__["_parts"] = (lines, findings)
        return b"".join(
            (
                b'{"lines":{',
                b",".join(part for _, part in lines.values()),
                b'},"findings":{',
                b",".join(part for _, part in findings.values()),
                b"}}",
            )
        )

    def record(
        self,
        event: ClaimLineEvent,
        findings: list[Finding],
        retention_days: int,
        line: HistoryLine | None = None,
    ) -> PatientHistory:
        """A new history with this line added and lines past retention dropped.

        A replacement or void removes the lines it takes the place of; a void's own line
        is not kept. A line dated after it was sent (a mistyped year) is not kept: retention
        counts back from the latest date held, so one such line would push out
        every real one and blind the cross-line edits for years. Each line is
        judged by its own event_time when it comes, so the order lines arrive in
        does not matter. `line` is the event's HistoryLine when the caller has built it.
        """
        lines = dict(self.lines)  # the lists are shared: neither history changes them
        frequency = claim_frequency(event.claim)
        superseding = frequency in SUPERSEDING
        if superseding:  # the replaced or voided claim's lines go
            kept = {
                day: [ln for ln in ls if not supersedes(event, ln)] for day, ls in lines.items()
            }
            lines = {day: ls for day, ls in kept.items() if ls}
        void = frequency is ClaimFrequency.VOID  # withdraws, gives no dose
        added = None
        if not void and event.line.service_date <= latest_service_day(event.event_time):
            key = event.line.service_date.isoformat()
            added = line if line is not None else HistoryLine.of(event)
            lines[key] = [*lines.get(key, ()), added]
        cut = None
        if lines:
            # ISO dates sort as strings; a date near 0001-01-01 minus the retention
            # is off the calendar.
            latest = date.fromisoformat(max(lines)).toordinal()
            cutoff = date.fromordinal(max(latest - retention_days, 1))
            first_kept = cutoff.isoformat()
            if min(lines) < first_kept:
                cut = cutoff
                lines = {day: ls for day, ls in lines.items() if day >= first_kept}
        if self.__dict__.get("_clean") and added is not None and cut is None and not superseding:
            known = dict(self.findings)  # nothing dropped: every key stays live
            clean = True
        else:
            live = {ln.event_id for ls in lines.values() for ln in ls}
            known = {k: v for k, v in self.findings.items() if k in live}
            clean = event.event_id in live
        known[event.event_id] = findings
        # Built from checked parts: validating them again would cost a pass over
        # every line the patient has, at every line.
        after = trusted(PatientHistory, {"lines": lines, "findings": known})
        after.__dict__["_clean"] = clean
        if parts := self.__dict__.get("_parts"):
            after.__dict__["_parts"] = parts
        if not superseding and (memo := self.__dict__.get("_dosing")):
            after.__dict__["_dosing"] = {
                codes: _carried(days, added, event.line.service_date, codes, cut)
                for codes, days in memo.items()
            }
        return after


_LINES = TypeAdapter(list[HistoryLine])
_FINDINGS = TypeAdapter(list[Finding])
_KEY = TypeAdapter(str)
Parts = dict[str, tuple[list[Any], bytes]]
"""Per key of a history's mapping: its list, and `"key":[...]` of that list as JSON."""
_BUILD_PARTS: tuple[Parts, Parts] = ({}, {})
"""No parts known yet: `stored_json` builds them all."""


def _parts(entries: dict[str, list[Any]], known: Parts, dump: Any) -> Parts:
    """The `"key":value` JSON of each entry, taken from `known` where its list is the
    same object (lists in a history are never changed, only replaced)."""
    parts: Parts = {}
    for key, value in entries.items():
        held = known.get(key)
        if held is None or held[0] is not value:
            held = (value, _KEY.dump_json(key) + b":" + dump(value, by_alias=True))
        parts[key] = held
    return parts


def _carried(
    days: frozenset[date],
    added: HistoryLine | None,
    day: date,
    codes: frozenset[str],
    cut: date | None,
) -> frozenset[date]:
    """A history's dosing days after `record` added `added` on `day` and cut the days
    before `cut`."""
    if added is not None and added.hcpcs in codes and not added.waste:
        days = days | {day}
    if cut is not None:
        days = frozenset(d for d in days if d >= cut)
    return days


def busiest_window(days: Set[date], day: date, length: int = CYCLE_DAYS) -> tuple[int, date]:
    """The most dosing days in any `length`-day window that contains `day`, and its start.

    Windows are tried from the one starting on `day` backwards; the first with the
    highest count wins. Counted by bisection: the stream runs it for each dosing day
    of a patient near the label's limit.
    """
    today = day.toordinal()
    near = sorted(o for o in (d.toordinal() - today for d in days) if -length < o < length)
    best, best_start = 0, day
    for offset in range(length):
        count = bisect_right(near, length - 1 - offset) - bisect_left(near, -offset)
        if count > best:
            best, best_start = count, day - timedelta(days=offset)
    return best, best_start


def treatment_cycles(days: Set[date], rest_days: int) -> list[list[date]]:
    """Dosing days grouped into cycles, oldest first: a cycle ends where at least
    `rest_days` days pass without a dose (an induction rests 14 days of 28, a maintenance
    21; a missed day inside a cycle does not split it)."""
    cycles: list[list[date]] = []
    for day in sorted(days):
        if cycles and (day - cycles[-1][-1]).days <= rest_days:
            cycles[-1].append(day)
        else:
            cycles.append([day])
    return cycles


@dataclass(frozen=True, slots=True)
class HistoryContext:
    """What the cross-line rules get: the history before this line, the window within
    which a repeat counts as a duplicate, and the line as the history keeps it (built
    once for the rules and `record`)."""

    history: PatientHistory
    duplicate_window: timedelta
    line: HistoryLine
