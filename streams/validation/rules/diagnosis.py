"""Diagnosis edits for J9262: a CML diagnosis, billable to the 5th character."""

from __future__ import annotations

from collections.abc import Iterator

from streams.contract.models import Finding
from streams.refdata import icd10_key
from streams.validation.rules.catalog import finding
from streams.validation.rules.engine import LineContext, rule


@rule
def diagnosis_supports_j9262(ctx: LineContext) -> Iterator[Finding]:
    if not ctx.facts.omacetaxine:
        return
    codes = ctx.claim.diagnosis_codes
    if not codes:
        yield finding(
            "DX_MISSING",
            "the claim reports no diagnosis",
            field="claim.diagnosis_codes",
            suggestion="Report C92.10, C92.11 or C92.12 first",
        )
        return
    known = {code: ctx.refdata.diagnoses.get(icd10_key(code)) for code in codes}
    support = {code: dx.support for code, dx in known.items() if dx is not None}
    for code, kind in support.items():
        if kind == "incomplete":
            yield finding(
                "DX_INCOMPLETE",
                f"{code} is a category without its 5th character",
                field="claim.diagnosis_codes",
                suggestion=f"Report {icd10_key(code)[:3]}.{icd10_key(code)[3:]}0, 1 or 2",
            )
    if "supports" in support.values():
        return
    atypical = [c for c, kind in support.items() if kind == "payer_dependent"]
    if atypical:
        if not ctx.facts.policy.atypical_cml_covered:
            yield finding(
                "DX_ATYPICAL_CML",
                f"{', '.join(atypical)} is atypical CML (BCR/ABL-negative), covered by some "
                f"payers only; {ctx.facts.policy.basis} does not list it",
                field="claim.diagnosis_codes",
                suggestion="Confirm coverage with the payer, or report C92.1x if BCR/ABL-positive",
            )
        return
    if "incomplete" not in support.values():
        yield finding(
            "DX_NOT_SUPPORTING",
            f"none of {', '.join(codes)} supports J9262 (CML, C92.1x)",
            field="claim.diagnosis_codes",
            suggestion="Report the patient's CML diagnosis, C92.10, C92.11 or C92.12",
        )
