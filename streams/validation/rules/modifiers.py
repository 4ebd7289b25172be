"""Modifier edits: waste (JW/JZ), 340B (JG/TB), distinct-service and unknown modifiers."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import date

from streams.contract.models import Finding, Severity
from streams.refdata import Modifier
from streams.validation.rules.catalog import CATALOG, finding
from streams.validation.rules.engine import LineContext, rule
from streams.validation.rules.site import bill_type
from streams.validation.rules.units import fmt, units_in_doubt

SINGLE_DOSE = "single_dose"
"""hcpcs.csv's container value for single-dose vials (JW/JZ policy)."""

# The catalog's params read once, not on every line: each `CATALOG[...].param(...)`
# is two lookups and a call, and other_modifiers made about ten a line.
_NOTICES = tuple(
    (code, CATALOG[code], frozenset(CATALOG[code].param("modifiers")))
    for code in ("MODIFIER_GZ", "MODIFIER_GA", "MODIFIER_GY")
)
_FACILITY = CATALOG["MODIFIER_340B_FACILITY"]
_JG = _FACILITY.param("jg")
_REPORTS_TB = tuple(_FACILITY.param("reports_tb"))


@rule
def waste_modifiers(ctx: LineContext) -> Iterator[Finding]:
    facts, line, claim = ctx.facts, ctx.line, ctx.claim
    billed = facts.billed
    if billed is None:
        return
    mods = set(line.modifiers)
    units = facts.units
    waste, no_waste = facts.waste, facts.no_waste
    marked = mods & (ctx.refdata.of_kind("waste") | ctx.refdata.of_kind("no_waste"))
    if waste and no_waste:
        yield finding(
            "MODIFIER_JW_JZ_BOTH",
            "JW (amount discarded) and JZ (nothing discarded) are both on this line",
            field="line.modifiers",
            suggestion="Keep JZ if nothing was discarded; otherwise bill the waste on a JW line",
        )
    if marked and billed.multi_dose and facts.ndc_conflict is None:
        yield finding(
            "MODIFIER_WASTE_MULTI_DOSE",
            f"{'/'.join(sorted(marked))} on {billed.code} ({billed.drug}), "
            "a multi-dose container drug",
            field="line.modifiers",
            suggestion="Remove JW/JZ from multi-dose drug lines",
            # Discarded drug from a multi-dose vial is not billable at all: a JW line is
            # billed for nothing, a JZ is only a misplaced statement.
            severity=Severity.ERROR if waste else None,
        )
    if waste and units < 1:
        yield finding(
            "MODIFIER_JW_UNITS",
            f"JW line reports {fmt(units)} discarded units; at least 1 is required",
            field="line.units",
        )
    largest = _largest_vial(ctx)
    if waste and largest and units >= largest and facts.ndc_conflict is None:
        yield finding(
            "MODIFIER_JW_WHOLE_VIAL",
            f"JW reports {fmt(units)} discarded {billed.code} units, a whole {fmt(largest)}-unit "
            f"vial or more; the vials opened for a dose leave at most {fmt(largest - 1)}",
            field="line.units",
            suggestion="Bill only what was left in the last vial opened; unopened vials are "
            "not billed",
        )
    reported = _ndc_units(ctx)
    if (
        waste
        and reported is not None
        and units > math.ceil(reported - 1e-9)
        and not (largest and units >= largest)
    ):
        ndc = line.ndc
        assert ndc is not None and ndc.quantity is not None and ndc.unit is not None
        yield finding(
            "MODIFIER_JW_ABOVE_NDC_QUANTITY",
            f"JW reports {fmt(units)} discarded {billed.code} units, but the line's NDC "
            f"quantity {fmt(float(ndc.quantity))} {ndc.unit.value} holds only {fmt(reported)}",
            field="line.units",
            suggestion="Bill the discarded units the NDC quantity reports, or correct the NDC "
            "quantity",
        )
    if single_dose(ctx) and claim.total_lines in (None, 1) and not marked:
        yield finding(
            "MODIFIER_JZ_JW_REQUIRED",
            f"Medicare {billed.code} line of {line.service_date} ({billed.drug}, single-dose "
            "container), the only line of its claim, carries neither JZ nor JW",
            field="line.modifiers",
            suggestion="Add JZ if no drug was discarded, or bill the discarded units on a JW line",
        )
    vial = _vial_units(ctx)
    if (
        no_waste
        and not waste
        and not billed.multi_dose
        and vial
        and units % vial
        and not units_in_doubt(ctx)
    ):
        left = vial - units % vial
        yield finding(
            "MODIFIER_JZ_PARTIAL_VIAL",
            f"JZ with {fmt(units)} units leaves {fmt(left)} units of a {fmt(vial)}-unit vial "
            "unaccounted; the remainder may have served the next dose",
            field="line.modifiers",
            suggestion="Document that the remainder was used for the next dose (within the "
            "reconstituted solution's storage time); otherwise bill it on a JW line",
        )


