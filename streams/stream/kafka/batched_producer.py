"""Output records sent in batches, beside Faust's per-record send path.

Faust sends each record through a FutureMessage, its producer buffer, a publish
coroutine and callbacks: about a tenth of a millisecond of CPU a record here,
and a J9262 line writes four or five (forward, verdict, two changelog writes,
claim verdict). The outbox takes the agents' records as they come, and one task
hands them to aiokafka in per-partition batches: the partitions side by side,
each partition's records in the order they came.

Commits wait for the outbox as for Faust's own sends (`streams.stream.kafka.transport`): a
commit passes an event only once every record queued before it is acknowledged,
and a record the broker refuses stops the worker before it commits. Under
`exactly_once` the records belong to a transaction, so they go through Faust.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import faust
from aiokafka import AIOKafkaProducer
from aiokafka.structs import RecordMetadata, TopicPartition

log = logging.getLogger(__name__)

MAX_PENDING = 20_000
"""Unanswered records at which the agents wait (`Outbox.ebb`): a few seconds of
output at the worker's rate, a few tens of megabytes."""

Headers = Sequence[tuple[str, bytes]]
Delivered = Callable[[RecordMetadata], None]


@dataclass(slots=True)
class _Record:
    topic: str
    key: bytes | None
    value: bytes | None
    partition: int | None
    headers: list[tuple[str, bytes]]
    on_delivery: Delivered | None


class Outbox:
    """Records sent by one task in per-partition batches, each partition in queued order."""

    def __init__(
        self, producer: Callable[[], AIOKafkaProducer], max_pending: int = MAX_PENDING
    ) -> None:
        self._producer = producer
        self.max_pending = max_pending
        self.pending = 0
        """Records queued or handed over and not yet answered."""
        self._ebbed = asyncio.Event()
        self._queued: list[_Record] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._handed: set[asyncio.Future[Any]] = set()
        """Deliveries not yet answered by the broker."""
        self._taken = 0
        self._added = 0
        self._progress = asyncio.Condition()
        self._handed_records = 0
        self.failed = 0
        """Records the broker refused or that could not be handed to the producer."""

    def send(
        self,
        topic: str,
        key: bytes | None,
        value: bytes | None,
        *,
        partition: int | None = None,
        headers: Headers = (),
        on_delivery: Delivered | None = None,
    ) -> None:
        """Queue a record; with no partition, the producer's partitioner picks it from the key."""
        self._queued.append(_Record(topic, key, value, partition, list(headers), on_delivery))
        self._added += 1
        self.pending += 1
        self._wake.set()
        if self._task is None or self._task.done():
            self._task = asyncio.ensure_future(self._run())

    @property
    def full(self) -> bool:
        return self.pending >= self.max_pending

    async def ebb(self) -> None:
        """Waits while `max_pending` records are unanswered: the agents' brake when
        the broker falls behind, as Faust's send buffer brakes its senders."""
        while self.full:
            self._ebbed.clear()
            await self._ebbed.wait()

    def _answered(self, count: int) -> None:
        self.pending -= count
        if self.pending < self.max_pending // 2:
            self._ebbed.set()

    async def settle(self) -> None:
        """Returns once every record queued before the call was answered or failed.

        Records queued meanwhile are not waited for, so a busy worker still commits.
        """
        target = self._added
        if self._taken < target:
            async with self._progress:
                await self._progress.wait_for(lambda: self._taken >= target)
        if self._handed:
            await asyncio.wait(list(self._handed))

    async def stop(self) -> None:
        await self.settle()
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            records, self._queued = self._queued, []
            self._handed_records = 0
            try:
                await self._hand_over(records)
            except Exception as exc:  # the producer stopped, or metadata never came
                unsent = len(records) - self._handed_records
                self.failed += unsent
                self._answered(unsent)
                log.error("%d output records could not be queued to send: %r", unsent, exc)
            async with self._progress:
                self._taken += len(records)
                self._progress.notify_all()

    async def _hand_over(self, records: list[_Record]) -> None:
        producer = self._producer()
        batches: dict[tuple[str, int], list[_Record]] = {}
        known: set[str] = set()
        for record in records:
            partition = record.partition
            if partition is None:
                if record.topic not in known:
                    await producer.client._wait_on_metadata(record.topic)
                    known.add(record.topic)
                partition = producer._partition(
                    record.topic, None, None, None, record.key, record.value
                )
            batches.setdefault((record.topic, partition), []).append(record)
        outcomes = await asyncio.gather(
            *(
                self._hand_over_partition(producer, topic, partition, in_order)
                for (topic, partition), in_order in batches.items()
            ),
            return_exceptions=True,
        )
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome

    async def _hand_over_partition(
        self, producer: AIOKafkaProducer, topic: str, partition: int, in_order: list[_Record]
    ) -> None:
        """One partition's records, a batch at a time.

        aiokafka holds one unsent batch per partition, so a second batch waits
        for a produce request to take the first. Partitions are handed over side
        by side, so one request carries a batch of each instead of one alone.
        """
        batch, held = producer.create_batch(), list[_Record]()
        for record in in_order:
            if not _append(batch, record):  # full: an empty batch takes any one record
                await self._send(producer, batch, topic, partition, held)
                batch, held = producer.create_batch(), []
                _append(batch, record)
            held.append(record)
        await self._send(producer, batch, topic, partition, held)

    async def _send(
        self,
        producer: AIOKafkaProducer,
        batch: Any,
        topic: str,
        partition: int,
        records: list[_Record],
    ) -> None:
        delivery: asyncio.Future[RecordMetadata] = await producer.send_batch(
            batch, topic, partition=partition
        )
        self._handed.add(delivery)
        self._handed_records += len(records)
        delivery.add_done_callback(lambda done: self._delivered(done, topic, partition, records))

    def _delivered(
        self,
        delivery: asyncio.Future[RecordMetadata],
        topic: str,
        partition: int,
        records: list[_Record],
    ) -> None:
        self._handed.discard(delivery)
        self._answered(len(records))
        if delivery.cancelled() or delivery.exception() is not None:
            self.failed += len(records)
            log.error(
                "the broker refused %d records for %s-%d: %r",
                len(records),
                topic,
                partition,
                None if delivery.cancelled() else delivery.exception(),
            )
            return
        first = delivery.result()
        for i, record in enumerate(records):
            if record.on_delivery is not None:
                record.on_delivery(
                    RecordMetadata(
                        topic,
                        partition,
                        TopicPartition(topic, partition),
                        first.offset + i,
                        first.timestamp,
                        first.timestamp_type,
                        first.log_start_offset,
                    )
                )


