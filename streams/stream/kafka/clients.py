"""Plain clients for the command line, tests and benchmark: publish events, read
verdicts, scrape a worker's metrics."""

from __future__ import annotations

import asyncio
import contextlib
import urllib.request
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from prometheus_client.parser import text_string_to_metric_families

from streams.settings import Settings
from streams.stream.kafka import compat


def _string_at(raw: bytes, *path: str) -> bytes | None:
    """The string at `path` in a raw event, UTF-8, for keying; None when the record is
    not readable or holds no string there."""
    try:
        value = orjson.loads(raw)
        for name in path:
            value = value[name]
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return None
    return value.encode() if isinstance(value, str) else None


def key_of(raw: bytes) -> bytes | None:
    """The claim_id of a raw event, for keying; None when the record is not readable."""
    return _string_at(raw, "claim", "claim_id")


def patient_key_of(raw: bytes) -> bytes | None:
    """The patient_id of a raw event: the key that lets a worker answer it in one hop
    (docs/contract.md); None when the record is not readable."""
    return _string_at(raw, "claim", "patient", "patient_id")


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
    key: Callable[[bytes], bytes | None] = key_of,
) -> list[tuple[int, int]]:
    """Publish raw records keyed by `key` (claim_id by default); returns each one's
    (partition, offset)."""
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
                await producer.send(topic or settings.topic_lines, value=raw, key=key(raw))
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

    (Tansu's ListOffsets answers short of the end (`compat.fetched_highwaters`), so
    callers compare commits with offsets the producer was given or a reader saw, not
    `end_offsets`.)
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


class Fetch(Protocol):
    """One fetch of a plain reader, past partitions already assigned and sought."""

    async def begin(self, partitions: Iterable[TopicPartition]) -> None:
        """Called with the partitions read from their current positions on."""

    async def __call__(self, max_records: int) -> dict[TopicPartition, list[Any]]: ...


class PlainFetch:
    """aiokafka's own fetch: for Kafka (`broker_compat=kafka`)."""

    def __init__(self, consumer: AIOKafkaConsumer) -> None:
        self.consumer = consumer

    async def begin(self, partitions: Iterable[TopicPartition]) -> None:
        pass

    async def __call__(self, max_records: int) -> dict[TopicPartition, list[Any]]:
        batches: dict[TopicPartition, list[Any]] = await self.consumer.getmany(
            timeout_ms=200, max_records=max_records
        )
        return batches


async def fetch_for(settings: Settings, consumer: AIOKafkaConsumer) -> Fetch:
    """The plain reader's fetch for the broker: with the embedded broker's jump check
    (`compat.JumpCheckedFetch`) or aiokafka's own."""
    if await compat.mode_of(settings) == "tansu":
        return compat.JumpCheckedFetch(consumer)
    return PlainFetch(consumer)


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
        fetch = await fetch_for(settings, consumer)
        if from_beginning:
            await consumer.seek_to_beginning(*partitions)
            await fetch.begin(partitions)
        else:
            await consumer.seek_to_end(*partitions)
        loop = asyncio.get_running_loop()
        last = loop.time()
        while True:
            batches = await fetch(5000)
            if batches:
                last = loop.time()
            for tp, messages in batches.items():
                for m in messages:
                    yield Record(tp.topic, tp.partition, m.offset, m.key, m.value, tuple(m.headers))
            if idle_timeout is not None and loop.time() - last > idle_timeout:
                return
    finally:
        await consumer.stop()


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
