"""Shared fixtures: reference data, a validator, and an event builder."""

from __future__ import annotations

from typing import Any

import pytest

from streams import refdata
from streams.events import ClaimLineEvent
from streams.refdata import ReferenceData
from streams.samples import event
from streams.verdicts import Validator


@pytest.fixture(scope="session")
def ref() -> ReferenceData:
    return refdata.load()


@pytest.fixture(scope="session")
def validator(ref: ReferenceData) -> Validator:
    return Validator(ref)


def make_event(name: str = "t", **sections: Any) -> ClaimLineEvent:
    """A clean Medicare J9262 line (see `streams.samples.event`), changed by sections."""
    return ClaimLineEvent.model_validate(event(name, **sections))


def codes(verdict: Any) -> list[str]:
    return [f.code for f in verdict.findings]
