"""docs/contract.md's worked example is what the validator answers today."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import orjson

from streams.contract.models import ClaimLineEvent, LineVerdict
from streams.validation.validator import Validator

CONTRACT = Path(__file__).resolve().parents[2] / "docs" / "contract.md"


def _example(name: str) -> Any:
    text = CONTRACT.read_text()
    found = re.search(rf"<!-- worked-example: {name} -->\n```json\n(.*?)\n```", text, re.S)
    assert found, f"docs/contract.md has no worked-example block '{name}'"
    return orjson.loads(found.group(1))


def test_the_worked_example_event_is_a_valid_event() -> None:
    ClaimLineEvent.model_validate(_example("event"))


def test_the_worked_example_verdict_is_the_validators_answer(validator: Validator) -> None:
    """Only `validated_at` may differ; a rule or reference-data change that moves the
    answer must update the example (print the new one from the failure)."""
    answer = validator.validate(ClaimLineEvent.model_validate(_example("event")))
    documented = LineVerdict.model_validate(_example("verdict"))
    got = answer.model_dump(mode="json", by_alias=True, exclude={"validated_at"})
    want = documented.model_dump(mode="json", by_alias=True, exclude={"validated_at"})
    assert got == want, orjson.dumps(got, option=orjson.OPT_INDENT_2).decode()
