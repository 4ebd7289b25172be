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


def claim_findings(state: ClaimState, refdata: ReferenceData) -> list[Finding]:
    """The claim's findings, graded for its plan type (dates are checked per edit above)."""
    return resolve(list(_claim_findings(state, refdata)), state.plan_type.value, None)


def _claim_findings(state: ClaimState, refdata: ReferenceData) -> Iterator[Finding]:
    lines = sorted(state.lines.values(), key=lambda ln: ln.line_number)
    tracked = [c.code for c in refdata.hcpcs.values() if c.role == "tracked"]
    if not tracked:
        return
    target = tracked[0]  # the code the claim edits are about
    no_waste = refdata.of_kind("no_waste")
    drug = [ln for ln in lines if ln.hcpcs == target]
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
    vial = _vial_units(refdata, target)
    for day, day_lines in sorted(by_date.items()):
        given = [ln for ln in day_lines if not ln.waste]
        wasted = [ln for ln in day_lines if ln.waste]
        if wasted and not given and state.complete:
            yield finding(
                "CLAIM_JW_WITHOUT_ADMIN",
                f"JW line {wasted[0].line_number} reports {fmt(wasted[0].units)} discarded "
                f"units on {day}, but no administered {target} line of that date is on the claim",
                field="lines",
                suggestion=f"Add the administered {target} line for {day}",
            )
        if (
            CATALOG["CLAIM_JZ_JW_MISSING"].applies(state.plan_type.value, day)
            and len(lines) > 1
            and not wasted
            and any(not no_waste & set(ln.modifiers) for ln in given)
            and state.complete
        ):
            line = next(ln for ln in given if not no_waste & set(ln.modifiers))
            yield finding(
                "CLAIM_JZ_JW_MISSING",
                f"Medicare {target} line {line.line_number} of {day} has no JZ and the claim has "
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
    sc_chemo = CATALOG["CLAIM_IV_ADMIN_CODE"].param("subcutaneous_chemotherapy")
    iv = sorted(codes & refdata.administration_by_route.get("intravenous", frozenset()))
    if iv and sc_chemo not in codes:
        yield finding(
            "CLAIM_IV_ADMIN_CODE",
            f"IV infusion code {', '.join(iv)} billed with {target}, which is given "
            f"subcutaneously, and no {sc_chemo}",
            field="lines",
            suggestion=f"Bill {sc_chemo} for the subcutaneous administration",
        )
    if (
        state.claim_type is ClaimType.PROFESSIONAL
        and state.complete
        and not codes & set(refdata.administration)
    ):
        yield finding(
            "CLAIM_NO_ADMIN_CODE",
            f"professional claim bills {target} with no administration code",
            field="lines",
            suggestion=f"Add {sc_chemo} if the drug was given in the office",
        )


def _vial_units(refdata: ReferenceData, code: str) -> float | None:
    """Units in one vial, from the drug's label facts (as the line-level JZ check uses)."""
    drug = refdata.drugs.get(refdata.hcpcs[code].drug) if code in refdata.hcpcs else None
    return drug.vial_units if drug is not None else None
