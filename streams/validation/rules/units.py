"""Unit edits: billed units against the NDC quantity, the administered dose and the MUE."""

from __future__ import annotations

import math
from collections.abc import Iterator

from streams.contract.models import Finding, NdcUnit
from streams.validation.rules.catalog import CATALOG, finding
from streams.validation.rules.engine import LineContext, rule


def fmt(value: float) -> str:
    """3.5 -> '3.5', 350.0 -> '350', 9800 -> '9,800'."""
    return f"{value:,.4f}".rstrip("0").rstrip(".")


_SCALE_FACTORS = CATALOG["UNITS_NDC_SCALE"].param("factors")
_SCALES = (*_SCALE_FACTORS, *(1 / f for f in _SCALE_FACTORS))
"""UNITS_NDC_SCALE's factors and their inverses, read from the catalog once."""


def reference_mg(ctx: LineContext) -> float | None:
    """The drug amount the units should express: the NDC quantity, else the administered mg.

    None when the NDC names another code's drug: the amount is then not in this code's unit.
    """
    if ctx.facts.ndc_conflict is not None:
        return None
    if ctx.facts.ndc_mg is not None:
        return ctx.facts.ndc_mg
    if ctx.line.administered_mg is not None and not ctx.facts.waste:
        return float(ctx.line.administered_mg)
    return None


def billed_in_mg(ctx: LineContext) -> bool:
    """Units equal to the milligrams, for a code whose unit is not 1 mg: the 100x mistake."""
    billed, mg = ctx.facts.billed, reference_mg(ctx)
    return (
        billed is not None
        and billed.billing_unit_mg not in (None, 1)
        and mg is not None
        and mg > 0
        and math.isclose(ctx.facts.units, mg, rel_tol=0.01)
    )


def scale_error(ctx: LineContext) -> float | None:
    """How many times too many (above 1) or too few (below 1) units the line bills, when
    that is a scale slip: the milligrams billed as units (on any evidence), or units 10 or
    100 times (UNITS_NDC_SCALE's factors) what the NDC quantity supplies."""
    billed, mg = ctx.facts.billed, reference_mg(ctx)
    if billed is None or not billed.billing_unit_mg or mg is None or mg <= 0:
        return None
    ratio = ctx.facts.units / (mg / billed.billing_unit_mg)
    if billed_in_mg(ctx):
        return ratio
    if ctx.facts.waste or ctx.facts.ndc_mg is None:
        return None
    for factor in _SCALES:
        if math.isclose(ratio, factor, rel_tol=0.01):
            return float(factor)
    return None


def ndc_units_problem(ctx: LineContext) -> Finding | None:
    """`_ndc_units_problem`, computed once a line: the unit, dosing and JZ rules all ask."""
    if not ctx.units_checked:
        ctx.units_problem = _ndc_units_problem(ctx)
        ctx.units_checked = True
    return ctx.units_problem


