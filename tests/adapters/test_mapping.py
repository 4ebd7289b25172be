"""Each format's J9262 fixture maps to the events its source says, field by field."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from streams.adapters import Adapted, Format, Framing, adapt
from streams.contract.models import ClaimLineEvent

FIXTURES = Path(__file__).parent / "fixtures"


def events(name: str) -> tuple[Adapted, dict[tuple[str, int], ClaimLineEvent]]:
    result = adapt((FIXTURES / name).read_bytes())
    parsed = [ClaimLineEvent.model_validate(e) for e in result.events]
    return result, {(e.claim.claim_id, e.line.line_number): e for e in parsed}


def test_837p_maps_claims_lines_and_loop_2410_ndc() -> None:
    result, by_key = events("j9262-837p.x12")
    assert result.format is Format.X12_837P
    assert sorted(by_key) == [("CLM-P-0001", 1), ("CLM-P-0001", 2), ("CLM-P-0002", 1)]
    first = by_key["CLM-P-0001", 1]
    assert first.claim.claim_type.value == "professional"
    assert first.line.hcpcs == "J9262"
    assert first.line.modifiers == ["JZ"]
    assert first.line.units == Decimal(350)
    assert str(first.line.service_date) == "2026-11-20"
    assert first.line.charge_amount == Decimal(4125)
    assert first.line.ndc is not None
    assert (first.line.ndc.code, first.line.ndc.quantity, first.line.ndc.unit) == (
        "63459017714",
        Decimal(1),
        "UN",
    )
    assert first.claim.diagnosis_codes == ["C92.10"]
    assert first.claim.place_of_service == "11"
    assert first.claim.payer.payer_id == "MCR-JE"
    assert first.claim.payer.plan_type.value == "medicare"
    assert first.claim.prior_authorization is not None
    assert first.claim.prior_authorization.number == "PA-5512"
    assert first.claim.total_lines == 2
    admin = by_key["CLM-P-0001", 2]
    assert admin.line.hcpcs == "96401"
    assert admin.line.ndc is None
    medicaid = by_key["CLM-P-0002", 1]
    assert medicaid.claim.payer.plan_type.value == "medicaid"
    assert medicaid.line.units == Decimal("3.5")
    # The member id (1EG4TE5MK73) is pseudonymized, never passed on.
    assert "1EG4TE5MK73" not in first.claim.patient.patient_id
    assert first.claim.patient.patient_id != medicaid.claim.patient.patient_id


def test_837i_maps_type_of_bill_and_revenue_code() -> None:
    result, by_key = events("j9262-837i.x12")
    assert result.format is Format.X12_837I
    assert sorted(by_key) == [("CLM-I-0001", n) for n in (1, 2, 3)]
    line = by_key["CLM-I-0001", 1]
    assert line.claim.claim_type.value == "institutional"
    assert line.claim.type_of_bill == "131"
    assert line.line.revenue_code == "0636"
    assert line.claim.place_of_service is None
    assert line.claim.diagnosis_codes == ["C92.11", "Z79.82"]
    assert by_key["CLM-I-0001", 2].line.units == Decimal(1)
    assert by_key["CLM-I-0001", 3].line.revenue_code == "0510"


def test_dft_maps_ft1_charges_pid_in1_dg1_and_obx_body_size() -> None:
    result, by_key = events("j9262-dft-p03.mllp")
    assert result.format is Format.HL7V2_DFT
    assert result.framing == (Framing.MLLP,)
    assert sorted(by_key) == [("ACCT-7781", n) for n in (1, 2, 3, 4)]
    first = by_key["ACCT-7781", 1]
    assert first.line.hcpcs == "J9262"
    assert first.line.units == Decimal(231)
    assert str(first.line.service_date) == "2026-11-20"
    assert first.line.ndc is not None
    assert first.line.ndc.code == "63459-0177-14"
    assert by_key["ACCT-7781", 2].line.modifiers == ["JW"]
    assert first.claim.diagnosis_codes == ["C92.10"]
    assert first.claim.payer.payer_id == "MCR-JE"
    assert first.claim.payer.plan_type.value == "medicare"
    patient = first.claim.patient
    assert (patient.bsa_m2, patient.height_cm, patient.weight_kg) == (
        Decimal("1.85"),
        Decimal(165),
        Decimal(70),
    )
    assert "MRN-445566" not in patient.patient_id
    assert first.claim.total_lines == 4
    assert first.event_time.isoformat() == "2026-11-20T14:30:00+00:00"


def test_dft_credit_reverses_the_matching_charge_instead_of_a_new_line() -> None:
    result, by_key = events("j9262-dft-p03.mllp")
    (reversal,) = result.reversals
    assert reversal.credit_line == 5
    assert reversal.reverses_line == 4
    assert reversal.reverses_event_id == by_key["ACCT-7781", 4].event_id
    assert (reversal.hcpcs, reversal.service_date, reversal.units) == ("96401", "2026-11-20", "1")
    assert ("ACCT-7781", 5) not in by_key


def test_fhir_bundle_maps_items_detail_ndc_coverage_and_bsa() -> None:
    result, by_key = events("j9262-fhir-bundle.json")
    assert result.format is Format.FHIR_R4
    assert sorted(by_key) == [("CLM-F-0001", n) for n in (1, 2, 3)]
    first = by_key["CLM-F-0001", 1]
    assert first.line.ndc is not None
    assert (first.line.ndc.code, first.line.ndc.quantity, first.line.ndc.unit) == (
        "63459017714",
        Decimal(1),
        "UN",
    )
    assert first.claim.patient.bsa_m2 == Decimal("1.85")
    assert first.claim.payer.payer_id == "MCD-PA"
    assert first.claim.payer.plan_type.value == "medicaid"
    assert first.claim.place_of_service == "11"
    assert first.claim.diagnosis_codes == ["C92.10"]
    assert by_key["CLM-F-0001", 2].line.modifiers == ["JW"]
    third = by_key["CLM-F-0001", 3].line
    assert third.ndc is not None
    assert (third.units, third.ndc.unit) == (Decimal("3.5"), "ME")


def test_event_ids_are_stable_for_the_same_bytes_and_unique_per_line() -> None:
    data = (FIXTURES / "j9262-837p.x12").read_bytes()
    first, again = adapt(data), adapt(data)
    ids = [e["event_id"] for e in first.events]
    assert ids == [e["event_id"] for e in again.events]
    assert len(set(ids)) == len(ids)


@pytest.mark.parametrize(
    "name",
    sorted(p.name for p in (FIXTURES / "public").iterdir() if ".837" in p.name),
)
def test_public_837_samples_map_every_service_line(name: str) -> None:
    """The LinuxForHealth samples: one event per LX, none lost, each valid."""
    data = (FIXTURES / "public" / name).read_bytes()
    result = adapt(data)
    service_lines = data.count(b"~LX*") + data.count(b"\nLX*")
    assert len(result.events) + len(result.failures) == service_lines
    assert result.events
    for event in result.events:
        ClaimLineEvent.model_validate(event)


def test_837_claim_frequency_and_the_claim_it_replaces() -> None:
    """CLM05-3: 1 original, 7 replacement (with the payer's control number of the claim
    it replaces, REF*F8), 8 void; other codes leave the frequency unset."""
    original = (FIXTURES / "j9262-837p.x12").read_bytes()
    _, by_key = events("j9262-837p.x12")
    assert by_key["CLM-P-0001", 1].claim.frequency is not None
    assert by_key["CLM-P-0001", 1].claim.frequency.value == "original"
    replaced = original.replace(
        b"CLM*CLM-P-0001*4275***11:B:1*Y*A*Y*Y~",
        b"CLM*CLM-P-0001*4275***11:B:7*Y*A*Y*Y~REF*F8*PAYER-CCN-77~",
    )
    assert replaced != original
    result = adapt(replaced)
    assert len(result.failures) == len(adapt(original).failures)  # the fixture's planted one
    first = next(e for e in result.events if e["claim"]["claim_id"] == "CLM-P-0001")
    assert first["claim"]["frequency"] == "replacement"
    assert first["claim"]["original_claim_id"] == "PAYER-CCN-77"
    other = next(e for e in result.events if e["claim"]["claim_id"] == "CLM-P-0002")
    assert other["claim"]["frequency"] == "original"
