"""Unit edits against the NDC quantity."""

from __future__ import annotations

import pytest

from streams.samples import CARBO_450
from streams.validation.enrichment import enrich
from streams.validation.rules import LineContext, units
from streams.validation.rules.catalog import CATALOG
from streams.validation.rules.units import ndc_units_problem
from streams.validation.validator import Validator
from tests.conftest import codes, make_event


def test_milligrams_billed_as_units(validator: Validator) -> None:
    verdict = validator.validate(make_event(line={"units": 3.5}))
    assert codes(verdict) == ["UNITS_NDC_SCALE"]
    assert verdict.findings[0].message == (
        "3.5 units billed for 3.5 mg; J9262 is billed per 0.01 mg: bill 350 (100x too few)"
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
    found = set(codes(validator.validate(make_event(line=line))))
    assert bool(found & {"UNITS_NDC_MISMATCH", "UNITS_NDC_SCALE"}) is not fits


@pytest.mark.parametrize(
    ("units", "how"),
    [(35, "10x too few"), (3500, "10x too many"), (35000, "100x too many")],
)
def test_units_10_or_100_times_the_ndc_quantity_are_a_scale_slip(
    validator: Validator, units: int, how: str
) -> None:
    line = {"units": units, "administered_mg": None}
    verdict = validator.validate(make_event(line=line))
    assert codes(verdict)[0] == "UNITS_NDC_SCALE"
    assert verdict.findings[0].message.endswith(f"bill 350 ({how})")


def test_a_scale_slip_on_a_ten_mg_code(validator: Validator) -> None:
    """J9301 is per 10 mg: 1,000 units for a 1,000 mg vial are mg billed as units."""
    line = {
        "hcpcs": "J9301",
        "units": 1000,
        "administered_mg": None,
        "route": "intravenous",
        "ndc": {"code": "50242-0070-01", "quantity": 1, "unit": "UN"},
    }
    verdict = validator.validate(make_event(line=line))
    assert codes(verdict)[0] == "UNITS_NDC_SCALE"
    assert verdict.findings[0].message.endswith("bill 100 (10x too many)")


def test_a_scale_is_not_read_into_a_jw_amount(validator: Validator) -> None:
    pair = {"claim": {"total_lines": 2}, "documentation": {"waste_record": True}}
    verdict = validator.validate(make_event(line={"modifiers": ["JW"], "units": 35}, **pair))
    assert codes(verdict) == []


def test_without_the_ndc_only_mg_as_units_is_a_scale_slip(validator: Validator) -> None:
    line = {"units": 35, "ndc": None, "administered_mg": 3.5}
    assert "UNITS_NDC_SCALE" not in codes(validator.validate(make_event(line=line)))


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


def test_the_ndc_units_problem_is_worked_out_once_a_line(validator: Validator) -> None:
    """Several rules ask; each is answered with the one finding, also when there is none."""
    for billed, expected in ((3.5, "UNITS_NDC_SCALE"), (350, None)):
        event = make_event(line={"units": billed})
        ctx = LineContext(event, enrich(event, validator.refdata), validator.refdata)
        first = ndc_units_problem(ctx)
        assert (first.code if first else None) == expected
        assert ndc_units_problem(ctx) is first
        assert ctx.units_checked


def test_the_scale_factors_are_the_catalog_s() -> None:
    """Read from edits.yaml once rather than a line, with their inverses."""
    factors = CATALOG["UNITS_NDC_SCALE"].param("factors")
    assert (*factors, *(1 / f for f in factors)) == units._SCALES
