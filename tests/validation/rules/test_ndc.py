"""NDC edits."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from streams import refdata
from streams.contract.models import Severity
from streams.refdata import ReferenceData
from streams.validation.validator import Validator
from tests.conftest import codes, make_event


def test_clean_line_has_no_ndc_finding(validator: Validator) -> None:
    assert codes(validator.validate(make_event())) == []


def test_missing_ndc_on_a_medicare_j9262_line_is_a_note(validator: Validator) -> None:
    """Medicare FFS does not require the NDC on a code that names the drug."""
    verdict = validator.validate(make_event(line={"ndc": None}))
    assert codes(verdict) == ["NDC_MISSING"]
    assert verdict.findings[0].severity is Severity.INFO
    assert verdict.disposition == "pass"
    assert verdict.findings[0].field == "line.ndc"
    assert "63459-0177-xx" in (verdict.findings[0].suggestion or "")


def test_missing_ndc_fails_for_medicaid_on_any_drug_code(validator: Validator) -> None:
    """Medicaid needs the NDC on every physician-administered drug (DRA 2005)."""
    medicaid = {"payer": {"payer_id": "MCD-CA", "plan_type": "medicaid"}}
    for line in ({"ndc": None}, {"ndc": None, "hcpcs": "J9299", "units": 100, "modifiers": []}):
        verdict = validator.validate(make_event(claim=medicaid, line=line))
        assert ("NDC_MISSING", Severity.ERROR) in [(f.code, f.severity) for f in verdict.findings]


def test_unhyphenated_ten_digits_is_ambiguous(validator: Validator) -> None:
    verdict = validator.validate(make_event(line={"ndc": {"code": "6345901771"}}))
    assert codes(verdict) == ["NDC_AMBIGUOUS"]


def test_malformed(validator: Validator) -> None:
    verdict = validator.validate(make_event(line={"ndc": {"code": "63459-01X7-14"}}))
    assert codes(verdict) == ["NDC_MALFORMED"]


def test_short_hyphenated_form_is_accepted(validator: Validator) -> None:
    verdict = validator.validate(make_event(line={"ndc": {"code": "63459-177-14"}}))
    assert codes(verdict) == []
    assert verdict.enrichment.ndc is not None
    assert verdict.enrichment.ndc.ndc11 == "63459017714"


def test_an_unknown_ndc_on_a_single_source_code_is_an_error(validator: Validator) -> None:
    verdict = validator.validate(make_event(line={"ndc": {"code": "12345-6789-01"}}))
    assert codes(verdict) == ["NDC_NOT_SINGLE_SOURCE"]
    assert verdict.disposition == "fail"
    assert verdict.findings[0].suggestion == "Take the NDC from the vial label"


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("63495-0177-14", "63459-0177-14 (labeler digits swapped)"),
        ("63459-0171-14", "63459-0177-14 (product digits mistyped)"),
        ("63459-1077-14", "63459-0177-14 (product digits swapped)"),
    ],
)
def test_did_you_mean_the_nearest_ndc_of_the_code(
    validator: Validator, typed: str, meant: str
) -> None:
    verdict = validator.validate(make_event(line={"ndc": {"code": typed}}))
    assert codes(verdict) == ["NDC_NOT_SINGLE_SOURCE"]
    assert verdict.findings[0].suggestion == f"Did you mean {meant}?"


def test_an_unknown_ndc_on_a_multi_source_code_waits_for_the_crosswalk(
    ref: ReferenceData,
) -> None:
    line = {
        "hcpcs": "J9045",
        "units": 9,
        "modifiers": [],
        "route": "intravenous",
        "administered_mg": None,
        "ndc": {"code": "00703-4244-01", "quantity": 45, "unit": "ML"},
    }
    bundled = Validator(ref).validate(make_event(line=line))
    assert [(f.code, f.severity) for f in bundled.findings] == [("NDC_UNKNOWN", Severity.INFO)]
    assert "crosswalk is not loaded" in bundled.findings[0].message
    loaded = replace(ref, crosswalk_codes=frozenset({"J9045"}))
    verdict = Validator(loaded).validate(make_event(line=line))
    assert [(f.code, f.severity) for f in verdict.findings] == [("NDC_UNKNOWN", Severity.WARNING)]


def test_a_product_code_without_its_package_is_malformed(validator: Validator) -> None:
    for code in ("63459-0177", "634590177"):
        verdict = validator.validate(make_event(line={"ndc": {"code": code}}))
        assert codes(verdict) == ["NDC_MALFORMED"]
        assert "without its package segment" in verdict.findings[0].message


def test_medicaid_expects_the_ncpdp_unit(validator: Validator) -> None:
    medicaid = {"payer": {"payer_id": "MCD-CA", "plan_type": "medicaid"}}
    in_mg = validator.validate(
        make_event(claim=medicaid, line={"ndc": {"quantity": 3.5, "unit": "ME"}})
    )
    assert codes(in_mg) == ["NDC_UNIT_NCPDP"]
    assert in_mg.findings[0].suggestion == "Report the quantity in UN (1 UN)"
    medicare = validator.validate(make_event(line={"ndc": {"quantity": 3.5, "unit": "ME"}}))
    assert codes(medicare) == []


def test_ndc_of_a_code_outside_the_family(validator: Validator) -> None:
    verdict = validator.validate(make_event(line={"hcpcs": "J9035"}))
    assert codes(verdict) == ["NDC_HCPCS_MISMATCH"]
    assert verdict.findings[0].message == (
        "NDC 63459-0177-14 is omacetaxine mepesuccinate (J9262), but the line bills J9035"
    )


def test_missing_ndc_severity_follows_the_payer(validator: Validator) -> None:
    verdict = validator.validate(
        make_event(
            claim={"payer": {"payer_id": "TRICARE", "plan_type": "other"}}, line={"ndc": None}
        )
    )
    assert [(f.code, f.severity) for f in verdict.findings] == [("NDC_MISSING", Severity.WARNING)]
    optional = {"payer": {"payer_id": "EXAMPLE-NDC-OPTIONAL", "plan_type": "commercial"}}
    verdict = validator.validate(make_event(claim=optional, line={"ndc": None}))
    assert [(f.code, f.severity) for f in verdict.findings] == [("NDC_MISSING", Severity.INFO)]


def test_quantity_or_unit_missing(validator: Validator) -> None:
    assert codes(validator.validate(make_event(line={"ndc": {"quantity": None}}))) == [
        "NDC_QUANTITY_MISSING"
    ]
    assert codes(validator.validate(make_event(line={"ndc": {"unit": None}}))) == [
        "NDC_QUANTITY_MISSING"
    ]


def test_f2_unit_cannot_measure_the_drug(validator: Validator) -> None:
    assert codes(validator.validate(make_event(line={"ndc": {"unit": "F2"}}))) == [
        "NDC_UNIT_INVALID"
    ]


def test_discontinued_product_warns_after_the_date_a_user_sets(tmp_path: Path) -> None:
    drugs = (refdata.BUNDLED / "drugs.yaml").read_text()
    (tmp_path / "drugs.yaml").write_text(
        drugs.replace("discontinued_date: null", "discontinued_date: 2026-01-01", 1)
    )
    refdata.stamp(tmp_path)
    validator = Validator(refdata.load(tmp_path))
    after = validator.validate(make_event(line={"service_date": "2026-03-01"}))
    before = validator.validate(make_event(line={"service_date": "2025-12-31"}))
    assert codes(after) == ["PRODUCT_DISCONTINUED"]
    assert after.disposition == "warn"
    assert codes(before) == []
