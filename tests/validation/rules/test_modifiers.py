"""Modifier edits for every single-dose drug: JZ/JW required, JW amounts, GA, 340B by facility."""

from __future__ import annotations

from typing import Any

from streams.contract.models import Severity
from streams.samples import OPDIVO_100
from streams.validation.rules import modifiers
from streams.validation.rules.catalog import CATALOG
from streams.validation.validator import Validator
from tests.conftest import codes, make_event

NIVOLUMAB: dict[str, Any] = {
    "hcpcs": "J9299",
    "units": 100,
    "ndc": {"code": OPDIVO_100, "quantity": 1, "unit": "UN"},
    "administered_mg": None,
    "route": "intravenous",
}


def test_jz_required_follows_the_container_not_the_drug(validator: Validator) -> None:
    bare = validator.validate(make_event(line=NIVOLUMAB | {"modifiers": []}))
    assert codes(bare) == ["MODIFIER_JZ_JW_REQUIRED"]
    assert "single-dose container" in bare.findings[0].message
    carboplatin = NIVOLUMAB | {
        "hcpcs": "J9045",
        "units": 9,
        "modifiers": [],
        "ndc": {"code": "61703-0339-50", "quantity": 45, "unit": "ML"},
    }
    assert codes(validator.validate(make_event(line=carboplatin))) == []


def test_jz_required_from_the_catalogs_date_only(validator: Validator) -> None:
    early = {"service_date": "2023-06-30", "modifiers": []}
    event = make_event(line=NIVOLUMAB | early, event_time="2023-07-01T09:00:00Z")
    assert codes(validator.validate(event)) == []


def test_a_jw_amount_of_a_whole_vial_is_an_error(validator: Validator) -> None:
    pair = {"claim": {"total_lines": 2}, "documentation": {"waste_record": True}}
    whole = validator.validate(make_event(line={"modifiers": ["JW"], "units": 350}, **pair))
    assert codes(whole) == ["MODIFIER_JW_WHOLE_VIAL"]
    assert whole.findings[0].message == (
        "JW reports 350 discarded J9262 units, a whole 350-unit vial or more; the vials "
        "opened for a dose leave at most 349"
    )
    part = validator.validate(make_event(line={"modifiers": ["JW"], "units": 349}, **pair))
    assert codes(part) == []


def test_without_an_ndc_the_largest_package_bounds_the_jw_amount(validator: Validator) -> None:
    pair = {"claim": {"total_lines": 2, "payer": {"payer_id": "X", "plan_type": "medicare"}}}
    line = NIVOLUMAB | {"ndc": None, "modifiers": ["JW"]}
    assert "MODIFIER_JW_WHOLE_VIAL" not in codes(
        validator.validate(make_event(line=line | {"units": 239}, **pair))
    )
    assert "MODIFIER_JW_WHOLE_VIAL" in codes(
        validator.validate(make_event(line=line | {"units": 240}, **pair))
    )


def test_ga_is_a_note_for_medicare_only(validator: Validator) -> None:
    ga = validator.validate(make_event(line={"modifiers": ["JZ", "GA"]}))
    assert [(f.code, f.severity) for f in ga.findings] == [("MODIFIER_GA", Severity.INFO)]
    assert ga.disposition == "pass"
    commercial = {"payer": {"payer_id": "AETNA", "plan_type": "commercial"}}
    assert codes(validator.validate(make_event(claim=commercial, line={"modifiers": ["GA"]}))) == []


def test_jg_at_a_critical_access_hospital_names_tb(validator: Validator) -> None:
    claim = {"claim_type": "institutional", "type_of_bill": "0851", "place_of_service": None}
    line = {"modifiers": ["JZ", "JG"], "revenue_code": "0636"}
    verdict = validator.validate(make_event(claim=claim, line=line))
    assert codes(verdict) == ["MODIFIER_340B_FACILITY"]
    assert "type of bill 851" in verdict.findings[0].message
    opps = claim | {"type_of_bill": "131"}
    assert codes(validator.validate(make_event(claim=opps, line=line))) == []


def test_gz_and_gy_are_valid_from_2002(validator: Validator) -> None:
    """GY and GZ replaced GX from 2002-01-01 (CMS Program Memorandum B-01-30)."""
    for code in ("GZ", "GY"):
        assert str(validator.refdata.modifiers[code].effective_date) == "2002-01-01"
    line = {"modifiers": ["GZ"], "service_date": "2001-12-31"}
    verdict = validator.validate(make_event(line=line, event_time="2002-01-02T09:00:00Z"))
    spans = [f.message for f in verdict.findings if f.code == "MODIFIER_NOT_IN_EFFECT"]
    assert len(spans) == 1 and "GZ" in spans[0] and "2002-01-01" in spans[0], spans


def test_the_notice_and_340b_params_are_the_catalog_s() -> None:
    """Read from edits.yaml once at import rather than a line: the same values."""
    assert [(code, set(mods)) for code, _, mods in modifiers._NOTICES] == [
        (code, set(CATALOG[code].param("modifiers")))
        for code in ("MODIFIER_GZ", "MODIFIER_GA", "MODIFIER_GY")
    ]
    facility = CATALOG["MODIFIER_340B_FACILITY"]
    assert facility.param("jg") == modifiers._JG
    assert tuple(facility.param("reports_tb")) == modifiers._REPORTS_TB
