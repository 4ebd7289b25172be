"""The outbox against the embedded broker: order, partitions, settling and refusals."""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict
from pathlib import Path

from aiokafka import AIOKafkaProducer
from aiokafka.structs import RecordMetadata

from streams.settings import Settings, isolated
from streams.stream.kafka.batched_producer import Outbox
from streams.stream.kafka.clients import ensure_topics, producer_for, reader_for
from streams.stream.kafka.embedded import EmbeddedBroker


async def read_all(settings: Settings, topic: str, count: int) -> list[tuple[int, int, object]]:
    """(partition, offset, record) of the first `count` records of `topic`."""
    reader = reader_for(settings)
    await reader.start()
    out: list[tuple[int, int, object]] = []
    try:
        reader.subscribe([topic])
        async with asyncio.timeout(30):
            while len(out) < count:
                for tp, records in (await reader.getmany(timeout_ms=500)).items():
                    out += [(tp.partition, r.offset, r) for r in records]
    finally:
        await reader.stop()
    return out


def test_records_arrive_in_order_on_the_partitioner_s_partition(settings: Settings) -> None:
    topic = f"{settings.app_id}-outbox"

    async def run() -> tuple[dict[tuple[int, int], RecordMetadata], list[int]]:
        await ensure_topics(settings, [topic])
        producer = producer_for(settings)
        await producer.start()
        try:
            return await send_all(producer)
        finally:
            await producer.stop()

    async def send_all(
        producer: AIOKafkaProducer,
    ) -> tuple[dict[tuple[int, int], RecordMetadata], list[int]]:
        outbox = Outbox(lambda: producer)
        delivered: dict[tuple[int, int], RecordMetadata] = {}
        expected = []
        for i in range(3000):
            key = f"patient-{i % 37}".encode()
            outbox.send(
                topic,
                key,
                None if i % 500 == 499 else f"{i}".encode(),
                headers=[("n", str(i).encode())],
                on_delivery=lambda meta: delivered.__setitem__((meta.partition, meta.offset), meta),
            )
            if i % 100 == 0:
                await asyncio.sleep(0)  # let the sender take what came so far
            expected.append(producer._partition(topic, None, None, None, key, None))
        await outbox.settle()
        assert outbox.failed == 0
        await outbox.stop()
        return delivered, expected

    delivered, expected = asyncio.run(run())
    records = asyncio.run(read_all(settings, topic, 3000))
    by_partition: dict[int, list[int]] = defaultdict(list)
    for partition, offset, record in sorted(records, key=lambda r: (r[0], r[1])):
        n = int(dict(record.headers)["n"])  # type: ignore[attr-defined]
        assert partition == expected[n], f"record {n} on partition {partition}"
        assert record.value == (None if n % 500 == 499 else str(n).encode())  # type: ignore[attr-defined]
        assert (partition, offset) in delivered
        by_partition[partition].append(n)
    assert all(ns == sorted(ns) for ns in by_partition.values())
    assert sum(len(ns) for ns in by_partition.values()) == len(delivered) == 3000
    assert len(by_partition) > 1


def test_settle_returns_once_what_came_before_is_acknowledged(settings: Settings) -> None:
    topic = f"{settings.app_id}-settle"

    async def run() -> tuple[int, list[object]]:
        await ensure_topics(settings, [topic])
        producer = producer_for(settings)
        await producer.start()
        outbox = Outbox(lambda: producer)
        acknowledged: list[int] = []
        try:
            for i in range(500):
                outbox.send(
                    topic,
                    b"k",
                    f"{i}".encode(),
                    on_delivery=lambda m: acknowledged.append(m.offset),
                )
            await outbox.settle()
            at_settle = len(acknowledged)
            stored = sorted(await read_all(settings, topic, 500), key=lambda r: (r[0], r[1]))
            return at_settle, [record.value for _, _, record in stored]  # type: ignore[attr-defined]
        finally:
            await outbox.stop()
            await producer.stop()

    assert asyncio.run(run()) == (500, [f"{i}".encode() for i in range(500)])


