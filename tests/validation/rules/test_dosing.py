"""Dose edits: the ceiling from the patient's own BSA, implausible body sizes, a cycle on
one line."""

from __future__ import annotations

import pytest

from streams.contract.models import Severity
from streams.validation.validator import Validator
from tests.conftest import codes, make_event


def test_the_ceiling_follows_the_patients_own_bsa(validator: Validator) -> None:
    line = {"units": 600, "administered_mg": 6, "ndc": {"quantity": 2}, "modifiers": []}
    small = validator.validate(make_event(claim={"patient": {"bsa_m2": 1.5}}, line=line))
    large = validator.validate(make_event(claim={"patient": {"bsa_m2": 2.5}}, line=line))
    assert "DOSING_ABOVE_LABEL_MAX" in codes(small)
    assert small.enrichment.max_daily_units == 375
    assert "DOSING_ABOVE_LABEL_MAX" not in codes(large)
    assert large.enrichment.max_daily_units == 625


@pytest.mark.parametrize(
    ("patient", "what"),
    [
        ({"bsa_m2": 4.2}, "BSA 4.20 m2 (reported) is outside 0.2-3 m2"),
        ({"bsa_m2": 0.1}, "BSA 0.10 m2 (reported) is outside 0.2-3 m2"),
        ({"height_cm": 67}, "height 67 cm is outside 120-230 cm (wrong units?)"),
        ({"weight_kg": 900}, "weight 900 kg is outside 25-300 kg (wrong units?)"),
    ],
)
def test_a_body_size_no_patient_has_is_reported_and_builds_no_ceiling(
    validator: Validator, patient: dict[str, float], what: str
) -> None:
    line = {"units": 700, "administered_mg": 7, "ndc": {"quantity": 2}}
    verdict = validator.validate(make_event(claim={"patient": patient}, line=line))
    assert codes(verdict) == ["DOSING_BODY_SIZE_IMPLAUSIBLE"]
    assert verdict.findings[0].message == f"{what}: no dose ceiling is built on it"
    assert verdict.findings[0].severity is Severity.WARNING
    assert (verdict.enrichment.bsa_m2, verdict.enrichment.max_daily_units) == (None, None)


def test_an_implausible_body_size_within_one_vial_is_a_note(validator: Validator) -> None:
    verdict = validator.validate(make_event(claim={"patient": {"bsa_m2": 4.2}}))
    assert [(f.code, f.severity) for f in verdict.findings] == [
        ("DOSING_BODY_SIZE_IMPLAUSIBLE", Severity.INFO)
    ]


def test_a_cycles_doses_on_one_line(validator: Validator) -> None:
    # BSA 1.85 m2: 462.5 units a day; 14 days are 6,475 units from 19 vials
    line = {"units": 6475, "administered_mg": 64.75, "ndc": {"quantity": 19}, "modifiers": []}
    verdict = validator.validate(make_event(line=line))
    assert "DOSING_CYCLE_ON_ONE_LINE" in codes(verdict)
    assert "DOSING_ABOVE_LABEL_MAX" not in codes(verdict)
    message = next(f.message for f in verdict.findings if f.code == "DOSING_CYCLE_ON_ONE_LINE")
    assert message.startswith("6,475 units are 14 days' label doses (463 units a day")


def test_a_dose_above_the_label_that_is_no_whole_days_is_just_above(validator: Validator) -> None:
    line = {"units": 600, "administered_mg": 6, "ndc": {"quantity": 2}, "modifiers": []}
    verdict = validator.validate(make_event(line=line))
    assert "DOSING_ABOVE_LABEL_MAX" in codes(verdict)
    assert "DOSING_CYCLE_ON_ONE_LINE" not in codes(verdict)
