"""Cross-line edits over a patient's history: duplicates, cycles, daily totals.

They run only when the caller passes a history (the stream's patient agent, or
`j9262 validate`); a redelivered event gets the findings it got the first time.
"""

from __future__ import annotations

from collections.abc import Iterator, Set
from datetime import date

from streams.contract.models import ClaimFrequency, ClaimLineEvent, Finding
from streams.refdata import Drug
from streams.validation.history import (
    CYCLE_DAYS,
    SUPERSEDING,
    HistoryLine,
    busiest_window,
    claim_frequency,
    supersedes,
    treatment_cycles,
)
from streams.validation.rules.catalog import CATALOG, finding
from streams.validation.rules.engine import LineContext, rule
from streams.validation.rules.units import fmt

#: The codes this module emits: the findings a patient's history keeps per event.
CODES = frozenset(
    {
        "DUPLICATE_LINE",
        "DOSING_ADMINISTRATIONS_PER_DAY",
        "DOSING_DAILY_ABOVE_LABEL_MAX",
        "UNITS_DAILY_MUE",
        "DOSING_CYCLE_DAYS",
        "DOSING_MAINTENANCE_CYCLE_DAYS",
    }
)


def _same_billing(a: HistoryLine, b: HistoryLine) -> bool:
    return (a.hcpcs, a.units, a.modifiers) == (b.hcpcs, b.units, b.modifiers)


@rule
def cross_line(ctx: LineContext) -> Iterator[Finding]:
    if ctx.history is None or ctx.facts.billed is None:
        return
    frequency = claim_frequency(ctx.claim)
    if frequency is ClaimFrequency.VOID:
        return  # a void withdraws the original's lines: no dose to count, no duplicate
    history = ctx.history.history
    cached = history.findings.get(ctx.event.event_id)
    if cached is not None:
        yield from cached
        return
    this = ctx.history.line
    day = ctx.line.service_date
    replacing = frequency in SUPERSEDING  # read once, not by supersedes() per line held
    earlier = [
        ln
        for ln in history.on(day)
        if ln.event_id != this.event_id and not (replacing and supersedes(ctx.event, ln))
    ]  # a replacement's lines take the place of the original's: not duplicates of them

    for other in earlier:
        if _same_billing(this, other) and (
            abs(this.event_time - other.event_time) <= ctx.history.duplicate_window
        ):
            where = "this claim" if other.claim_id == this.claim_id else f"claim {other.claim_id}"
            yield finding(
                "DUPLICATE_LINE",
                f"{this.hcpcs} {fmt(this.units)} units"
                f"{' ' + ' '.join(this.modifiers) if this.modifiers else ''} on {day} was "
                f"already billed on line {other.line_number} of {where}",
                field="line",
                suggestion="Remove the repeated line; bill two administrations of one day on "
                "one line with the day's total units",
            )
            return
    if not ctx.facts.omacetaxine:
        return
    yield from _daily_totals(ctx, this, earlier)
    if not this.waste:
        yield from _cycle_days(ctx, ctx.event if replacing else None)


