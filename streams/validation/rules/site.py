"""Claim-context edits: whether the drug line belongs on this claim at all.

Where the drug was given (place of service), on which claim form (professional or
institutional, with its revenue code and type of bill), and how the drug reached the
patient (bought and billed, white bag, brown bag, specialty pharmacy). The places of
service, revenue codes and bill types are the catalog's `params`, not literals here.
"""

from __future__ import annotations

from collections.abc import Iterator

from streams.contract.models import ClaimType, DrugSource, Finding
from streams.validation.rules.catalog import CATALOG, finding
from streams.validation.rules.engine import LineContext, rule
from streams.validation.rules.units import fmt

# The catalog's params read once, not on every line.
_HOME = CATALOG["SITE_HOME_PART_B"].param("home")
_IN_HOSPITAL = CATALOG["SITE_PROFESSIONAL_IN_HOSPITAL_OUTPATIENT"]
_HOSPITAL_OUTPATIENT = _IN_HOSPITAL.param("hospital_outpatient")
_DRUG_REVENUE_CODES = CATALOG["SITE_REVENUE_CODE"].param("drug_revenue_codes")
_OUTPATIENT_PREFIXES = tuple(CATALOG["SITE_TYPE_OF_BILL"].param("outpatient_prefixes"))
_FULL_CHARGE = CATALOG["DRUG_SOURCE_FULL_CHARGE"]
_NOMINAL_CHARGE_MAX = float(_FULL_CHARGE.param("nominal_charge_max"))
_NOT_BOUGHT = _FULL_CHARGE.param("not_bought")


def place_of_service(ctx: LineContext) -> str | None:
    """The line's place of service (SV105), else the claim's (CLM05-1)."""
    return ctx.line.place_of_service or ctx.claim.place_of_service


def bill_type(type_of_bill: str) -> str:
    """'0131' and '131' are one type of bill: the leading zero is the UB-04's filler."""
    code = type_of_bill.strip()
    return code[1:] if len(code) == 4 and code.startswith("0") else code


@rule
def site_of_care(ctx: LineContext) -> Iterator[Finding]:
    if ctx.facts.billed is None:
        return
    pos, code = place_of_service(ctx), ctx.line.hcpcs
    if pos in _HOME:
        yield finding(
            "SITE_HOME_PART_B",
            f"{code} line at place of service {pos} (home) on a medical claim: a dose the "
            "patient takes at home is not a Part B incident-to drug",
            field="line.place_of_service",
            suggestion="Bill the home dose through the pharmacy benefit (Part D)",
        )
    if ctx.claim.claim_type is ClaimType.PROFESSIONAL and pos in _HOSPITAL_OUTPATIENT:
        yield finding(
            _IN_HOSPITAL.code,
            f"professional claim bills {code} at place of service {pos} (hospital outpatient "
            "department), where the hospital furnishes and bills the drug",
            field="line.place_of_service",
            suggestion="Remove the drug line; the hospital bills it on its institutional claim",
        )


@rule
def institutional_drug_line(ctx: LineContext) -> Iterator[Finding]:
    if ctx.facts.billed is None or ctx.claim.claim_type is not ClaimType.INSTITUTIONAL:
        return
    line, claim = ctx.line, ctx.claim
    drug_codes = _DRUG_REVENUE_CODES
    if line.revenue_code is None:
        yield finding(
            "SITE_REVENUE_CODE_MISSING",
            f"institutional {line.hcpcs} line has no revenue code (SV201)",
            field="line.revenue_code",
            suggestion=f"Report revenue code {drug_codes[0]}",
        )
    elif line.revenue_code not in drug_codes:
        yield finding(
            "SITE_REVENUE_CODE",
            f"{line.hcpcs} billed under revenue code {line.revenue_code}; a HCPCS-coded drug "
            f"goes under {' or '.join(drug_codes)}",
            field="line.revenue_code",
            suggestion=f"Report revenue code {drug_codes[0]}",
        )
    prefixes = _OUTPATIENT_PREFIXES
    tob = bill_type(claim.type_of_bill) if claim.type_of_bill else None
    if tob is None or not tob.startswith(prefixes):
        what = f"type of bill {claim.type_of_bill}" if tob else "no type of bill"
        yield finding(
            "SITE_TYPE_OF_BILL",
            f"institutional claim with {what} bills {line.hcpcs}; an outpatient drug goes on "
            f"a {' or '.join(p + 'x' for p in prefixes)} claim",
            field="claim.type_of_bill",
            suggestion=f"Report type of bill {prefixes[0]}1 (original) for hospital outpatient",
        )


CAME_FROM = {
    DrugSource.BROWN_BAG: "was brought by the patient (brown bag)",
    DrugSource.WHITE_BAG: "was supplied by the payer's pharmacy (white bag)",
    DrugSource.SPECIALTY_PHARMACY: "was dispensed by a specialty pharmacy",
    DrugSource.BUY_AND_BILL: "was bought by the provider",
}


@rule
def drug_source_charge(ctx: LineContext) -> Iterator[Finding]:
    line = ctx.line
    if ctx.facts.billed is None or line.drug_source is None or line.charge_amount is None:
        return
    nominal = _NOMINAL_CHARGE_MAX
    # The StrEnum member is its str: `.value` would cost 0.3 us through enum.property.
    if line.drug_source in _NOT_BOUGHT and float(line.charge_amount) > nominal:
        yield finding(
            _FULL_CHARGE.code,
            f"{line.hcpcs} {CAME_FROM[line.drug_source]} but is billed at "
            f"${fmt(float(line.charge_amount))}, above a nominal ${nominal:.2f}",
            field="line.charge_amount",
            suggestion="Bill the administration only, or the drug at the nominal charge the "
            "payer asks for",
        )
