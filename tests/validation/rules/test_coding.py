"""Coding edits: retired code, look-alike mix-ups, typos, and "did you mean"."""

from __future__ import annotations

from streams.contract.models import Severity
from streams.samples import GAZYVA, OPDIVO_100
from streams.validation.validator import Validator
from tests.conftest import codes, make_event


def test_retired_c9297(validator: Validator) -> None:
    verdict = validator.validate(make_event(line={"hcpcs": "C9297"}))
    assert codes(verdict) == ["CODING_RETIRED_CODE"]
    assert verdict.findings[0].message == "C9297 was retired on 2013-12-31; J9262 replaced it"
    assert verdict.findings[0].suggestion == "Bill J9262"


def test_lookalike_ndc_names_both_drugs_and_suggests_the_code(validator: Validator) -> None:
    verdict = validator.validate(make_event(line={"hcpcs": "J9301", "units": 350}))
    assert codes(verdict) == ["CODING_LOOKALIKE_NDC"]
    finding = verdict.findings[0]
    assert finding.message == (
        "J9301 billed, but NDC 63459-0177-14 is omacetaxine mepesuccinate, billed as J9262"
    )
    assert finding.suggestion is not None
    assert finding.suggestion.startswith("Did you mean J9262?")
    assert [s.code for s in verdict.enrichment.similar_codes] == ["J9262"]


def test_j9262_billed_with_an_opdivo_ndc(validator: Validator) -> None:
    line = {"ndc": {"code": OPDIVO_100}, "units": 100, "administered_mg": 100}
    verdict = validator.validate(make_event(line=line))
    assert codes(verdict) == ["CODING_LOOKALIKE_NDC"]
    assert "nivolumab" in verdict.findings[0].message


def test_typo_of_j9262_with_synribo_ndc(validator: Validator) -> None:
    verdict = validator.validate(make_event(line={"hcpcs": "J9226"}))
    assert codes(verdict) == ["CODING_TYPO"]
    assert verdict.findings[0].message == (
        "J9226 billed: J9226 is a digit transposition of J9262 and NDC 63459-0177-14 is "
        "omacetaxine mepesuccinate (J9262)"
    )
    assert verdict.findings[0].suggestion == "Did you mean J9262?"


def test_typo_without_ndc_evidence_is_out_of_scope(validator: Validator) -> None:
    verdict = validator.validate(make_event(line={"hcpcs": "J9226", "ndc": None}))
    assert verdict.disposition == "out_of_scope"


def test_units_alone_suggest_a_lookalike_as_a_warning(validator: Validator) -> None:
    line = {
        "hcpcs": "J9301",
        "units": 350,
        "ndc": None,
        "administered_mg": None,
        "route": "intravenous",
        "modifiers": ["JZ"],
    }
    verdict = validator.validate(make_event(line=line))
    assert [(f.code, f.severity) for f in verdict.findings] == [
        ("CODING_LOOKALIKE_UNITS", Severity.WARNING),
        ("NDC_MISSING", Severity.INFO),
    ]
    assert verdict.findings[0].message == (
        "350 units of J9301 would be 3,500 mg of obinutuzumab, above the 100-unit maximum; "
        "as J9262 they are exactly 1 vial(s) of 350 units of omacetaxine mepesuccinate"
    )


def test_lookalike_with_its_own_ndc_passes(validator: Validator) -> None:
    line = {
        "hcpcs": "J9301",
        "units": 100,
        "ndc": {"code": GAZYVA, "quantity": 40, "unit": "ML"},
        "administered_mg": 1000,
        "route": "intravenous",
    }
    verdict = validator.validate(make_event(line=line))
    assert verdict.disposition == "pass", verdict.findings
    assert verdict.enrichment.similar_codes == []


def test_a_service_date_after_the_line_was_sent_is_a_typo(validator: Validator) -> None:
    verdict = validator.validate(make_event(line={"service_date": "2062-11-20"}))
    assert codes(verdict) == ["SERVICE_DATE_IN_FUTURE"]
    assert verdict.findings[0].message == (
        "Service date 2062-11-20 is after the line was sent (2026-11-20)"
    )
    assert verdict.findings[0].field == "line.service_date"


QVANTIG_LINE = {
    "units": 300,
    "ndc": {"code": "00003-3120-01", "quantity": 1, "unit": "UN"},
    "administered_mg": None,
}


def test_qvantig_billed_as_iv_nivolumab_points_to_its_own_code(validator: Validator) -> None:
    """Opdivo Qvantig (subcutaneous nivolumab + hyaluronidase) is not J9299's drug."""
    verdict = validator.validate(make_event(line=QVANTIG_LINE | {"hcpcs": "J9299"}))
    assert codes(verdict) == ["CODING_LOOKALIKE_NDC"]
    assert verdict.findings[0].severity is Severity.ERROR
    assert "nivolumab and hyaluronidase, billed as J9289" in verdict.findings[0].message
    assert verdict.findings[0].suggestion is not None
    assert verdict.findings[0].suggestion.startswith("Did you mean J9289?")


def test_qvantig_billed_as_j9289_passes_and_j9289_is_a_tracked_lookalike(
    validator: Validator,
) -> None:
    line = QVANTIG_LINE | {"hcpcs": "J9289", "units": 150, "route": "subcutaneous"}
    assert codes(validator.validate(make_event(line=line))) == []
    assert validator.refdata.hcpcs["J9289"].role == "lookalike"
    assert "J9289" in validator.refdata.tracked_codes
    product = validator.refdata.ndc("00003312001")
    assert product is not None
    assert (product.hcpcs, product.billing_units_per_package) == ("J9289", 150)