def _daily_totals(
    ctx: LineContext, this: HistoryLine, earlier: list[HistoryLine]
) -> Iterator[Finding]:
    assert ctx.facts.billed is not None
    codes = ctx.refdata.codes_of_drug(ctx.facts.billed.drug)
    # One pass over the day's other lines of the drug, added in their order (the floats
    # of a sum() per figure on 3.11): administered lines, their units, all units.
    given = 0
    given_units = 0.0
    all_units = 0.0
    for ln in earlier:
        if ln.hcpcs in codes:
            all_units += ln.units
            if not ln.waste:
                given += 1
                given_units += ln.units
    day = ctx.line.service_date
    if not this.waste:
        administrations = given + 1
        limit = ctx.facts.drug.max_administrations_per_day if ctx.facts.drug else None
        if limit and administrations > limit:
            yield finding(
                "DOSING_ADMINISTRATIONS_PER_DAY",
                f"{administrations} administrations of {this.hcpcs} billed for {day}; the "
                f"label gives at most {limit} a day",
                field="line.service_date",
                suggestion="Check the dates of service; combine a day's doses on one line",
            )
        max_daily = ctx.facts.max_daily_units
        drug = ctx.facts.drug
        dose_units = given_units + this.units
        if (
            max_daily is not None
            and drug is not None
            and dose_units > max_daily * (1 + drug.dose_tolerance)
            and this.units <= max_daily * (1 + drug.dose_tolerance)
        ):
            yield finding(
                "DOSING_DAILY_ABOVE_LABEL_MAX",
                f"{fmt(dose_units)} units administered on {day} across lines exceed the "
                f"label maximum of {fmt(round(max_daily))} a day for BSA "
                f"{ctx.facts.bsa_m2:.2f} m2 by more than {fmt(drug.dose_tolerance * 100)}%",
                field="line.units",
                suggestion="Check each administration's units; bill discarded drug on JW lines",
            )
    mue = ctx.refdata.mue.get(this.hcpcs)
    total = all_units + this.units
    if mue is not None and total > mue.units >= this.units:
        yield finding(
            "UNITS_DAILY_MUE",
            f"{fmt(total)} {this.hcpcs} units billed for {day} across lines and claims "
            f"exceed the per-day MUE of {fmt(mue.units)}",
            field="line.units",
            suggestion="Check the other lines of this date; appeal with records if the dose "
            "was really given",
        )


def _cycle_days(ctx: LineContext, replacing: ClaimLineEvent | None) -> Iterator[Finding]:
    """`replacing`: the event, when it is a replacement or void."""
    history = ctx.history
    drug = ctx.facts.drug
    assert history is not None
    limit = drug.max_dosing_days_per_28 if drug else None
    assert ctx.facts.billed is not None
    codes = ctx.refdata.codes_of_drug(ctx.facts.billed.drug)
    days = history.history.dosing_days(codes, superseded_by=replacing)
    if limit and ctx.line.service_date not in days and len(days) >= limit:
        count, start = busiest_window(days | {ctx.line.service_date}, ctx.line.service_date)
        if count > limit:
            yield _over_the_cycle(count, start, limit)
            return
    if drug is not None and ctx.line.service_date not in days:
        yield from _maintenance_cycle(drug, days, ctx.line.service_date)


def _over_the_cycle(count: int, start: date, limit: int) -> Finding:
    end = date.fromordinal(min(start.toordinal() + CYCLE_DAYS - 1, date.max.toordinal()))
    return finding(
        "DOSING_CYCLE_DAYS",
        f"{count} dosing days in the {CYCLE_DAYS} days {start} to {end}; the label "
        f"doses at most {limit} days of a {CYCLE_DAYS}-day cycle (7 in maintenance)",
        field="line.service_date",
        suggestion="Check the service dates against the cycle's administration record",
    )


def _maintenance_cycle(drug: Drug, days: Set[date], day: date) -> Iterator[Finding]:
    """A patient in maintenance (their last whole cycle had at most the maintenance's dosing
    days) whose current cycle runs past them: a return to induction, or a dating slip.

    The last whole cycle is the one before the current, and not the first in view (whose
    start the history's retention may have cut)."""
    limit = drug.maintenance_dosing_days_per_28
    if not limit or len(days) < limit + 2:  # a cycle before the last whole one, and this
        return
    rest = CATALOG["DOSING_MAINTENANCE_CYCLE_DAYS"].param("new_cycle_after_rest_days")
    cycles = treatment_cycles(days | {day}, rest)
    at = next(i for i, cycle in enumerate(cycles) if day in cycle)
    current = [d for d in cycles[at] if d <= day]
    if at < 2 or len(current) <= limit:
        return
    previous = cycles[at - 1]
    if len(previous) > limit:
        return
    reduced = limit - drug.cycle_reduction_days
    yield finding(
        "DOSING_MAINTENANCE_CYCLE_DAYS",
        f"dosing day {len(current)} of the cycle that began {current[0]}; the previous cycle "
        f"({previous[0]} to {previous[-1]}, {len(previous)} dosing days) was a maintenance "
        f"cycle, which the label doses {limit} consecutive days of each {CYCLE_DAYS} "
        f"({reduced} when reduced after toxicity)",
        field="line.service_date",
        suggestion="Document the return to induction (loss of response), or check the "
        "service dates",
    )
