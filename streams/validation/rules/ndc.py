"""NDC edits: present, well formed, known, of the billed code's drug, and still marketed."""

from __future__ import annotations

from collections.abc import Iterator

from streams.contract.models import Finding, NdcUnit, Severity
from streams.refdata.ndc import format_ndc11
from streams.validation.rules.catalog import finding
from streams.validation.rules.engine import LineContext, rule
from streams.validation.rules.units import fmt
from streams.validation.similarity import nearest_ndcs


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
        yield _unknown_ndc(ctx, facts.ndc.ndc11 or "")
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
    elif facts.ndc_conflict is None:
        wanted = NdcUnit.ML if product.package_ml else NdcUnit.UN
        if line.ndc.unit is not wanted:
            per = (product.package_ml or 1) if wanted is NdcUnit.ML else 1
            amount = (
                facts.ndc_mg / product.package_mg * per
                if facts.ndc_mg and product.package_mg
                else None
            )
            yield finding(
                "NDC_UNIT_NCPDP",
                f"NDC quantity in {line.ndc.unit.value}; the NCPDP billing unit of "
                f"{product.package_description} is {wanted.value}",
                field="line.ndc.unit",
                suggestion=f"Report the quantity in {wanted.value}"
                + (f" ({fmt(amount)} {wanted.value})" if amount else ""),
            )


def _unknown_ndc(ctx: LineContext, ndc11: str) -> Finding:
    """An NDC outside the rows: for a single-source drug another drug or a keying slip
    (with the nearest NDCs of the code); otherwise only outside the bundled sample until
    the CMS crosswalk is loaded."""
    line, billed = ctx.line, ctx.facts.billed
    ndc = format_ndc11(ndc11)
    drug = ctx.facts.drug
    if billed is not None and drug is not None and drug.single_source:
        near = nearest_ndcs(ndc11, billed.code, ctx.refdata)
        known = ", ".join(format_ndc11(p.ndc11) for p in ctx.refdata.products_of(billed.code))
        return finding(
            "NDC_NOT_SINGLE_SOURCE",
            f"NDC {ndc} is not one of {billed.code}'s ({drug.name}, a single-source drug): "
            f"{known or 'none listed'}",
            field="line.ndc.code",
            suggestion=f"Did you mean {' or '.join(near)}?"
            if near
            else "Take the NDC from the vial label",
        )
    loaded = billed is not None and billed.code in ctx.refdata.crosswalk_codes
    return finding(
        "NDC_UNKNOWN",
        f"NDC {ndc} is not in reference data {ctx.refdata.version} for {line.hcpcs}"
        + ("" if loaded else " (the CMS NDC-HCPCS crosswalk is not loaded for it)"),
        field="line.ndc.code",
        severity=None if loaded else Severity.INFO,
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
