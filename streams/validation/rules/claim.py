"""Claim-level edits: how a claim's lines fit together (JW pairs, vials, administration).

Plain functions over a `ClaimState`, run at roll-up by the stream and by
`j9262 validate` alike. Checks that rest on a line being absent run only on
complete claims.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

from streams.contract.models import ClaimType, Finding
from streams.refdata import ReferenceData
from streams.refdata.ndc import normalize_ndc
from streams.validation.enrichment import ndc_milligrams
from streams.validation.rollup import ClaimLine, ClaimState
from streams.validation.rules.catalog import CATALOG, finding, resolve
from streams.validation.rules.modifiers import SINGLE_DOSE
from streams.validation.rules.units import fmt


def claim_findings(state: ClaimState, refdata: ReferenceData) -> list[Finding]:
    """The claim's findings, graded for its plan type (dates are checked per edit above)."""
    # The StrEnum member is its str: `.value` costs 0.3 us through enum.property on 3.11.
    return resolve(list(_claim_findings(state, refdata)), state.plan_type, None)


def _claim_findings(state: ClaimState, refdata: ReferenceData) -> Iterator[Finding]:
    lines = sorted(state.lines.values(), key=lambda ln: ln.line_number)
    target = refdata.target_code  # the code the administration edits are about
    if target is None:
        return
    if not state.complete:
        yield finding(
            "CLAIM_INCOMPLETE",
            f"{len(lines)} of {state.total_lines or 'an unknown number of'} lines arrived",
            field="claim.total_lines",
        )
    yield from _waste_pairs(state, refdata, lines)
    if not any(ln.hcpcs == target for ln in lines):
        return
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
        and not codes & refdata.administration_codes
    ):
        yield finding(
            "CLAIM_NO_ADMIN_CODE",
            f"professional claim bills {target} with no administration code",
            field="lines",
            suggestion=f"Add {sc_chemo} if the drug was given in the office",
        )