def single_dose(ctx: LineContext) -> bool:
    """The line bills a drug from a single-dose container: its NDC's package says so, or,
    without a usable NDC, the billed code's container in hcpcs.csv. A line whose NDC names
    another code's drug is left to the coding edits."""
    facts = ctx.facts
    if facts.billed is None or facts.ndc_conflict is not None:
        return False
    if facts.product is not None:
        return facts.product.single_dose
    return facts.billed.container == SINGLE_DOSE


def _vial_units(ctx: LineContext) -> float | None:
    """The units of one vial of the line's drug: its NDC package's, else the label's vial."""
    product, drug = ctx.facts.product, ctx.facts.drug
    if product is not None and ctx.facts.ndc_conflict is None and product.single_dose:
        return product.billing_units_per_package
    return drug.vial_units if drug is not None else None


def _ndc_units(ctx: LineContext) -> float | None:
    """The billing units the line's NDC quantity reports, when the NDC is of the billed code."""
    facts = ctx.facts
    if facts.ndc_conflict is not None or facts.ndc_code is None:
        return None
    if facts.ndc_code.code != ctx.line.hcpcs:
        return None
    return facts.expected_units


def _largest_vial(ctx: LineContext) -> float | None:
    """The line's vial, else the billed single-dose code's largest package: a JW amount of
    that or more no vial leaves, whichever size was opened."""
    billed = ctx.facts.billed
    if billed is None or billed.container != SINGLE_DOSE:
        return None
    sizes = ctx.refdata.package_units.get(billed.code)
    return _vial_units(ctx) or (sizes[-1] if sizes else None)


@rule
def other_modifiers(ctx: LineContext) -> Iterator[Finding]:
    if ctx.facts.billed is None:
        return
    mods = ctx.line.modifiers
    present = set(mods)
    catalog = ctx.refdata.modifiers
    if len(present & ctx.refdata.of_kind("340b")) > 1:
        yield finding(
            "MODIFIER_JG_TB_BOTH",
            "JG and TB (340B-acquired drug) are both on this line",
            field="line.modifiers",
            suggestion="Keep TB for the hospital types CMS lists, JG otherwise",
        )
    for code, edit, notice in _NOTICES:
        for mod in present & notice:
            yield finding(
                code,
                f"{mod} on {ctx.line.hcpcs}: {edit.title}",
                field="line.modifiers",
                suggestion=edit.fix,
            )
    tob = bill_type(ctx.claim.type_of_bill or "") if _JG in mods else ""
    if _JG in mods and tob.startswith(_REPORTS_TB):
        yield finding(
            "MODIFIER_340B_FACILITY",
            f"{_JG} on a critical access hospital claim (type of bill {tob}), whose 340B drugs "
            "are reported with TB",
            field="line.modifiers",
            suggestion=_FACILITY.fix,
        )
    for mod in mods:
        known = catalog.get(mod)
        span = _out_of_span(known, ctx.line.service_date) if known is not None else None
        if span is not None:
            yield finding(
                "MODIFIER_NOT_IN_EFFECT",
                f"modifier {mod} {span}; the service date is {ctx.line.service_date}",
                field="line.modifiers",
                suggestion=f"Remove {mod}, or correct the date of service",
            )
        if known is None:
            yield finding(
                "MODIFIER_UNKNOWN",
                f"modifier {mod} is not a recognised drug-line modifier",
                field="line.modifiers",
                suggestion=f"Check {mod} against the HCPCS modifier list",
            )
        elif known.kind == "distinct":
            yield finding(
                "MODIFIER_DISTINCT_ON_DRUG",
                f"modifier {mod} ({known.description}) on drug line {ctx.line.hcpcs}",
                field="line.modifiers",
                suggestion=f"Remove {mod} unless the payer asked for it",
            )


def _out_of_span(mod: Modifier, day: date) -> str | None:
    """Why the modifier is not valid on the day, or None when it is."""
    if mod.effective_date and day < mod.effective_date:
        return f"is valid from {mod.effective_date}"
    if mod.termination_date and day > mod.termination_date:
        return f"was terminated on {mod.termination_date}"
    return None
