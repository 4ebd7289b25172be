"""Unit edits: billed units against what the reported NDC quantity supplies."""

from __future__ import annotations

import math
from collections.abc import Iterator

from streams.events import Finding, NdcUnit
from streams.rules import LineContext, rule
from streams.rules.catalog import finding


def fmt(value: float) -> str:
    """3.5 -> '3.5', 350.0 -> '350', 9800 -> '9,800'."""
    return f"{value:,.4f}".rstrip("0").rstrip(".")


@rule
def units_fit_ndc_quantity(ctx: LineContext) -> Iterator[Finding]:
    line, facts = ctx.line, ctx.facts
    code, product = facts.ndc_code, facts.product
    if (
        facts.billed is None
        or code is None
        or product is None
        or code.code != line.hcpcs
        or "JW" in line.modifiers
        or facts.ndc_mg is None
        or facts.expected_units is None
        or not code.billing_unit_mg
        or line.ndc is None
        or line.ndc.quantity is None
    ):
        return
    units = float(line.units)
    mg = facts.ndc_mg
    per_package = product.billing_units_per_package
    quantity = float(line.ndc.quantity)

    if code.billing_unit_mg != 1 and math.isclose(units, mg, rel_tol=0.01):
        yield finding(
            "UNITS_NDC_SCALE",
            f"{fmt(units)} units billed for {fmt(mg)} mg; {code.code} is billed per "
            f"{fmt(code.billing_unit_mg)} mg: bill {fmt(facts.expected_units)}",
            field="line.units",
            suggestion=f"Bill {fmt(facts.expected_units)} units",
        )
        return
    if (
        line.ndc.unit is NdcUnit.UN
        and per_package
        and per_package > 1
        and math.isclose(units, quantity)
    ):
        yield finding(
            "UNITS_PER_VIAL",
            f"{fmt(units)} units billed for {fmt(quantity)} vial(s); each vial is "
            f"{fmt(per_package)} {code.code} units: bill up to {fmt(quantity * per_package)}",
            field="line.units",
            suggestion=f"Bill {fmt(facts.expected_units)} units for {fmt(quantity)} full vial(s)",
        )
        return
    if line.ndc.unit is NdcUnit.UN and per_package:
        low, high = (quantity - 1) * per_package, quantity * per_package
        if not (low < units <= high):
            yield finding(
                "UNITS_NDC_MISMATCH",
                f"{fmt(units)} units billed, but {fmt(quantity)} vial(s) of "
                f"{fmt(per_package)} units supply more than {fmt(low)} and at most "
                f"{fmt(high)}",
                field="line.units",
                suggestion="Bill the units given from the reported vials, or correct the "
                "NDC quantity",
            )
        return
    if abs(units - facts.expected_units) >= 1:
        yield finding(
            "UNITS_NDC_MISMATCH",
            f"{fmt(units)} units billed, but NDC quantity {fmt(quantity)} "
            f"{line.ndc.unit.value if line.ndc.unit else ''} is {fmt(mg)} mg = "
            f"{fmt(facts.expected_units)} {code.code} units",
            field="line.units",
            suggestion=f"Bill {fmt(facts.expected_units)} units or correct the NDC quantity",
        )
