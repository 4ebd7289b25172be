"""Compatibility with the embedded broker (Tansu), behind one setting: `broker_compat`.

Tansu speaks the Kafka protocol but differs from Kafka in ways that lose or stale
data unless worked around (docs/adr/0002-embedded-broker.md tables them all). Each
workaround is implemented once, here:

- `fetched_highwaters`: ListOffsets answers short of a partition's end.
- `OffsetJumps`: a later record batch can be readable before an earlier one.

`tansu` puts them on the path: the worker's consumer becomes
`transport.TansuConsumer` (its thread `transport.TansuConsumerThread`) and the
plain reader fetches through `JumpCheckedFetch`. `kafka` leaves Faust's and
aiokafka's own behaviour, which is right on Kafka; the project's general
guarantees (commits only past processed events whose outputs reached the broker,
re-reads around rebalances, the codec stop, the batched producer) stay in both.

`auto` (the default) asks the broker once for its cluster id (a Metadata
request): Tansu's is `tansu_cluster` unless it is started with another, and the
embedded broker is started with that one. When the broker cannot be asked, or a
component is built without asking (`create_app` on unresolved settings), the
workarounds stay on: they are correct on Kafka too, they only cost an extra fetch.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka import errors as kafka_errors
from aiokafka.protocol.metadata import MetadataRequest

from streams.settings import Settings
from streams.stream.kafka.probe import connect

log = logging.getLogger(__name__)

Mode = Literal["tansu", "kafka"]
TANSU_CLUSTER_ID = "tansu_cluster"
"""Tansu's default cluster id (its `--cluster-id`), which the embedded broker keeps."""
DETECT_TIMEOUT_S = 10.0
HIGHWATER_TIMEOUT_S = 10.0
JUMP_GRACE_S = 10.0
"""How long records past a jump that arrive after the seek back are taken as fetched
before it (Faust's consumer thread prefetches ahead of the agents)."""
JUMP_PAUSE_S = 0.05
"""The plain reader's pause before fetching a jump again: time for the producer
still storing the missing batch."""

_detected: dict[str, Mode] = {}


async def mode_of(settings: Settings) -> Mode:
    """`settings.broker_compat`, with `auto` resolved by asking the broker once per
    process; `tansu` when it cannot be asked (the safe side)."""
    if settings.broker_compat != "auto":
        return settings.broker_compat
    if settings.broker_url in _detected:
        return _detected[settings.broker_url]
    try:
        cluster_id = await asyncio.wait_for(cluster_id_of(settings), DETECT_TIMEOUT_S)
    except (OSError, kafka_errors.KafkaError, TimeoutError) as exc:
        log.warning(
            "could not ask broker %s which broker it is (%s); keeping the embedded-broker "
            "workarounds on. Set J9262_BROKER_COMPAT to kafka or tansu to skip this",
            settings.broker_url,
            type(exc).__name__,
        )
        return "tansu"
    mode: Mode = "tansu" if cluster_id == TANSU_CLUSTER_ID else "kafka"
    _detected[settings.broker_url] = mode
    return mode


async def cluster_id_of(settings: Settings) -> str | None:
    """The cluster id in the broker's Metadata answer (None before Metadata v2)."""
    conn = await connect(settings, int(DETECT_TIMEOUT_S * 1000))
    try:
        answer = await conn.send(MetadataRequest([]))
    finally:
        conn.close()
    return getattr(answer, "cluster_id", None)


def resolved(settings: Settings) -> Settings:
    """The settings with `broker_compat` resolved, for a process about to build a
    worker (outside any event loop); logs the mode taken."""
    if settings.broker_compat != "auto":
        log.info("broker compatibility: %s (J9262_BROKER_COMPAT)", settings.broker_compat)
        return settings
    mode = asyncio.run(mode_of(settings))
    log.info("broker compatibility: %s (J9262_BROKER_COMPAT=auto, asked the broker)", mode)
    return settings.model_copy(update={"broker_compat": mode})


def built_mode(settings: Settings) -> Mode:
    """The mode a component built without asking the broker takes: `auto` keeps the
    workarounds on."""
    return "kafka" if settings.broker_compat == "kafka" else "tansu"


async def fetched_highwaters(
    client: AIOKafkaConsumer, reported: dict[Any, int], partitions: dict[TopicPartition, Any]
) -> dict[Any, int]:
    """Quirk: Tansu's ListOffsets answers with the last record batch's base offset
    + 1, short of the true end whenever that batch holds several records.

    Observed: a worker taking over recovered stale table values, because Faust's
    table recovery reads each changelog partition up to that answer
    (tests/integration/test_stateful_stream.py::
    test_a_new_worker_continues_the_cycle_from_the_changelog). The high watermark in
    a fetch response is right, so each of `partitions` (aiokafka's partition ->
    the caller's key into `reported`) is fetched once from just before the reported
    end, and the larger of the two is kept. `client` is started and stopped here.

    On Kafka, ListOffsets answers the log end offset itself, so Faust's answer is
    taken as it is (`kafka` mode never calls this).
    """
    highwaters = dict(reported)
    await client.start()
    try:
        client.assign(list(partitions))
        for tp, key in partitions.items():
            client.seek(tp, reported[key] - 1)
        pending = set(partitions)
        deadline = time.monotonic() + HIGHWATER_TIMEOUT_S
        while pending and time.monotonic() < deadline:
            await client.getmany(*pending, timeout_ms=200)
            for tp in list(pending):
                highwater = client.highwater(tp)
                if highwater is not None:
                    key = partitions[tp]
                    highwaters[key] = max(highwaters[key], highwater)
                    pending.discard(tp)
    finally:
        await client.stop()
    return highwaters


