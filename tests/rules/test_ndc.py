"""NDC edits."""

from __future__ import annotations

from streams.events import Severity
from streams.samples import GAZYVA, OPDIVO_100
from streams.verdicts import Validator
from tests.conftest import codes, make_event


def test_clean_line_has_no_ndc_finding(validator: Validator) -> None:
    assert codes(validator.validate(make_event())) == []


def test_missing_ndc_on_j9262(validator: Validator) -> None:
    verdict = validator.validate(make_event(line={"ndc": None}))
    assert codes(verdict) == ["NDC_MISSING"]
    assert verdict.findings[0].severity is Severity.ERROR
    assert verdict.findings[0].field == "line.ndc"


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


def test_ndc_of_another_drug(validator: Validator) -> None:
    verdict = validator.validate(make_event(line={"ndc": {"code": OPDIVO_100}, "units": 100}))
    assert codes(verdict) == ["NDC_HCPCS_MISMATCH"]
    assert "nivolumab (J9299)" in verdict.findings[0].message
    assert [s.code for s in verdict.enrichment.similar_codes] == ["J9299"]


def test_lookalike_billed_with_synribo_ndc(validator: Validator) -> None:
    verdict = validator.validate(make_event(line={"hcpcs": "J9301", "units": 350}))
    assert codes(verdict) == ["NDC_HCPCS_MISMATCH"]
    assert verdict.findings[0].suggestion is not None
    assert "J9262" in verdict.findings[0].suggestion


def test_lookalike_with_its_own_ndc_passes(validator: Validator) -> None:
    line = {"hcpcs": "J9301", "units": 100, "ndc": {"code": GAZYVA, "quantity": 40, "unit": "ML"}}
    verdict = validator.validate(make_event(line=line))
    assert verdict.disposition == "pass", verdict.findings


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
