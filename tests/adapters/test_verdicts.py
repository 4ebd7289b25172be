"""The J9262 fixtures' events run through the validator, and the planted unit errors show."""

from __future__ import annotations

from pathlib import Path

import pytest

from streams.adapters import adapt
from streams.contract.models import ClaimLineEvent
from streams.validation.validator import Validator

FIXTURES = Path(__file__).parent / "fixtures"

#: (fixture, claim id, line number) -> the unit edit planted there.
PLANTED = {
    ("j9262-837p.x12", "CLM-P-0002", 1): "UNITS_NDC_SCALE",  # 3.5 units for a 3.5 mg vial
    ("j9262-837i.x12", "CLM-I-0001", 2): "UNITS_PER_VIAL",  # 1 unit for one 350-unit vial
    ("j9262-dft-p03.mllp", "ACCT-7781", 3): "UNITS_FRACTIONAL",  # 2.31: mg keyed as units
    ("j9262-fhir-bundle.json", "CLM-F-0001", 3): "UNITS_NDC_SCALE",  # 3.5 units for 3.5 mg
}
UNIT_CODES = {"UNITS_NDC_SCALE", "UNITS_PER_VIAL", "UNITS_NDC_MISMATCH", "UNITS_FRACTIONAL"}


@pytest.mark.parametrize(
    "name", ["j9262-837p.x12", "j9262-837i.x12", "j9262-dft-p03.mllp", "j9262-fhir-bundle.json"]
)
def test_every_event_validates_and_only_planted_lines_get_unit_errors(
    name: str, validator: Validator
) -> None:
    result = adapt((FIXTURES / name).read_bytes())
    assert result.events
    flagged = {}
    for raw in result.events:
        event = ClaimLineEvent.model_validate(raw)
        verdict = validator.validate(event)
        codes = {f.code for f in verdict.findings} & UNIT_CODES
        if codes:
            flagged[name, event.claim.claim_id, event.line.line_number] = codes
    expected = {key: {code} for key, code in PLANTED.items() if key[0] == name}
    assert flagged == expected