def _append(batch: Any, record: _Record) -> bool:
    added = batch.append(key=record.key, value=record.value, timestamp=None, headers=record.headers)
    return added is not None


class _Sent:
    """What Faust's table reads of a send: the partition it went to."""

    __slots__ = ("message",)

    def __init__(self, partition: int | None) -> None:
        self.message = _Partition(partition)


class _Partition:
    __slots__ = ("partition",)

    def __init__(self, partition: int | None) -> None:
        self.partition = partition


class _Done:
    """A delivered send as a Faust send callback reads it (`fut.result()`)."""

    __slots__ = ("metadata",)

    def __init__(self, metadata: RecordMetadata) -> None:
        self.metadata = metadata

    def result(self) -> RecordMetadata:
        return self.metadata


class Topic(faust.Topic):
    """Faust's topic, whose `send_soon` of bytes goes through the app's outbox.

    Values other than bytes, keys other than bytes or raw strings, and apps
    without an outbox take Faust's path.
    """

    def send_soon(  # type: ignore[override]
        self,
        *,
        key: Any = None,
        value: Any = None,
        partition: int | None = None,
        headers: Any = None,
        callback: Callable[[Any], None] | None = None,
        **rest: Any,
    ) -> Any:
        outbox: Outbox | None = getattr(self.app, "outbox", None)
        raw_key = key.encode() if isinstance(key, str) else key
        if (
            outbox is None
            or not self._passes_bytes(rest)
            or not isinstance(raw_key, bytes | None)
            or not isinstance(value, bytes | None)
            or (value is None and raw_key is None)
        ):
            return super().send_soon(
                key=key,
                value=value,
                partition=partition,
                headers=headers,
                callback=callback,
                **rest,
            )
        on_delivery = None if callback is None else (lambda meta: callback(_Done(meta)))
        if isinstance(headers, Mapping):
            headers = headers.items()
        outbox.send(
            self.get_topic_name(),
            raw_key,
            value,
            partition=partition,
            headers=headers or (),
            on_delivery=on_delivery,
        )
        return _Sent(partition)

    def _passes_bytes(self, rest: Mapping[str, Any]) -> bool:
        """True when Faust would send the key and value bytes as they are."""
        key_codec = rest.get("key_serializer") or self.key_serializer
        value_codec = rest.get("value_serializer") or self.value_serializer
        return (
            not rest.get("timestamp")
            and rest.get("schema") is None
            and key_codec == "raw"
            and (value_codec == "raw" or getattr(value_codec, "passes_bytes", False))
        )
