"""The contract models are strict where the contract is strict."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import ValidationError

from streams.contract.models import ClaimLineEvent, Disposition, LineVerdict
from streams.samples import event


def test_the_contract_example_validates() -> None:
    ev = ClaimLineEvent.model_validate(event("x"))
    assert ev.line.units == Decimal(350)
    assert ev.claim.payer.plan_type == "medicare"


@pytest.mark.parametrize(
    ("section", "change", "loc"),
    [
        ("claim", {"claim_type": "dental"}, "claim.claim_type"),
        ("claim", {"payer": {"plan_type": "hmo"}}, "claim.payer.plan_type"),
        ("line", {"units": 0}, "line.units"),
        ("line", {"units": -3}, "line.units"),
        ("line", {"units": "NaN"}, "line.units"),
        ("line", {"service_date": "2026-02-30"}, "line.service_date"),
        ("line", {"administered_mg": "1e400"}, "line.administered_mg"),
        ("line", {"administered_mg": 1_000_001}, "line.administered_mg"),
        ("line", {"line_number": 0}, "line.line_number"),
        ("line", {"hcpcs": "J92"}, "line.hcpcs"),
        ("line", {"ndc": {"unit": "KG"}}, "line.ndc.unit"),
        ("line", {"route": "oral"}, "line.route"),
        ("line", {"drug_source": "mail"}, "line.drug_source"),
        ("claim", {"prior_authorization": {"status": "maybe"}}, "claim.prior_authorization.status"),
    ],
)
def test_strict_fields_reject_bad_values(section: str, change: dict, loc: str) -> None:
    with pytest.raises(ValidationError) as err:
        ClaimLineEvent.model_validate(event("x", **{section: change}))
    assert loc in {".".join(map(str, e["loc"])) for e in err.value.errors()}


def test_event_time_needs_a_timezone() -> None:
    with pytest.raises(ValidationError):
        ClaimLineEvent.model_validate(event("x", event_time="2026-11-20T14:03:11"))


def test_codes_are_upper_cased_and_unknown_fields_ignored() -> None:
    doc = event("x", line={"hcpcs": "j9262", "modifiers": ["jz"], "future_field": 1})
    ev = ClaimLineEvent.model_validate(doc)
    assert ev.line.hcpcs == "J9262"
    assert ev.line.modifiers == ["JZ"]


def test_documentation_is_optional() -> None:
    assert ClaimLineEvent.model_validate(event("x", documentation=None)).documentation is None


def test_verdict_serializes_schema_alias_and_whole_numbers() -> None:
    verdict = LineVerdict(
        verdict_id="v",
        event_id="e",
        claim_id="c",
        line_number=1,
        hcpcs="J9262",
        disposition=Disposition.PASS,
        findings=[],
        enrichment={"expected_units": 350.0, "dose_mg": 0.035},
        ruleset_version="r",
        reference_data_version="d",
        validated_at="2026-11-20T14:03:11Z",
    )
    text = verdict.model_dump_json()
    assert '"schema":"claim-line-verdict/v1"' in text
    assert '"expected_units":350,' in text
    assert '"dose_mg":0.035' in text
