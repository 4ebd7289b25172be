"""Error text kept out of the log: an exception about a line can quote claim data."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from streams.claims import ClaimState
from streams.logs import withheld


def test_an_exception_is_logged_by_type_and_frames_without_its_text() -> None:
    patient = "PT-SECRET"
    with pytest.raises(ValueError, match="SECRET") as caught:
        raise ValueError(f"patient {patient}")  # the traceback shows this line
    text = withheld(caught.value)
    assert text.startswith("ValueError (its text withheld")
    assert "in test_an_exception_is_logged_by_type_and_frames_without_its_text" in text
    assert "SECRET" not in text


def test_a_validation_error_keeps_its_fields_and_messages_but_not_the_values() -> None:
    stored = b'{"claim_id": "CLM-SECRET", "lines": "PT-SECRET"}'
    with pytest.raises(ValidationError, match="SECRET") as caught:
        ClaimState.model_validate_json(stored)
    text = withheld(caught.value)
    assert "claim_type: Field required" in text
    assert "lines: Input should be an object" in text
    assert "SECRET" not in text
