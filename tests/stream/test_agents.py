"""The deadline index: when each held claim next needs a look, also after a rebalance."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import MutableMapping
from datetime import UTC, datetime, timedelta

import pytest

from streams.settings import Settings
from streams.stream.agents import REBUILD_CHUNK, DeadlineIndex
from streams.stream.tables import ModelTable
from streams.validation.rollup import ClaimState
from streams.validation.validator import Validator
from tests.conftest import claim_with_line, make_event


def stored(*states: ClaimState) -> MutableMapping[str, bytes]:
    """The claims table's bytes for these states, as a worker holds them."""
    claims = ModelTable({}, ClaimState)
    for state in states:
        claims[state.claim_id] = state
    return claims.table


@pytest.fixture
def index() -> DeadlineIndex:
    return DeadlineIndex(Settings(_env_file=None, claim_wait_s=300, claim_retention_s=86_400))


def test_rebuild_gives_each_claim_the_deadline_its_agent_noted(
    validator: Validator, index: DeadlineIndex
) -> None:
    waiting = claim_with_line(validator, make_event("waiting", claim={"total_lines": 3}))
    waiting = waiting.model_copy(update={"partition": 2})
    done = claim_with_line(validator, make_event("done", claim={"total_lines": 1}))
    done = done.with_verdict(validator.claim_verdict(done))
    for state in (waiting, done):
        index.note(state.claim_id, state)
    noted = dict(index.due)
    assert noted[waiting.claim_id] == (waiting.first_seen + timedelta(seconds=300), 2)
    assert done.verdict_at is not None
    assert noted[done.claim_id][0] == done.verdict_at + timedelta(days=1)

    index.due.clear()
    index.stale = True
    asyncio.run(index.rebuild(stored(waiting, done)))
    assert index.due == noted
    assert not index.stale


def test_a_claim_stored_in_the_older_form_is_looked_at_after_its_wait(
    index: DeadlineIndex,
) -> None:
    """Its first check parses it in full and notes its real deadline."""
    first_seen = datetime(2026, 11, 20, tzinfo=UTC)
    older = (
        f'{{"claim_id": "C-old", "first_seen": "{first_seen.isoformat()}", '
        f'"verdict": {{"validated_at": "{first_seen.isoformat()}"}}}}'
    ).encode()
    asyncio.run(index.rebuild({"C-old": older}))
    assert index.due == {"C-old": (first_seen + timedelta(seconds=300), None)}


def test_a_claim_that_does_not_parse_is_skipped_and_not_quoted(
    validator: Validator, index: DeadlineIndex, caplog: pytest.LogCaptureFixture
) -> None:
    good = claim_with_line(validator, make_event("good"))
    caplog.set_level(logging.ERROR, logger="streams.stream.agents")
    claims = stored(good)
    claims["C-bad"] = b'{"first_seen": "PAT-SECRET"}'
    asyncio.run(index.rebuild(claims))
    assert set(index.due) == {good.claim_id}
    assert "does not parse" in caplog.text
    assert "PAT-SECRET" not in caplog.text


def test_rebuild_lets_the_agents_run_between_chunks(
    validator: Validator, index: DeadlineIndex
) -> None:
    raw = stored(claim_with_line(validator, make_event("many"))).popitem()[1]
    claims = {f"C-{i}": raw for i in range(REBUILD_CHUNK * 3)}

    async def rebuild_beside_another_task() -> int:
        turns = 0
        finished = asyncio.Event()

        async def other() -> None:
            nonlocal turns
            while not finished.is_set():
                turns += 1
                await asyncio.sleep(0)

        task = asyncio.create_task(other())
        await asyncio.sleep(0)
        turns = 0
        await index.rebuild(claims)
        finished.set()
        await task
        return turns

    assert asyncio.run(rebuild_beside_another_task()) >= 2
    assert len(index.due) == len(claims)
