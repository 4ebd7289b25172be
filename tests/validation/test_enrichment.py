"""Enrichment: BSA, the label daily maximum, expected units."""

from __future__ import annotations

import pytest

from streams.contract.models import Patient
from streams.refdata import ReferenceData
from streams.validation.enrichment import body_surface_area, enrich
from tests.conftest import make_event


def test_mosteller_bsa_from_height_and_weight() -> None:
    patient = Patient(patient_id="p", height_cm=170, weight_kg=72.5)
    assert body_surface_area(patient) == pytest.approx(1.8503, abs=1e-4)


def test_reported_bsa_wins() -> None:
    assert body_surface_area(Patient(patient_id="p", bsa_m2=2.1, height_cm=1, weight_kg=1)) == 2.1


def test_no_bsa_without_height_or_weight() -> None:
    assert body_surface_area(Patient(patient_id="p", height_cm=170)) is None


def test_label_daily_maximum_is_two_doses_of_1_25_mg_per_m2(ref: ReferenceData) -> None:
    facts = enrich(make_event(claim={"patient": {"bsa_m2": 2.0}}), ref)
    assert facts.max_daily_units == pytest.approx(500)  # 2 x 1.25 mg/m2 x 2.0 m2 = 5 mg
    model = facts.to_model()
    assert (model.bsa_m2, model.max_daily_units, model.expected_units, model.dose_mg) == (
        2.0,
        500,
        350,
        3.5,
    )


def test_payer_policy_resolves_plan_default_then_payer_override(ref: ReferenceData) -> None:
    commercial = enrich(
        make_event(claim={"payer": {"payer_id": "AETNA", "plan_type": "commercial"}}), ref
    ).policy
    assert (commercial.prior_auth_required, commercial.step_therapy_min_tkis) == (True, 2)
    override = enrich(
        make_event(claim={"payer": {"payer_id": "QUALCHOICE", "plan_type": "commercial"}}), ref
    ).policy
    assert override.atypical_cml_covered and override.basis == "payer QUALCHOICE policy"


@pytest.mark.parametrize("units", [350, 3.5, 0.25])
def test_the_units_are_read_once_as_a_float(ref: ReferenceData, units: float) -> None:
    """The rules read `Facts.units` rather than converting the line's Decimal each time."""
    event = make_event(line={"units": units})
    facts = enrich(event, ref)
    assert type(facts.units) is float
    assert facts.units == float(event.line.units) == units


def test_the_policy_for_a_plan_type_member_is_the_one_for_its_text(ref: ReferenceData) -> None:
    """enrich passes the StrEnum member itself (no `.value`): the same policy and basis."""
    event = make_event()
    payer = event.claim.payer
    assert enrich(event, ref).policy == ref.policies.for_payer(payer.payer_id, str(payer.plan_type))
    assert enrich(event, ref).policy.basis.endswith(f"{payer.plan_type.value} plan-type default")
