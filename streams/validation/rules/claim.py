"""Claim-level edits: how a claim's lines fit together (JW pairs, vials, administration).

Plain functions over a `ClaimState`, run at roll-up by the stream and by
`j9262 validate` alike. Checks that rest on a line being absent run only on
complete claims.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import date

from streams.contract.models import ClaimType, Finding
from streams.refdata import ReferenceData
from streams.validation.rollup import ClaimLine, ClaimState
from streams.validation.rules.catalog import CATALOG, finding, resolve
from streams.validation.rules.units import fmt

DRUG = "J9262"
IV_CHEMO = ("96413", "96415")
SC_CHEMO = "96401"


def claim_findings(state: ClaimState, refdata: ReferenceData) -> list[Finding]:
    """The claim's findings, graded for its plan type (dates are checked per edit above)."""
    return resolve(list(_claim_findings(state, refdata)), state.plan_type.value, None)


def _claim_findings(state: ClaimState, refdata: ReferenceData) -> Iterator[Finding]:
    lines = sorted(state.lines.values(), key=lambda ln: ln.line_number)
    drug = [ln for ln in lines if ln.hcpcs == DRUG]
    if not state.complete:
        yield finding(
            "CLAIM_INCOMPLETE",
            f"{len(lines)} of {state.total_lines or 'an unknown number of'} lines arrived",
            field="claim.total_lines",
        )
    if not drug:
        return
    by_date: dict[date, list[ClaimLine]] = defaultdict(list)
    for ln in drug:
        by_date[ln.service_date].append(ln)
    vial = _vial_units(refdata)
    for day, day_lines in sorted(by_date.items()):
        given = [ln for ln in day_lines if not ln.waste]
        wasted = [ln for ln in day_lines if ln.waste]
        if wasted and not given and state.complete:
            yield finding(
                "CLAIM_JW_WITHOUT_ADMIN",
                f"JW line {wasted[0].line_number} reports {fmt(wasted[0].units)} discarded "
                f"units on {day}, but no administered {DRUG} line of that date is on the claim",
                field="lines",
                suggestion=f"Add the administered {DRUG} line for {day}",
            )
        if (
            CATALOG["CLAIM_JZ_JW_MISSING"].applies(state.plan_type.value, day)
            and len(lines) > 1
            and not wasted
            and any("JZ" not in ln.modifiers for ln in given)
            and state.complete
        ):
            line = next(ln for ln in given if "JZ" not in ln.modifiers)
            yield finding(
                "CLAIM_JZ_JW_MISSING",
                f"Medicare {DRUG} line {line.line_number} of {day} has no JZ and the claim has "
                "no JW line for that date",
                field="lines",
                suggestion="Add JZ if nothing was discarded, or a JW line with the discarded units",
            )
        if wasted and given and vial:
            total = sum(ln.units for ln in day_lines)
            if total % vial:
                yield finding(
                    "CLAIM_VIAL_TOTAL",
                    f"{fmt(sum(ln.units for ln in given))} administered + "
                    f"{fmt(sum(ln.units for ln in wasted))} discarded units on {day} make "
                    f"{fmt(total)}, not a whole number of {fmt(vial)}-unit vials",
                    field="lines",
                    suggestion="Make administered plus discarded units equal the vials opened",
                )
    codes = {ln.hcpcs for ln in lines}
    iv = sorted(c for c in codes if c in IV_CHEMO)
    if iv and SC_CHEMO not in codes:
        yield finding(
            "CLAIM_IV_ADMIN_CODE",
            f"IV infusion code {', '.join(iv)} billed with {DRUG}, which is given "
            f"subcutaneously, and no {SC_CHEMO}",
            field="lines",
            suggestion=f"Bill {SC_CHEMO} for the subcutaneous administration",
        )
    if (
        state.claim_type is ClaimType.PROFESSIONAL
        and state.complete
        and not codes & set(refdata.administration)
    ):
        yield finding(
            "CLAIM_NO_ADMIN_CODE",
            f"professional claim bills {DRUG} with no administration code",
            field="lines",
            suggestion=f"Add {SC_CHEMO} if the drug was given in the office",
        )


def _vial_units(refdata: ReferenceData) -> float | None:
    """Units in one vial, from the drug's label facts (as the line-level JZ check uses)."""
    drug = refdata.drugs.get(refdata.hcpcs[DRUG].drug) if DRUG in refdata.hcpcs else None
    return drug.vial_units if drug is not None else None