def _ndc_units_problem(ctx: LineContext) -> Finding | None:
    """The one finding that explains units at odds with the NDC quantity, if any.

    Billing in mg (the 100x mistake) and one unit per vial are named as such; other
    gaps are a plain mismatch. Other unit rules stand down when this explains the line.
    """
    line, facts = ctx.line, ctx.facts
    billed = facts.billed
    if billed is None or not billed.billing_unit_mg:
        return None
    units = facts.units
    factor = scale_error(ctx)
    if factor is not None:
        mg = reference_mg(ctx) or 0.0
        right = mg / billed.billing_unit_mg
        how = f"{fmt(factor)}x too many" if factor > 1 else f"{fmt(1 / factor)}x too few"
        return finding(
            "UNITS_NDC_SCALE",
            f"{fmt(units)} units billed for {fmt(mg)} mg; {billed.code} is billed per "
            f"{fmt(billed.billing_unit_mg)} mg: bill {fmt(right)} ({how})",
            field="line.units",
            suggestion=f"Bill {fmt(right)} units",
        )
    product, ndc = facts.product, line.ndc
    if (
        product is None
        or facts.ndc_conflict is not None
        or facts.waste
        or facts.ndc_mg is None
        or facts.expected_units is None
        or ndc is None
        or ndc.quantity is None
    ):
        return None
    per_package = product.billing_units_per_package
    quantity = float(ndc.quantity)
    if ndc.unit is NdcUnit.UN and per_package and per_package > 1 and units == quantity:
        return finding(
            "UNITS_PER_VIAL",
            f"{fmt(units)} unit(s) billed for {fmt(quantity)} vial(s); each vial is "
            f"{fmt(per_package)} {billed.code} units: bill up to {fmt(quantity * per_package)}",
            field="line.units",
            suggestion=f"Bill the units given: up to {fmt(facts.expected_units)} for "
            f"{fmt(quantity)} full vial(s)",
        )
    if ndc.unit is NdcUnit.UN and per_package:
        low, high = (quantity - 1) * per_package, quantity * per_package
        if low < units <= high:
            return None
        return finding(
            "UNITS_NDC_MISMATCH",
            f"{fmt(units)} units billed, but {fmt(quantity)} vial(s) of {fmt(per_package)} "
            f"units supply more than {fmt(low)} and at most {fmt(high)}",
            field="line.units",
            suggestion="Bill the units given from the reported vials, or correct the NDC quantity",
        )
    if abs(units - facts.expected_units) < 1:
        return None
    return finding(
        "UNITS_NDC_MISMATCH",
        f"{fmt(units)} units billed, but NDC quantity {fmt(quantity)} "
        f"{ndc.unit.value if ndc.unit else ''} is {fmt(facts.ndc_mg)} mg = "
        f"{fmt(facts.expected_units)} {billed.code} units",
        field="line.units",
        suggestion=f"Bill {fmt(facts.expected_units)} units or correct the NDC quantity",
    )


def units_in_doubt(ctx: LineContext) -> bool:
    """The code or the units are already reported wrong: checks built on them would only
    repeat that."""
    return ctx.facts.ndc_conflict is not None or ndc_units_problem(ctx) is not None


@rule
def units_fit_ndc_quantity(ctx: LineContext) -> Iterator[Finding]:
    problem = ndc_units_problem(ctx)
    if problem is not None:
        yield problem


@rule
def units_match_administered_dose(ctx: LineContext) -> Iterator[Finding]:
    line, billed = ctx.line, ctx.facts.billed
    if (
        billed is None
        or not billed.billing_unit_mg
        or line.administered_mg is None
        or ctx.facts.waste
        or units_in_doubt(ctx)
    ):
        return
    expected = float(line.administered_mg) / billed.billing_unit_mg
    if abs(ctx.facts.units - expected) >= 1:
        yield finding(
            "UNITS_DOSE_MISMATCH",
            f"{fmt(ctx.facts.units)} units billed, but {fmt(float(line.administered_mg))} mg "
            f"administered is {fmt(expected)} {billed.code} units",
            field="line.units",
            suggestion=f"Bill {fmt(math.ceil(expected - 1e-9))} units; bill any discarded "
            "amount on a JW line",
        )


@rule
def units_whole_and_within_mue(ctx: LineContext) -> Iterator[Finding]:
    billed = ctx.facts.billed
    if billed is None:
        return
    units = ctx.facts.units
    if not units.is_integer() and scale_error(ctx) is None:
        yield finding(
            "UNITS_FRACTIONAL",
            f"{fmt(units)} units is not a whole number of {billed.code} billing units",
            field="line.units",
            suggestion=f"Bill {fmt(math.ceil(units))} units if the dose needs rounding up",
        )
    mue = ctx.refdata.mue.get(billed.code)
    if mue is not None and units > mue.units:
        basis = "label-derived default" if mue.basis == "label_derived" else "CMS MUE"
        yield finding(
            "UNITS_ABOVE_MUE",
            f"{fmt(units)} units exceed the {billed.code} per-day MUE of {fmt(mue.units)} "
            f"({basis}, MAI {mue.mai})",
            field="line.units",
            suggestion=f"Bill at most {fmt(mue.units)} units for the day, or appeal with records",
        )
