"""Diagnosis edits for J9262: a CML diagnosis, billable to the 5th character, valid on the
date of service; codes near CML that are not CML (history of, Excludes1 neighbours) are
reported with the reason their icd10.csv row gives."""

from __future__ import annotations

from collections.abc import Iterator

from streams.contract.models import Finding
from streams.refdata import Diagnosis, icd10_key
from streams.validation.rules.catalog import finding
from streams.validation.rules.engine import LineContext, rule

NOT_CML = ("history_of", "excludes1")
"""icd10.csv support kinds of codes that look near CML and do not support it."""


@rule
def diagnosis_in_effect(ctx: LineContext) -> Iterator[Finding]:
    """Every known diagnosis on the claim is valid on the line's date of service."""
    day = ctx.line.service_date
    for code in ctx.claim.diagnosis_codes:
        dx = ctx.refdata.diagnoses.get(icd10_key(code))
        if dx is None:
            continue
        if dx.effective_date and day < dx.effective_date:
            span = f"is valid from {dx.effective_date}"
        elif dx.termination_date and day > dx.termination_date:
            span = f"was deleted after {dx.termination_date}"
        else:
            continue
        yield finding(
            "DX_NOT_IN_EFFECT",
            f"diagnosis {code} {span}; the service date is {day}",
            field="claim.diagnosis_codes",
            suggestion="Report the code in effect on the date of service, or correct the date",
        )


def _reasons(known: dict[str, Diagnosis | None], kinds: tuple[str, ...]) -> list[str]:
    return [
        f"{code}: {dx.reason or dx.description}"
        for code, dx in known.items()
        if dx is not None and dx.support in kinds
    ]


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
        conflicts = _reasons(known, ("excludes1",))
        if conflicts:
            yield finding(
                "DX_EXCLUDES1_CONFLICT",
                "CML is reported with an Excludes1 neighbour: " + "; ".join(conflicts),
                field="claim.diagnosis_codes",
                suggestion="Report only the diagnosis the record supports",
            )
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
        near = _reasons(known, NOT_CML)
        yield finding(
            "DX_NOT_SUPPORTING",
            f"none of {', '.join(codes)} supports J9262 (CML, C92.1x)"
            + (": " + "; ".join(near) if near else ""),
            field="claim.diagnosis_codes",
            suggestion="Report the patient's CML diagnosis, C92.10, C92.11 or C92.12",
        )
