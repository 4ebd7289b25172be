"""Shared fixtures: reference data, a validator, and event and claim builders."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from streams import refdata
from streams.contract.models import ClaimLineEvent
from streams.offline.runner import Summary, run
from streams.refdata import ReferenceData
from streams.samples import event
from streams.validation.rollup import ClaimLine, ClaimState
from streams.validation.validator import Validator


@pytest.fixture(scope="session")
def ref() -> ReferenceData:
    return refdata.load()


@pytest.fixture(scope="session")
def validator(ref: ReferenceData) -> Validator:
    return Validator(ref)


def make_event(name: str = "t", **sections: Any) -> ClaimLineEvent:
    """A clean Medicare J9262 line (see `streams.samples.event`), changed by sections."""
    return ClaimLineEvent.model_validate(event(name, **sections))


def claim_with_line(validator: Validator, event: ClaimLineEvent) -> ClaimState:
    """The claims table's state for `event`'s claim once that line and its verdict came."""
    return ClaimState(
        claim_id=event.claim.claim_id,
        claim_type=event.claim.claim_type,
        plan_type=event.claim.payer.plan_type,
        total_lines=event.claim.total_lines,
        first_seen=datetime.now(UTC),
    ).with_line(ClaimLine.of(event, validator.validate(event)), event.claim.total_lines)


@dataclass
class Offline:
    """What one `j9262 validate` run wrote, parsed."""

    verdicts: list[dict[str, Any]]
    dead_letters: list[dict[str, Any]]
    claim_verdicts: list[dict[str, Any]]
    summary: Summary


def validate_offline(
    validator: Validator, records: list[bytes], *, claims: bool = True, window: int = 90
) -> Offline:
    """The offline command's run in memory; `claims=False` as without --claim-verdicts."""
    out, dead, claims_out = io.BytesIO(), io.BytesIO(), io.BytesIO()
    summary = run(
        validator,
        records,
        source_name="t",
        max_bytes=1 << 20,
        out=out,
        dead_out=dead,
        claims_out=claims_out if claims else None,
        duplicate_window_days=window,
    )
    return Offline(*(_lines(f) for f in (out, dead, claims_out)), summary)


def _lines(buffer: io.BytesIO) -> list[dict[str, Any]]:
    return [orjson.loads(x) for x in buffer.getvalue().splitlines()]


def codes(verdict: Any) -> list[str]:
    return [f.code for f in verdict.findings]