def _waste_pairs(
    state: ClaimState, refdata: ReferenceData, lines: list[ClaimLine]
) -> Iterator[Finding]:
    """Per drug and date: a JW line needs the administered line of the same drug; a Medicare
    single-dose drug needs JZ on it or a JW line; administered plus discarded make whole vials."""
    no_waste = refdata.of_kind("no_waste")
    by_drug_day: dict[tuple[str, date], list[ClaimLine]] = defaultdict(list)
    for ln in lines:
        known = refdata.hcpcs.get(ln.hcpcs)
        if known is not None:
            by_drug_day[known.drug, ln.service_date].append(ln)
    for (drug, day), day_lines in sorted(by_drug_day.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        given: list[ClaimLine] = []
        wasted: list[ClaimLine] = []
        for ln in day_lines:
            (wasted if ln.waste else given).append(ln)
        code = wasted[0].hcpcs if wasted else given[0].hcpcs
        if wasted and not given and state.complete:
            yield finding(
                "CLAIM_JW_WITHOUT_ADMIN",
                f"JW line {wasted[0].line_number} reports {fmt(wasted[0].units)} discarded "
                f"{code} units on {day}, but no administered {drug} line of that date is on "
                "the claim",
                field="lines",
                suggestion=f"Add the administered {code} line for {day}",
            )
        if (  # the cheap tests first: most claims are one line
            len(lines) > 1
            and not wasted
            and state.complete
            and (bare := [ln for ln in given if not no_waste & set(ln.modifiers)])
            and refdata.hcpcs[bare[0].hcpcs].container == SINGLE_DOSE
            and CATALOG["CLAIM_JZ_JW_MISSING"].applies(state.plan_type, day)
        ):
            yield finding(
                "CLAIM_JZ_JW_MISSING",
                f"Medicare {bare[0].hcpcs} line {bare[0].line_number} of {day} ({drug}, "
                "single-dose container) has no JZ and the claim has no JW line of it for that "
                "date",
                field="lines",
                suggestion="Add JZ if nothing was discarded, or a JW line with the discarded units",
            )
        if wasted and given:
            held = _vials_reported(refdata, day_lines)
            if held is not None:
                yield from _against_vials(held, given, wasted, code, day)
                continue
        if wasted and given and (vial := _vial_units(refdata, code)):
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


def _vial_units(refdata: ReferenceData, code: str) -> float | None:
    """Units in one vial, from the drug's label facts (as the line-level JZ check uses)."""
    drug = refdata.drugs.get(refdata.hcpcs[code].drug) if code in refdata.hcpcs else None
    return drug.vial_units if drug is not None else None


@dataclass(frozen=True, slots=True)
class _Vials:
    """The vials a drug's lines of one date report opening, and the billing units in one."""

    count: int
    per_vial: float

    @property
    def units(self) -> float:
        return self.count * self.per_vial


def _line_vials(refdata: ReferenceData, ln: ClaimLine) -> tuple[float, float] | None:
    """The vials and billing units the line's NDC quantity reports: UN counts vials, ML, ME
    and GR go through the NDC row's package size. None when the line has no quantity, or
    its NDC is not a known package of the line's code (the line edits report that)."""
    if ln.ndc is None or ln.ndc_quantity is None or ln.ndc_unit is None:
        return None
    normalized = normalize_ndc(ln.ndc)
    product = refdata.ndc(normalized.ndc11) if normalized.ndc11 else None
    if product is None or product.hcpcs != ln.hcpcs or not product.billing_units_per_package:
        return None
    mg = ndc_milligrams(product, ln.ndc_quantity, ln.ndc_unit)
    if not mg or not product.package_mg:
        return None
    vials = mg / product.package_mg
    return vials, vials * product.billing_units_per_package


def _vials_reported(refdata: ReferenceData, day_lines: list[ClaimLine]) -> _Vials | None:
    """The vials a drug's lines of one date report, when every line reports its quantity.

    Lines that all name the same NDC quantity name the same vials (the vial a dose came
    from is the vial its leftover was discarded from); otherwise each line reports its
    share and the shares add up. Vials are opened whole: shares of 1.4 vials opened two."""
    each = [_line_vials(refdata, ln) for ln in day_lines]
    known = [v for v in each if v is not None]
    if len(known) < len(each):
        return None
    same = len({(ln.ndc, ln.ndc_quantity, ln.ndc_unit) for ln in day_lines}) == 1
    vials = known[0][0] if same else sum(v for v, _ in known)
    per_vial = sum(u for _, u in known) / sum(v for v, _ in known)
    return _Vials(count=math.ceil(vials - _SLACK), per_vial=per_vial)


_SLACK = 0.02
"""Rounding in reported shares of a vial (0.71 + 0.28 UN) that still make whole vials."""


def _against_vials(
    held: _Vials, given: list[ClaimLine], wasted: list[ClaimLine], code: str, day: date
) -> Iterator[Finding]:
    """Administered plus discarded units against the units of the vials reported: more is
    a JW amount the vials could not leave (error), less leaves drug unaccounted (warning)."""
    administered = sum(ln.units for ln in given)
    discarded = sum(ln.units for ln in wasted)
    total = administered + discarded
    if abs(total - held.units) < 1:
        return
    vials = f"{held.count} vial(s) holding {fmt(held.units)} units"
    if total > held.units:
        room = max(held.units - administered, 0)
        yield finding(
            "CLAIM_JW_ABOVE_NDC_VIALS",
            f"JW line {wasted[0].line_number} reports {fmt(discarded)} discarded {code} units on "
            f"{day}, but the NDC quantities report {vials}, of which {fmt(administered)} were "
            f"administered: at most {fmt(room)} could be left",
            field="lines",
            suggestion=f"Bill {fmt(room)} discarded units, or correct the NDC quantities",
        )
        return
    yield finding(
        "CLAIM_NDC_VIALS_UNACCOUNTED",
        f"{fmt(administered)} administered + {fmt(discarded)} discarded {code} units on {day} "
        f"make {fmt(total)}, but the NDC quantities report {vials}",
        field="lines",
        suggestion="Make administered plus discarded units fill the vials opened, or correct "
        "the NDC quantities",
    )
