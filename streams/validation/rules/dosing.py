"""Dosing edits for J9262: the label's BSA-based daily maximum and the route."""

from __future__ import annotations

from collections.abc import Iterator

from streams.contract.models import Finding, Route, Severity
from streams.validation.rules.catalog import finding
from streams.validation.rules.engine import LineContext, rule
from streams.validation.rules.units import fmt, units_in_doubt


@rule
def dose_within_label(ctx: LineContext) -> Iterator[Finding]:
    facts, line = ctx.facts, ctx.line
    drug = facts.drug
    if drug is None or drug.dose_mg_per_m2 is None or facts.waste:
        return
    # A StrEnum member compares as its str; `.value` would cost 0.3 us (enum.property).
    if line.route is not None and drug.route and line.route != drug.route:
        yield finding(
            "DOSING_ROUTE",
            f"route {line.route.value} reported; {drug.name} is given {drug.route} only",
            field="line.route",
            suggestion=f"Report route {Route(drug.route).value}",
        )
    one_vial = drug.vial_units is not None and facts.units <= drug.vial_units
    # Within one vial no body size makes the dose implausible: it cannot change the
    # outcome (docs/rules.md, severity policy).
    if facts.body_size_problem is not None:
        yield finding(
            "DOSING_BODY_SIZE_IMPLAUSIBLE",
            f"{facts.body_size_problem}: no dose ceiling is built on it",
            field="claim.patient",
            suggestion="Correct height_cm, weight_kg or bsa_m2",
            severity=Severity.INFO if one_vial else None,
        )
        return
    if facts.bsa_m2 is None:
        yield finding(
            "DOSING_BSA_UNKNOWN",
            "neither BSA nor height and weight are reported, so the dose cannot be checked "
            f"against {fmt(drug.dose_mg_per_m2 or 0)} mg/m2"
            + (f" (the {fmt(facts.units)} units fit one vial)" if one_vial else ""),
            field="claim.patient",
            suggestion="Report bsa_m2, or height_cm and weight_kg",
            severity=Severity.INFO if one_vial else None,
        )
        return
    limit = facts.max_daily_units
    if (
        limit is None
        or facts.billed is None
        or not facts.billed.billing_unit_mg
        or units_in_doubt(ctx)  # a scale slip or a wrong code, already reported
    ):
        return
    units = facts.units
    days = round(units / limit)
    if 2 <= days <= (drug.max_dosing_days_per_28 or 0) and abs(units - days * limit) <= (
        days * limit * drug.dose_tolerance
    ):
        yield finding(
            "DOSING_CYCLE_ON_ONE_LINE",
            f"{fmt(units)} units are {days} days' label doses ({fmt(round(limit))} units a day "
            f"for BSA {facts.bsa_m2:.2f} m2) on one line of {line.service_date}",
            field="line.units",
            suggestion="Bill one line per date of service with that day's units",
        )
        return
    if units > limit * (1 + drug.dose_tolerance):
        unit_mg = facts.billed.billing_unit_mg
        yield finding(
            "DOSING_ABOVE_LABEL_MAX",
            f"{fmt(units)} units ({fmt(units * unit_mg)} mg) exceed the label maximum of "
            f"{fmt(round(limit))} units ({fmt(limit * unit_mg)} mg) a day for BSA "
            f"{facts.bsa_m2:.2f} m2 ({drug.max_administrations_per_day} x "
            f"{fmt(drug.dose_mg_per_m2 or 0)} mg/m2) by more than "
            f"{fmt(drug.dose_tolerance * 100)}%",
            field="line.units",
            suggestion="Check the dose calculation; bill discarded drug on a JW line",
        )
