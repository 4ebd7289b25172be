"""Shared fixtures (reference data, a validator, event and claim builders), the test tiers
and the hypothesis profiles. docs/testing.md says how to run each tier."""

from __future__ import annotations

import io
import math
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

from streams import refdata
from streams.contract.models import ClaimLineEvent
from streams.offline.runner import Summary, run
from streams.refdata import ReferenceData
from streams.samples import event
from streams.stream.kafka.embedded import EmbeddedBroker
from streams.validation.rollup import ClaimLine, ClaimState
from streams.validation.validator import Validator

pytest_plugins = ["pytester"]  # tests/test_tiers.py runs the tier hook on a suite of its own

# Hypothesis: `dev` (the default) draws fresh examples each run and keeps failures in its
# database; `ci` (HYPOTHESIS_PROFILE=ci, or CI=true) draws five times as many, the same ones
# every run, so a red `make test` on CI reproduces. No deadline in either: a busy machine
# must not fail a property.
hypothesis_settings.register_profile(
    "dev", max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
hypothesis_settings.register_profile(
    "ci",
    max_examples=1000,
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
hypothesis_settings.load_profile(
    os.environ.get("HYPOTHESIS_PROFILE")
    or ("ci" if os.environ.get("CI", "").lower() in {"1", "true", "yes"} else "dev")
)


def examples(share: float) -> int:
    """The profile's example count scaled for a property whose examples cost more (share < 1)
    or less (share > 1) than a typical one's, so each profile keeps its proportions."""
    return max(10, math.ceil(hypothesis_settings.default.max_examples * share))


INTEGRATION = "integration"
"""The broker tier's folder under tests/ and its marker: everything there starts a broker or
worker processes."""


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Marks every test under tests/integration/ (a `pytestmark` in a conftest marks nothing),
    and stops the run if a test elsewhere asks for the broker without the marker, so
    `make test-fast` never starts one."""
    folder = config.rootpath / "tests" / INTEGRATION
    unmarked = []
    for item in items:
        if item.path.is_relative_to(folder):
            item.add_marker(INTEGRATION)
        elif "broker" in getattr(item, "fixturenames", ()) and not _marked(item):
            unmarked.append(item.nodeid)
    if unmarked:
        raise pytest.UsageError(
            "these tests use the broker but are not marked integration: " + ", ".join(unmarked)
        )


def _marked(item: pytest.Item) -> bool:
    return item.get_closest_marker(INTEGRATION) is not None


@pytest.fixture(autouse=True)
def _no_broker_in_the_fast_tier(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    """A test outside the broker tier that starts an embedded broker itself fails at once."""
    if not _marked(request.node):

        def refuse(*_: object, **__: object) -> None:
            pytest.fail(f"{request.node.nodeid} starts a broker: mark it integration")

        monkeypatch.setattr(EmbeddedBroker, "start", refuse)
    yield


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
