"""NDC edits: present, well formed, known, of the billed code's drug, and still marketed."""

from __future__ import annotations

from collections.abc import Iterator

from streams.contract.models import Finding, NdcUnit
from streams.refdata.ndc import format_ndc11
from streams.validation.rules.catalog import finding
from streams.validation.rules.engine import LineContext, rule


@rule
def ndc_present_and_valid(ctx: LineContext) -> Iterator[Finding]:
    line, facts = ctx.line, ctx.facts
    if line.ndc is None:
        if facts.billed is not None and facts.policy.ndc_required:
            known = sorted(
                {format_ndc11(p.ndc11)[:10] for p in ctx.refdata.products_of(line.hcpcs)}
            )
            yield finding(
                "NDC_MISSING",
                f"{line.hcpcs} line has no NDC",
                field="line.ndc",
                suggestion="Report the 11-digit NDC from the vial label"
                + (f" ({', '.join(k + '-xx' for k in known)})" if known else ""),
            )
        return
    assert facts.ndc is not None
    if not facts.ndc.ok:
        code = "NDC_AMBIGUOUS" if "ambiguous" in (facts.ndc.problem or "") else "NDC_MALFORMED"
        yield finding(code, facts.ndc.problem or "NDC is malformed", field="line.ndc.code")
        return
    ndc = format_ndc11(facts.ndc.ndc11 or "")
    product = facts.product
    if product is None:
        yield finding(
            "NDC_UNKNOWN",
            f"NDC {ndc} is not in reference data {ctx.refdata.version} for {line.hcpcs}",
            field="line.ndc.code",
        )
        return
    if facts.ndc_conflict == "other":
        yield finding(
            "NDC_HCPCS_MISMATCH",
            f"NDC {ndc} is {product.drug} ({product.hcpcs}), but the line bills {line.hcpcs}",
            field="line.ndc.code",
            suggestion=f"Bill {product.hcpcs} if {product.drug} was given, or correct the NDC",
        )
    if line.ndc.quantity is None or line.ndc.unit is None:
        missing = "quantity" if line.ndc.quantity is None else "unit"
        yield finding(
            "NDC_QUANTITY_MISSING",
            f"NDC {ndc} is reported without its {missing} (CTP04/CTP05)",
            field=f"line.ndc.{missing}",
        )
    elif line.ndc.unit is NdcUnit.F2 or (
        line.ndc.unit is NdcUnit.ML and "powder" in product.package_description.lower()
    ):
        yield finding(
            "NDC_UNIT_INVALID",
            f"NDC unit {line.ndc.unit.value} cannot measure {product.drug} "
            f"({product.package_description})",
            field="line.ndc.unit",
            suggestion="Report UN (vials), ME (mg) or GR (g)",
        )


@rule
def product_discontinued(ctx: LineContext) -> Iterator[Finding]:
    drug = ctx.facts.drug
    if (
        drug is not None
        and drug.discontinued_date
        and ctx.line.service_date >= drug.discontinued_date
    ):
        yield finding(
            "PRODUCT_DISCONTINUED",
            f"{drug.name} was discontinued on {drug.discontinued_date}; service date "
            f"{ctx.line.service_date} is later",
            field="line.service_date",
            suggestion="Confirm the drug given and its NDC",
        )
