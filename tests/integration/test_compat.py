"""`broker_compat` against the real embedded broker: `auto` recognises it, and with
`kafka` (no workarounds) a real jump in offsets is still read past, by the worker
and by the plain reader, through Faust's and aiokafka's own handling."""

from __future__ import annotations

import asyncio

import pytest

from streams.samples import encode, event
from streams.settings import Settings
from streams.stream.kafka import compat
from streams.stream.kafka.clients import committed_offsets, follow
from tests.integration.conftest import (
    Workers,
    every_event,
    publish_with_a_jump,
    read_until,
    with_changes,
)

pytestmark = pytest.mark.integration


def test_auto_recognises_the_embedded_broker(settings: Settings) -> None:
    auto = with_changes(settings, broker_compat="auto")
    assert asyncio.run(compat.cluster_id_of(auto)) == compat.TANSU_CLUSTER_ID
    assert compat.resolved(auto).broker_compat == "tansu"


def test_the_plain_reader_without_workarounds_reads_past_a_real_jump(settings: Settings) -> None:
    plain = with_changes(settings, broker_compat="kafka")
    topic = plain.topic_verdicts
    values = [b"first", b"a", b"b", b"last"]

    async def read() -> list[tuple[int, bytes]]:
        await publish_with_a_jump(plain, topic, values)
        return [(r.offset, r.value) async for r in follow(plain, [topic], idle_timeout=2)]

    records = asyncio.run(asyncio.wait_for(read(), 60))
    assert records == list(zip([0, 1, 6, 7], values, strict=True))


def test_a_worker_without_workarounds_answers_and_commits_past_a_real_jump(
    settings: Settings, workers: Workers
) -> None:
    docs = [event(f"kafka-jump-{n}") for n in range(4)]
    wanted = {d["event_id"] for d in docs}
    asyncio.run(publish_with_a_jump(settings, settings.topic_lines, [encode(d) for d in docs]))
    workers.start(broker_compat="kafka")
    verdicts = asyncio.run(read_until(settings, settings.topic_verdicts, every_event(wanted), 60))
    assert {v["event_id"] for v in verdicts} == wanted
    workers.stop_all()
    assert asyncio.run(committed_offsets(settings))[0] == 8
    assert "broker compatibility: kafka" in workers.log()
