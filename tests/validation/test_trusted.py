"""Models built without validation: the same as validated ones, at a lower cost."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import BaseModel, ConfigDict, ValidationError

from streams.contract.models import Category, ClaimLineRef, Disposition, Finding, Severity
from streams.validation.trusted import replaced, trusted


def same_as_validated(model: BaseModel) -> None:
    """Equal to, and serialized like, the model validated from its own fields."""
    again = type(model).model_validate(dict(model.__dict__))
    assert model == again
    assert model.model_dump_json() == again.model_dump_json()
    assert model.model_dump() == again.model_dump()


def test_a_trusted_model_is_the_validated_one() -> None:
    fields = {
        "code": "CLAIM_INCOMPLETE",
        "category": Category.CLAIM,
        "severity": Severity.WARNING,
        "message": "1 of 2 lines arrived",
        "field": "claim.total_lines",
        "suggestion": None,
    }
    built = trusted(Finding, fields)
    assert built == Finding(**fields)
    same_as_validated(built)


def test_replaced_is_model_copy_with_an_update() -> None:
    ref = ClaimLineRef(line_number=1, disposition=Disposition.PASS, verdict_id="v")
    copy = replaced(ref, disposition=Disposition.FAIL)
    assert copy == ref.model_copy(update={"disposition": Disposition.FAIL})
    assert ref.disposition is Disposition.PASS
    assert copy.model_fields_set == ref.model_copy(update={"disposition": "x"}).model_fields_set
    same_as_validated(copy)


def test_a_frozen_trusted_model_stays_frozen_and_hashable() -> None:
    class Frozen(BaseModel):
        model_config = ConfigDict(frozen=True)
        name: str
        at: datetime

    fields = {"name": "a", "at": datetime(2026, 12, 6, tzinfo=UTC)}
    built = trusted(Frozen, fields)
    with pytest.raises(ValidationError):
        built.name = "b"
    assert hash(built) == hash(Frozen(**fields))
