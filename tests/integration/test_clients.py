"""The plain reader against the real broker."""

from __future__ import annotations

import asyncio

import pytest

from streams.settings import Settings
from streams.stream.kafka.clients import follow
from tests.integration.conftest import publish_with_a_jump

pytestmark = pytest.mark.integration


def test_a_real_jump_in_offsets_is_read_past(settings: Settings) -> None:
    topic = settings.topic_verdicts
    values = [b"first", b"a", b"b", b"last"]

    async def read() -> list[tuple[int, bytes]]:
        await publish_with_a_jump(settings, topic, values)
        return [(r.offset, r.value) async for r in follow(settings, [topic], idle_timeout=2)]

    records = asyncio.run(asyncio.wait_for(read(), 60))  # a stall past the jump times out
    assert records == list(zip([0, 1, 6, 7], values, strict=True))
