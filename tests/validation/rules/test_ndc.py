"""NDC edits."""

from __future__ import annotations

from pathlib import Path

from streams import refdata
from streams.contract.models import Severity
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


def test_unknown_ndc_warns(validator: Validator) -> None:
    verdict = validator.validate(make_event(line={"ndc": {"code": "12345-6789-01"}}))
    assert codes(verdict) == ["NDC_UNKNOWN"]
    assert verdict.disposition == "warn"


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
