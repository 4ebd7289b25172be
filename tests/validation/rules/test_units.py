"""Unit edits against the NDC quantity."""

from __future__ import annotations

import pytest

from streams.samples import CARBO_450
from streams.validation.validator import Validator
from tests.conftest import codes, make_event


def test_milligrams_billed_as_units(validator: Validator) -> None:
    verdict = validator.validate(make_event(line={"units": 3.5}))
    assert codes(verdict) == ["UNITS_NDC_SCALE"]
    assert verdict.findings[0].message == (
        "3.5 units billed for 3.5 mg; J9262 is billed per 0.01 mg: bill 350"
    )
    assert verdict.findings[0].suggestion == "Bill 350 units"
    assert verdict.enrichment.dose_mg == pytest.approx(0.035)
    assert verdict.enrichment.expected_units == 350


def test_one_unit_per_vial(validator: Validator) -> None:
    verdict = validator.validate(make_event(line={"units": 2, "ndc": {"quantity": 2}}))
    assert codes(verdict) == ["UNITS_PER_VIAL"]
    assert "700" in verdict.findings[0].message


@pytest.mark.parametrize(
    ("units", "vials", "fits"),
    [
        (350, 1, True),
        (300, 1, True),
        (351, 1, False),
        (350, 2, False),
        (351, 2, True),
        (700, 2, True),
        (1050, 3, True),
        (700, 3, False),
    ],
)
def test_units_lie_within_the_vials_reported(
    validator: Validator, units: int, vials: int, fits: bool
) -> None:
    verdict = validator.validate(make_event(line={"units": units, "ndc": {"quantity": vials}}))
    assert ("UNITS_NDC_MISMATCH" not in codes(verdict)) is fits


@pytest.mark.parametrize(
    ("quantity", "unit", "units", "fits"),
    [
        (3.5, "ME", 350, True),
        (3.5, "ME", 500, False),
        (0.0035, "GR", 350, True),
        (0.0035, "GR", 35, False),
    ],
)
def test_mass_units_convert_exactly(
    validator: Validator, quantity: float, unit: str, units: int, fits: bool
) -> None:
    line = {"units": units, "ndc": {"quantity": quantity, "unit": unit}}
    assert ("UNITS_NDC_MISMATCH" not in codes(validator.validate(make_event(line=line)))) is fits


def test_millilitres_convert_by_concentration(validator: Validator) -> None:
    def carboplatin(ml: int) -> dict[str, object]:
        ndc = {"code": CARBO_450, "unit": "ML", "quantity": ml}
        return {
            "hcpcs": "J9045",
            "modifiers": [],
            "units": 9,
            "ndc": ndc,
            "administered_mg": None,
            "route": "intravenous",
        }

    ok = validator.validate(make_event(line=carboplatin(45)))
    bad = validator.validate(make_event(line=carboplatin(15)))
    assert codes(ok) == []
    assert codes(bad) == ["UNITS_NDC_MISMATCH"]
    assert "150 mg = 3 J9045 units" in bad.findings[0].message


def test_units_not_matching_the_administered_dose(validator: Validator) -> None:
    verdict = validator.validate(make_event(line={"administered_mg": 2.25}))
    assert codes(verdict) == ["UNITS_DOSE_MISMATCH"]
    assert verdict.findings[0].message == (
        "350 units billed, but 2.25 mg administered is 225 J9262 units"
    )
    assert verdict.findings[0].suggestion == (
        "Bill 225 units; bill any discarded amount on a JW line"
    )


def test_the_largest_dose_the_contract_allows_gets_a_finding_not_an_error(
    validator: Validator,
) -> None:
    verdict = validator.validate(make_event(line={"administered_mg": 1_000_000}))
    assert "UNITS_DOSE_MISMATCH" in codes(verdict)
    assert "Bill 100,000,000 units" in next(
        f.suggestion for f in verdict.findings if f.code == "UNITS_DOSE_MISMATCH"
    )


def test_mue_message_names_the_limit_and_its_basis(validator: Validator) -> None:
    line = {"units": 800, "administered_mg": 8, "ndc": {"quantity": 3}}
    verdict = validator.validate(make_event(claim={"patient": {"bsa_m2": 3.0}}, line=line))
    assert verdict.findings[0].message == (
        "800 units exceed the J9262 per-day MUE of 700 (label-derived default, MAI 3)"
    )


def test_a_mistake_in_units_is_reported_once(validator: Validator) -> None:
    """Billing mg also breaks the dose match and the whole-vial JZ check: one finding says so."""
    assert codes(validator.validate(make_event(line={"units": 3.5}))) == ["UNITS_NDC_SCALE"]
    assert codes(validator.validate(make_event(line={"units": 1}))) == ["UNITS_PER_VIAL"]