K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True, slots=True)
class Jump:
    start: int
    """The first offset missing."""
    past: int
    """The offset of the record past the jump."""
    since: float


class OffsetJumps(Generic[K]):
    """Quirk: Tansu allots a record batch its offsets before it stores the batch, and
    a fetch returns whatever is stored below the high watermark. With two producers
    on one partition a later batch can be readable before an earlier one, and a
    reader fetching then moves past the earlier batch for good.

    Observed: the benchmark's two-worker run fell short of its 20,000 answers in
    three full runs; the workers' own counters showed all 20,000 sent and a full
    re-read found every one. Tansu's source shows the order of allotting and storing.

    So the first time a partition's offsets jump, the partition is fetched again
    from the first offset missing before the jump is believed; a jump seen again is
    real and taken. One instance serves one reader, keyed by partition: the worker's
    consumer (`transport.TansuConsumer`) and the plain reader (`JumpCheckedFetch`).

    On Kafka a partition is appended to in offset order and its high watermark
    raised after the append, so no reader sees a later batch first; its jumps are
    real (transaction markers, compaction), and `kafka` mode takes them at once.
    """

    def __init__(self, grace_s: float = JUMP_GRACE_S) -> None:
        self.grace_s = grace_s
        self._pending: dict[K, Jump] = {}
        self._checked: dict[K, int] = {}
        """Per partition, the start of the last jump fetched again: not again."""

    def held_back(self, tp: K, offset: int) -> bool:
        """True for a record past a jump being fetched again, handed out before the
        seek back: it comes again after the missing ones."""
        jump = self._pending.get(tp)
        if jump is None:
            return False
        if offset > jump.past and time.monotonic() - jump.since <= self.grace_s:
            return True
        del self._pending[tp]
        if offset > jump.past:
            log.error(
                "%s: fetched again from offset %d, the first record came at %d",
                tp,
                jump.start,
                offset,
            )
        elif offset < jump.past:
            log.warning(
                "%s: offsets %d-%d were missing from one fetch and came on the next",
                tp,
                jump.start,
                jump.past - 1,
            )
        return False

    def refetch_from(self, tp: K, offset: int, expected: int | None) -> int | None:
        """The offset to fetch `tp` again from, when `offset` jumps past `expected`
        (the next offset due) for the first time; the record is then not taken."""
        if expected is None or offset <= expected or self._checked.get(tp) == expected:
            return None
        self._checked[tp] = expected
        self._pending[tp] = Jump(expected, offset, time.monotonic())
        return expected

    def forget(self, tp: K) -> None:
        """The partition is sought elsewhere or revoked: a re-fetch under way is moot."""
        self._pending.pop(tp, None)

    def clear(self) -> None:
        self._pending.clear()
        self._checked.clear()


Batches = dict[TopicPartition, list[Any]]


class JumpCheckedFetch:
    """The plain reader's fetch for Tansu: each partition's records cut short at a
    jump not yet fetched twice (`OffsetJumps`); such a partition is sought back, so
    the next fetch brings the jump again."""

    def __init__(self, consumer: AIOKafkaConsumer) -> None:
        self.consumer = consumer
        self.jumps: OffsetJumps[TopicPartition] = OffsetJumps(grace_s=0)
        """No grace: aiokafka drops what it fetched before a seek."""
        self.expected: dict[TopicPartition, int] = {}

    async def begin(self, partitions: Iterable[TopicPartition]) -> None:
        """Checks the first records against the positions: the first batch may be the
        one not stored yet."""
        for tp in partitions:
            self.expected[tp] = await self.consumer.position(tp)

    async def __call__(self, max_records: int) -> Batches:
        batches: Batches = await self.consumer.getmany(timeout_ms=200, max_records=max_records)
        again = False
        for tp, messages in batches.items():
            for i, m in enumerate(messages):
                self.jumps.held_back(tp, m.offset)
                start = self.jumps.refetch_from(tp, m.offset, self.expected.get(tp))
                if start is not None:
                    self.consumer.seek(tp, start)
                    batches[tp] = messages[:i]
                    again = True
                    break
                self.expected[tp] = m.offset + 1
        if again:
            await asyncio.sleep(JUMP_PAUSE_S)
        return batches
