"""Dead letters written by the second hop are keyed by the input key (docs/contract.md)."""

from __future__ import annotations

import asyncio
import base64
from typing import Any

import orjson
import pytest

from streams.samples import encode, event
from streams.settings import Settings
from streams.stream.kafka.clients import ensure_topics, follow, publish
from tests.integration.conftest import Workers
from tests.integration.test_bad_input import publish_raw_to

pytestmark = pytest.mark.integration


async def keyed_records(settings: Settings, topic: str, count: int) -> list[tuple[Any, ...]]:
    """The first `count` records of a topic as (key, value as JSON)."""
    found: list[tuple[Any, ...]] = []
    async for record in follow(settings, [topic], idle_timeout=60):
        found.append((record.key, orjson.loads(record.value)))
        if len(found) >= count:
            break
    return found


def test_an_internal_error_letter_is_keyed_by_the_input_key(
    settings: Settings, workers: Workers
) -> None:
    """A line whose patient history does not parse is dead-lettered by the patient agent,
    which reads it keyed by patient: the letter still carries the input record's key
    (the claim id the producer keyed it by) and place, so `j9262 redrive` sends it back
    keyed as it came."""
    history = f"{settings.app_id}-patient-history-changelog"
    asyncio.run(ensure_topics(settings, [history]))
    asyncio.run(publish_raw_to(settings, [(history, b"PT-UNREADABLE", b'{"lines": 7}')]))
    bad = event("keyed-letter", claim={"patient": {"patient_id": "PT-UNREADABLE"}})
    workers.start()
    [(partition, offset)] = asyncio.run(publish(settings, [encode(bad)]))
    [(key, letter)] = asyncio.run(keyed_records(settings, settings.topic_dead_letters, 1))
    claim_id = bad["claim"]["claim_id"]
    assert letter["reason"] == "internal_error"
    assert base64.b64decode(letter["payload_base64"]) == encode(bad)
    assert key == claim_id.encode()
    assert letter["source"] == {
        "topic": settings.topic_lines,
        "partition": partition,
        "offset": offset,
        "key": claim_id,
        "key_base64": None,
    }
