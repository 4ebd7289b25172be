"""NDC edits: present, well formed, known, and of the billed code's drug."""

from __future__ import annotations

from collections.abc import Iterator

from streams.events import Finding
from streams.refdata.ndc import format_ndc11
from streams.rules import LineContext, rule
from streams.rules.catalog import finding


@rule
def ndc_present_and_valid(ctx: LineContext) -> Iterator[Finding]:
    line, facts = ctx.line, ctx.facts
    if line.ndc is None:
        if line.hcpcs == "J9262":
            yield finding(
                "NDC_MISSING",
                "J9262 line has no NDC",
                field="line.ndc",
                suggestion="Report NDC 63459-0177-xx from the Synribo vial label as 11 digits",
            )
        return
    assert facts.ndc is not None
    if not facts.ndc.ok:
        code = "NDC_AMBIGUOUS" if "ambiguous" in (facts.ndc.problem or "") else "NDC_MALFORMED"
        yield finding(code, facts.ndc.problem or "NDC is malformed", field="line.ndc.code")
        return
    ndc11 = facts.ndc.ndc11 or ""
    if facts.product is None:
        if facts.billed is not None:
            yield finding(
                "NDC_UNKNOWN",
                f"NDC {format_ndc11(ndc11)} is not in reference data "
                f"{ctx.refdata.version} for {line.hcpcs}",
                field="line.ndc.code",
            )
        return
    if facts.billed is not None and facts.product.hcpcs != line.hcpcs:
        yield finding(
            "NDC_HCPCS_MISMATCH",
            f"NDC {format_ndc11(ndc11)} is {facts.product.drug} "
            f"({facts.product.hcpcs}), but the line bills {line.hcpcs}",
            field="line.hcpcs",
            suggestion=f"Bill {facts.product.hcpcs} if {facts.product.drug} was given, "
            "or correct the NDC",
        )
    if line.ndc.quantity is None or line.ndc.unit is None:
        missing = "quantity" if line.ndc.quantity is None else "unit of measure"
        yield finding(
            "NDC_QUANTITY_MISSING",
            f"NDC {format_ndc11(ndc11)} is reported without its {missing}",
            field=f"line.ndc.{'quantity' if line.ndc.quantity is None else 'unit'}",
        )
    elif facts.ndc_mg is None:
        yield finding(
            "NDC_UNIT_INVALID",
            f"NDC unit {line.ndc.unit.value} cannot measure {facts.product.drug} "
            f"({facts.product.package_description})",
            field="line.ndc.unit",
            suggestion="Report UN (vials), ME (mg) or GR (g)",
        )
