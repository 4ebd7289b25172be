"""Plain clients for the command line, tests and benchmark: publish events, read
verdicts, scrape a worker's metrics."""

from __future__ import annotations

import asyncio
import contextlib
import urllib.request
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from prometheus_client.parser import text_string_to_metric_families

from streams.settings import Settings


def key_of(raw: bytes) -> bytes | None:
    """The claim_id of a raw event, for keying; None when the record is not readable."""
    try:
        doc = orjson.loads(raw)
        claim_id = doc["claim"]["claim_id"]
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return None
    return claim_id.encode() if isinstance(claim_id, str) else None


async def ensure_topics(settings: Settings, names: Iterable[str]) -> None:
    admin = AIOKafkaAdminClient(
        bootstrap_servers=settings.bootstrap_servers, **settings.aiokafka_security()
    )
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        new = [
            NewTopic(n, settings.topic_partitions, settings.topic_replication_factor)
            for n in names
            if n not in existing
        ]
        if new:
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(new)
    finally:
        await admin.close()


def producer_for(settings: Settings) -> AIOKafkaProducer:
    """A producer of whole records up to the configured maximum, acknowledged by all
    replicas."""
    return AIOKafkaProducer(
        bootstrap_servers=settings.bootstrap_servers,
        max_request_size=settings.max_message_bytes * 2 + 65_536,
        linger_ms=5,
        acks="all",
        compression_type=settings.compression_type,
        **settings.aiokafka_security(),
    )


def reader_for(
    settings: Settings, *, group_id: str | None = None, from_beginning: bool = True
) -> AIOKafkaConsumer:
    """A consumer that commits only when told, with fetches that fit the largest
    record allowed (a dead letter carries one in base64)."""
    return AIOKafkaConsumer(
        bootstrap_servers=settings.bootstrap_servers,
        group_id=group_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest" if from_beginning else "latest",
        fetch_max_bytes=max(52_428_800, settings.max_message_bytes * 4),
        max_partition_fetch_bytes=max(1_048_576, settings.max_message_bytes * 3),
        **settings.aiokafka_security(),
    )


async def publish(
    settings: Settings,
    records: Iterable[bytes],
    on_sent: Callable[[int], None] | None = None,
    topic: str | None = None,
) -> list[tuple[int, int]]:
    """Publish raw records keyed by claim_id; returns each one's (partition, offset)."""
    producer = producer_for(settings)
    await producer.start()
    placed: list[tuple[int, int]] = []

    async def drain(pending: list[asyncio.Future[Any]]) -> None:
        for meta in await asyncio.gather(*pending):
            placed.append((meta.partition, meta.offset))
        if on_sent and pending:
            on_sent(len(pending))
        pending.clear()

    try:
        pending: list[asyncio.Future[Any]] = []
        for raw in records:
            pending.append(
                await producer.send(topic or settings.topic_lines, value=raw, key=key_of(raw))
            )
            if len(pending) >= 1000:
                await drain(pending)
        await drain(pending)
    finally:
        await producer.stop()
    return placed


async def committed_offsets(
    settings: Settings, topic: str | None = None, partitions: Iterable[int] | None = None
) -> dict[int, int | None]:
    """The worker group's committed offset per partition of `topic` (the lines topic
    and all its partitions by default).

    (Tansu's ListOffsets answers with batch counts, not offsets, so callers compare
    commits with offsets the producer was given or a reader saw, not `end_offsets`.)
    """
    consumer = reader_for(settings, group_id=settings.app_id)
    await consumer.start()
    try:
        name = topic or settings.topic_lines
        wanted = range(settings.topic_partitions) if partitions is None else partitions
        return {p: await consumer.committed(TopicPartition(name, p)) for p in wanted}
    finally:
        await consumer.stop()


@dataclass(frozen=True, slots=True)
class Record:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    headers: tuple[tuple[str, bytes], ...] = ()


class GapCheck:
    """Tansu, the embedded broker, allots a batch its offsets before it stores it. Two
    producers writing one partition can therefore make a later batch readable before an
    earlier one, and a reader at that moment moves past the earlier batch for good. A
    jump in a partition's offsets is fetched once more before it is believed: on Kafka a
    jump is real (compaction, transaction markers) and the second fetch shows it again.
    """

    PAUSE_S = 0.05

    def __init__(self) -> None:
        self.expected: dict[TopicPartition, int] = {}
        self.retried: dict[TopicPartition, int] = {}

    def check(self, partition: TopicPartition, offset: int) -> int | None:
        """None to take the record at `offset`; else the offset to fetch again from."""
        expected = self.expected.get(partition)
        if expected is not None and offset > expected and self.retried.get(partition) != expected:
            self.retried[partition] = expected
            return expected
        self.expected[partition] = offset + 1
        return None


async def follow(
    settings: Settings,
    topics: list[str],
    from_beginning: bool = True,
    idle_timeout: float | None = None,
) -> AsyncIterator[Record]:
    """Read topics without a consumer group; stop after `idle_timeout` seconds of silence."""
    consumer = reader_for(settings, from_beginning=from_beginning)
    try:
        await consumer.start()
    except Exception:
        await consumer.stop()
        raise
    try:
        partitions = [
            TopicPartition(t, p) for t in topics for p in sorted(await partitions_for(consumer, t))
        ]
        consumer.assign(partitions)
        gaps = GapCheck()
        if from_beginning:
            await consumer.seek_to_beginning(*partitions)
            for tp in partitions:  # the first batch may be the one not yet stored
                gaps.expected[tp] = await consumer.position(tp)
        else:
            await consumer.seek_to_end(*partitions)
        loop = asyncio.get_running_loop()
        last = loop.time()
        while True:
            batches = await fetch_checked(consumer, gaps)
            if batches:
                last = loop.time()
            for tp, messages in batches.items():
                for m in messages:
                    yield Record(tp.topic, tp.partition, m.offset, m.key, m.value, tuple(m.headers))
            if idle_timeout is not None and loop.time() - last > idle_timeout:
                return
    finally:
        await consumer.stop()


async def fetch_checked(
    consumer: AIOKafkaConsumer, gaps: GapCheck, max_records: int = 5000
) -> dict[TopicPartition, list[Any]]:
    """One fetch, each partition's records cut short at a jump not yet fetched twice;
    such a partition is sought back, so the next fetch brings the jump again."""
    batches: dict[TopicPartition, list[Any]] = await consumer.getmany(
        timeout_ms=200, max_records=max_records
    )
    recheck = False
    for tp, messages in batches.items():
        for i, m in enumerate(messages):
            again = gaps.check(tp, m.offset)
            if again is not None:
                consumer.seek(tp, again)
                batches[tp] = messages[:i]
                recheck = True
                break
    if recheck:
        await asyncio.sleep(GapCheck.PAUSE_S)  # the writer of the missing batch
    return batches


async def partitions_for(consumer: AIOKafkaConsumer, topic: str) -> set[int]:
    """The topic's partitions, once the consumer's metadata knows them."""
    for _ in range(50):
        parts = consumer.partitions_for_topic(topic)
        if parts:
            return set(parts)
        await consumer._client.force_metadata_update()
        await asyncio.sleep(0.1)
    raise RuntimeError(f"topic {topic!r} does not exist on the broker")


Samples = dict[str, dict[tuple[tuple[str, str], ...], float]]


def scrape_metrics(settings: Settings, timeout: float = 10) -> Samples:
    """A worker's /metrics as {sample name: {sorted (label, value) pairs: value}}."""
    url = f"http://127.0.0.1:{settings.web_port}/metrics"
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        text = resp.read().decode()
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return samples