def test_one_produce_request_carries_a_batch_for_each_waiting_partition(
    settings: Settings,
) -> None:
    """A backlog spread over partitions goes out side by side, not a partition at a time."""
    topic = f"{settings.app_id}-spread"
    partitions = settings.topic_partitions

    async def run() -> tuple[list[int], int]:
        await ensure_topics(settings, [topic])
        producer = producer_for(settings)
        await producer.start()
        accumulator = producer._message_accumulator
        drain = accumulator.drain_by_nodes
        per_request: list[int] = []

        def counted(*args: object, **kwargs: object) -> object:
            nodes, unknown = drain(*args, **kwargs)
            per_request.extend(len(batches) for batches in nodes.values())
            return nodes, unknown

        accumulator.drain_by_nodes = counted
        outbox = Outbox(lambda: producer)
        try:
            for i in range(16 * partitions):  # about four full batches a partition
                outbox.send(topic, None, b"x" * 4_000, partition=i % partitions)
            await outbox.settle()
            return per_request, outbox.failed
        finally:
            await outbox.stop()
            await producer.stop()

    per_request, failed = asyncio.run(run())
    assert failed == 0
    assert max(per_request) == partitions, per_request


def test_records_the_broker_refuses_are_counted_and_settle_still_returns(tmp_path: Path) -> None:
    schemas = tmp_path / "schemas"
    schemas.mkdir()
    refuse_all = {"type": "object", "properties": {"value": {"required": ["not-a-field"]}}}
    (schemas / "refused.json").write_text(json.dumps(refuse_all))
    with EmbeddedBroker(schema_dir=schemas, log_file=tmp_path / "broker.log") as broker:
        settings = isolated(broker.url, "refusals", tmp_path / "data", 0)

        async def run() -> int:
            await ensure_topics(settings, ["refused", "accepted"])
            producer = producer_for(settings)
            await producer.start()
            outbox = Outbox(lambda: producer)
            try:
                for i in range(20):
                    outbox.send("refused", b"k", b'{"a": 1}', partition=i % 2)
                outbox.send("accepted", b"k", b"{}", partition=0)
                async with asyncio.timeout(60):
                    await outbox.settle()
                assert outbox.pending == 0
                return outbox.failed
            finally:
                await outbox.stop()
                await producer.stop()

        assert asyncio.run(run()) == 20


def test_records_a_stopped_producer_cannot_take_are_counted_and_settle_returns(
    settings: Settings,
) -> None:
    topic = f"{settings.app_id}-stopped"

    async def run() -> tuple[int, int]:
        await ensure_topics(settings, [topic])
        producer = producer_for(settings)
        await producer.start()
        await producer.stop()
        outbox = Outbox(lambda: producer)
        for i in range(10):
            outbox.send(topic, b"k", f"{i}".encode(), partition=i % 2)
        async with asyncio.timeout(30):
            await outbox.settle()
        await outbox.stop()
        return outbox.failed, outbox.pending

    assert asyncio.run(run()) == (10, 0)


def test_ebb_holds_the_agents_until_the_broker_has_answered_half(settings: Settings) -> None:
    topic = f"{settings.app_id}-ebb"

    async def run() -> None:
        await ensure_topics(settings, [topic])
        producer = producer_for(settings)
        await producer.start()
        outbox = Outbox(lambda: producer, max_pending=100)
        try:
            for i in range(300):
                outbox.send(topic, f"{i}".encode(), b"v")
            assert outbox.full and outbox.pending == 300
            async with asyncio.timeout(30):
                await outbox.ebb()
            assert outbox.pending < 50
            await outbox.settle()
            assert (outbox.pending, outbox.full, outbox.failed) == (0, False, 0)
        finally:
            await outbox.stop()
            await producer.stop()

    asyncio.run(run())
