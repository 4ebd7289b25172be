"""A JW amount against the vials the claim's NDC quantities report (issue 30, item 7)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from streams.contract.models import ClaimLineEvent, ClaimType, Finding, PlanType
from streams.samples import ADMIN_96401, OPDIVO_100, claim
from streams.validation.rollup import ClaimLine, ClaimState
from streams.validation.rules.claim import claim_findings
from streams.validation.validator import Validator
from tests.conftest import make_event

WASTE = {"documentation": {"waste_record": True}}


def findings_of(
    validator: Validator, name: str, *lines: dict[str, Any], **sections: Any
) -> list[Finding]:
    events = [ClaimLineEvent.model_validate(d) for d in claim(name, *lines, **(WASTE | sections))]
    state = ClaimState(
        claim_id=events[0].claim.claim_id,
        claim_type=events[0].claim.claim_type,
        plan_type=events[0].claim.payer.plan_type,
        total_lines=len(events),
        first_seen=datetime.now(UTC),
    )
    for ev in events:
        state = state.with_line(ClaimLine.of(ev, validator.validate(ev)), len(events))
    return claim_findings(state, validator.refdata)


def dose(units: float, quantity: float | None = 1, **more: Any) -> dict[str, Any]:
    return {
        "modifiers": [],
        "units": units,
        "administered_mg": units / 100,
        "ndc": {"quantity": quantity},
    } | more


def jw(units: float, quantity: float | None = 1, **more: Any) -> dict[str, Any]:
    return {
        "modifiers": ["JW"],
        "units": units,
        "administered_mg": None,
        "ndc": {"quantity": quantity},
    } | more


def test_dose_and_jw_that_fill_the_vial_pass(validator: Validator) -> None:
    assert findings_of(validator, "fill", dose(250), jw(100), ADMIN_96401) == []


def test_a_jw_amount_the_vial_could_not_leave_is_an_error(validator: Validator) -> None:
    [found] = findings_of(validator, "over", dose(300), jw(100), ADMIN_96401)
    assert found.code == "CLAIM_JW_ABOVE_NDC_VIALS"
    assert found.severity.value == "error"
    assert found.message == (
        "JW line 2 reports 100 discarded J9262 units on 2026-11-20, but the NDC quantities "
        "report 1 vial(s) holding 350 units, of which 300 were administered: at most 50 could "
        "be left"
    )
    assert found.suggestion == "Bill 50 discarded units, or correct the NDC quantities"


def test_vials_the_units_do_not_fill_are_a_warning(validator: Validator) -> None:
    [found] = findings_of(validator, "under", dose(400, 2), jw(50, 2), ADMIN_96401)
    assert found.code == "CLAIM_NDC_VIALS_UNACCOUNTED"
    assert found.severity.value == "warning"
    assert "make 450, but the NDC quantities report 2 vial(s) holding 700 units" in found.message


def test_shares_of_a_vial_add_up_and_round_to_whole_vials(validator: Validator) -> None:
    """Each line its share (0.72 + 0.29 UN): one vial, whatever the rounding."""
    assert findings_of(validator, "shares", dose(250, 0.72), jw(100, 0.29), ADMIN_96401) == []
    [found] = findings_of(validator, "shares-over", dose(250, 0.72), jw(200, 0.29), ADMIN_96401)
    assert found.code == "CLAIM_JW_ABOVE_NDC_VIALS"


def test_millilitres_go_through_the_package_size(validator: Validator) -> None:
    def line(units: float, ml: float, mods: list[str]) -> dict[str, Any]:
        ndc = {"code": OPDIVO_100, "quantity": ml, "unit": "ML"}
        return {
            "hcpcs": "J9299",
            "units": units,
            "modifiers": mods,
            "ndc": ndc,
            "administered_mg": None,
            "route": "intravenous",
        }

    iv = ADMIN_96401 | {"hcpcs": "96413"}
    assert findings_of(validator, "ml", line(60, 6, []), line(40, 4, ["JW"]), iv) == []
    [found] = findings_of(validator, "ml-over", line(60, 6, []), line(60, 4, ["JW"]), iv)
    assert found.code == "CLAIM_JW_ABOVE_NDC_VIALS"
    assert "1 vial(s) holding 100 units, of which 60 were administered: at most 40" in found.message


def test_a_line_without_its_ndc_quantity_leaves_the_whole_vial_check(
    validator: Validator,
) -> None:
    """Not judged against the vials; the whole-vial total still applies."""
    assert findings_of(validator, "absent", dose(250), jw(100, None), ADMIN_96401) == []
    [found] = findings_of(validator, "absent-odd", dose(250), jw(50, None), ADMIN_96401)
    assert found.code == "CLAIM_VIAL_TOTAL"


def test_a_jw_line_above_its_own_ndc_quantity(validator: Validator) -> None:
    line = jw(150, 0.2) | {"line_number": 2}
    verdict = validator.validate(make_event("own", claim={"total_lines": 2}, line=line, **WASTE))
    assert [f.code for f in verdict.findings] == ["MODIFIER_JW_ABOVE_NDC_QUANTITY"]
    assert verdict.findings[0].message == (
        "JW reports 150 discarded J9262 units, but the line's NDC quantity 0.2 UN holds only 70"
    )


def test_a_claim_state_stored_before_the_ndc_fields_still_loads(validator: Validator) -> None:
    """Changelogs written before ClaimLine carried the NDC: the lines load without it and
    are judged by the whole-vial total, as before."""
    state = ClaimState(
        claim_id="C-old",
        claim_type=ClaimType.PROFESSIONAL,
        plan_type=PlanType.MEDICARE,
        total_lines=2,
        first_seen=datetime(2026, 11, 20, tzinfo=UTC),
    )
    for n, line in enumerate([dose(250), jw(50)], start=1):
        ev = make_event("old", claim={"total_lines": 2}, line=line | {"line_number": n}, **WASTE)
        state = state.with_line(ClaimLine.of(ev, validator.validate(ev)), 2)
    stored = json.loads(state.model_dump_json())
    for ln in stored["lines"].values():
        for key in ("ndc", "ndc_quantity", "ndc_unit"):
            del ln[key]
    old = ClaimState.model_validate_json(json.dumps(stored))
    assert all(ln.ndc is None and ln.ndc_quantity is None for ln in old.lines.values())
    assert [f.code for f in claim_findings(old, validator.refdata)] == [
        "CLAIM_VIAL_TOTAL",
        "CLAIM_NO_ADMIN_CODE",
    ]
    assert [f.code for f in claim_findings(state, validator.refdata)] == [
        "CLAIM_NDC_VIALS_UNACCOUNTED",
        "CLAIM_NO_ADMIN_CODE",
    ]
