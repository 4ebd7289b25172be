"""The plain reader against the real broker."""

from __future__ import annotations

import asyncio
import time

import pytest
from aiokafka import AIOKafkaProducer

from streams.clients import follow
from streams.settings import Settings

pytestmark = pytest.mark.integration


async def publish_with_a_jump(settings: Settings, topic: str) -> None:
    """Offsets 0, 1, 6, 7: the middle batch claims six offsets and fills two, as
    compaction or transaction markers leave them on Kafka. aiokafka offers no public
    way to set a record's offset delta, hence its batch builder."""
    producer = AIOKafkaProducer(bootstrap_servers=settings.bootstrap_servers)
    await producer.start()
    try:
        await (await producer.send(topic, b"first", partition=0))
        batch = producer.create_batch()
        batch._builder.append(0, timestamp=None, key=None, value=b"a", headers=[])
        batch._builder.append(5, timestamp=None, key=None, value=b"b", headers=[])
        batch._relative_offset = 6
        await (await producer.send_batch(batch, topic, partition=0))
        await (await producer.send(topic, b"last", partition=0))
    finally:
        await producer.stop()


def test_a_real_jump_in_offsets_is_read_past(settings: Settings) -> None:
    topic = settings.topic_verdicts

    async def read() -> list[tuple[int, bytes]]:
        await publish_with_a_jump(settings, topic)
        return [(r.offset, r.value) async for r in follow(settings, [topic], idle_timeout=2)]

    started = time.monotonic()
    records = asyncio.run(asyncio.wait_for(read(), 30))
    assert records == [(0, b"first"), (1, b"a"), (6, b"b"), (7, b"last")]
    assert time.monotonic() - started < 10
