"""Faust's aiokafka transport, with this project's guarantees and, for the embedded
broker, its workarounds.

`Transport` (scheme `j9262`, `broker_compat=kafka`) guards the at-least-once
guarantee around commits and rebalances (see `Consumer`, and the app's
`FlowControl`), counts failed sends (`Producer`), stops on a codec it cannot
read, and takes the consumer's fetch wait from the `fetch_max_wait_ms` setting:
Faust fixes it at 1.5 s, which costs nothing on Kafka (it answers a fetch as soon
as records arrive) but put up to 1.5 s on every hop on the embedded broker, which
holds an empty fetch for the whole wait.

`TansuTransport` (scheme `j9262-tansu`, `broker_compat=tansu`) adds the embedded
broker's workarounds, implemented in `streams.stream.kafka.compat`.
`streams.stream.app` picks the scheme for the consumer and the producer.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Iterable, Mapping
from typing import Any, cast

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import UnsupportedCodecError
from aiokafka.structs import RecordMetadata
from faust.transport.drivers import TRANSPORTS
from faust.transport.drivers import aiokafka as driver
from faust.types import TP
from mode.utils.queues import FlowControlEvent

from streams.stream.exits import (
    CODEC_INSTALL_HINT,
    EXIT_CODEC_MISSING,
    EXIT_SENDS_FAILED,
    exit_now,
)
from streams.stream.kafka import compat
from streams.stream.kafka.batched_producer import Outbox

SCHEME = "j9262"
TANSU_SCHEME = "j9262-tansu"
REREAD_GRACE_S = 10.0
REREAD_PATIENCE_S = 30.0
"""How long a re-read may take to reach the agent before the same record is sought
again: behind a backlog the agent first works through what it already holds."""
FAUST_FETCH_MAX_WAIT_MS = 1500


class ConsumerThread(driver.AIOKafkaConsumerThread):
    def _create_worker_consumer(self, transport: driver.Transport) -> AIOKafkaConsumer:
        consumer = super()._create_worker_consumer(transport)
        consumer._fetch_max_wait_ms = getattr(
            self.app, "fetch_max_wait_ms", FAUST_FETCH_MAX_WAIT_MS
        )
        return consumer

    async def getmany(self, active_partitions: set[TP] | None, timeout: float) -> Any:
        try:
            return await super().getmany(active_partitions, timeout)
        except UnsupportedCodecError as exc:
            # The batch's records cannot even be told apart, so none can be dead-lettered;
            # Faust would log a traceback and crash, and the next worker would do the same.
            self.log.critical(
                "cannot read a compressed record batch (%s); %s. Exiting (code %d) "
                "without committing: the batch is read again after the fix",
                exc,
                CODEC_INSTALL_HINT,
                EXIT_CODEC_MISSING,
            )
            exit_now(EXIT_CODEC_MISSING)


class Producer(driver.Producer):
    """Counts the records that failed to send, which Faust only logs, and can wait
    for every record queued so far (`settle`), through Faust's buffer or the
    app's outbox (`streams.stream.kafka.batched_producer`)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._failed_sends = 0
        self.handing_over: set[asyncio.Future[None]] = set()
        self._settled = False

    @property
    def outbox(self) -> Outbox | None:
        return cast("Outbox | None", getattr(self.app, "outbox", None))

    @property
    def failed_sends(self) -> int:
        """Records refused or never sent, by Faust's path or the outbox."""
        return self._failed_sends + (self.outbox.failed if self.outbox else 0)

    def kafka_producer(self) -> AIOKafkaProducer:
        """The aiokafka producer, once the worker has started it."""
        return self._ensure_producer()

    async def flush(self) -> None:
        """Faust flushes before each commit until its buffer stays empty for 0.1 s,
        which a worker with a backlog never sees: commits came 20-30 s apart. Inside
        `settled()` the records the commit covers are already answered, so it
        returns at once; at shutdown it drains everything as before."""
        if not self._settled:
            if self.outbox is not None:
                await self.outbox.settle()
            await super().flush()

    @contextlib.asynccontextmanager
    async def settled(self) -> AsyncIterator[None]:
        await self.settle()
        self._settled = True
        try:
            yield
        finally:
            self._settled = False

    async def send(  # noqa: PLR0917 (Faust's signature)
        self,
        topic: str,
        key: bytes | None,
        value: bytes | None,
        partition: int | None,
        timestamp: float | None,
        headers: Any,
        *,
        transactional_id: str | None = None,
    ) -> Awaitable[RecordMetadata]:
        handed_over = asyncio.get_running_loop().create_future()
        self.handing_over.add(handed_over)
        try:
            delivery = await super().send(
                topic, key, value, partition, timestamp, headers, transactional_id=transactional_id
            )
        except Exception:
            self._failed_sends += 1
            raise
        finally:
            self.handing_over.discard(handed_over)
            handed_over.set_result(None)
        cast("asyncio.Future[RecordMetadata]", delivery).add_done_callback(self._on_delivery)
        return delivery

    def _on_delivery(self, delivery: asyncio.Future[RecordMetadata]) -> None:
        if not delivery.cancelled() and delivery.exception() is not None:
            self._failed_sends += 1

    async def settle(self) -> None:
        """Returns once every record queued before the call was answered or failed.

        Records queued meanwhile are not waited for, so a busy worker still commits.
        """
        queued: list[asyncio.Future[Any]] = [
            *self.buffer.pending._queue,  # type: ignore[attr-defined]
            *self.handing_over,
        ]
        if queued:
            await asyncio.wait(queued)
        if self.outbox is not None:
            await self.outbox.settle()
        await self._ensure_producer().flush()
        await asyncio.sleep(0)


class Consumer(driver.Consumer):
    """Commits only offsets whose events were processed and whose outputs all
    reached the broker.

    Outputs: before a commit, Faust's flush gives up after 0.1 s without
    progress and commits anyway, and a record that then fails to send is only
    logged: either way the commit could pass events whose verdicts were never
    written. This consumer waits for every record queued before the commit, and
    only for those (`Producer.settled`), so a busy worker commits every
    `commit_interval_s` instead of every 20-30 s; if
    any record has failed to send since the worker started, it exits without
    committing, so the next worker reads those events again.

    Processing: around a rebalance Faust can drop records as already read
    (its read offsets trail its seeks), take the next record for a gap in the
    log, and commit past the dropped ones (its head-of-queue check lets a
    one-offset gap through, faust-streaming issue 606). So this consumer notes
    every record the fetcher hands out; a commit never passes one that was
    fetched but not acknowledged, and a partition with such a record is read
    again from there. Offsets that never arrive (transaction markers) do not
    hold commits back, and records handed out again below that point are
    ignored. Until the re-read's first record arrives, records of batches
    fetched before its seek are dropped: Faust would take them as read and then
    drop the re-read as already read. Records Faust throws out of the agents'
    queues unprocessed are read again too (`FlowControl`).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._fetched: defaultdict[TP, set[int]] = defaultdict(set)
        self._reread_due: dict[TP, int] = {}
        """Per partition, the first record fetched but not processed: read again from it
        after the next commit."""
        self._reread_started: dict[TP, tuple[int, float]] = {}
        """Per partition being read again: the offset sought, and when, until that record
        arrives (records of batches fetched before the seek are dropped meanwhile)."""
        self._floor: dict[TP, int] = {}
        """Per partition, the offset below which every record was processed; Faust's
        own record of its commits is dropped at each revocation."""
        self._reread_sought: dict[TP, tuple[int, float]] = {}
        """Per partition read again: the offset sought, and when, until it is processed."""

    def committed_offset(self, tp: TP) -> int | None:
        """The offset this worker last committed for `tp`, or read at assignment."""
        return self._committed_offset.get(tp)

    def _new_consumer_thread(self) -> ConsumerThread:
        return ConsumerThread(self, loop=self.loop, beacon=self.beacon)

    async def _past_a_jump(self, tp: TP, offset: int) -> bool:
        """True for a record to drop because of a jump in the partition's offsets: never
        here (Kafka's jumps are real); the embedded broker's consumer checks them."""
        return False

    async def getmany(self, timeout: float) -> AsyncIterator[tuple[TP, Any]]:
        acks_enabled_for = self.app.topics.acks_enabled_for
        floor = self._floor
        async for tp, message in super().getmany(timeout):
            # The order matters: a re-read's filter first, the jump check after it. A
            # jump check ahead of it took the records a re-read drops for a jump and
            # sought past the re-read's first record, and the partition stalled.
            if tp in self._reread_started and self._fetched_before_reread(tp, message.offset):
                continue
            if not acks_enabled_for(message.topic):
                yield tp, message
                continue
            if await self._past_a_jump(tp, message.offset):
                continue
            if message.offset >= floor.get(tp, 0):
                self._fetched[tp].add(message.offset)
            yield tp, message

    def _reread_under_way(self, tp: TP, first: int) -> bool:
        """True while the partition is being read again from `first`.

        The agent processes the records it already held before the re-read's, so
        behind a backlog `first` stays unprocessed for several commits. Seeking it
        again at each would start the re-read over, again and again, repeating
        verdicts until the backlog drained.
        """
        sought = self._reread_sought.get(tp)
        if sought is None:
            return False
        offset, since = sought
        if offset == first and time.monotonic() - since <= REREAD_PATIENCE_S:
            return True
        del self._reread_sought[tp]
        return False

    def _fetched_before_reread(self, tp: TP, offset: int) -> bool:
        """True for records of a batch fetched before the re-read's seek.

        The re-read starts at a record that was handed out before, so it will come;
        if it has not within REREAD_GRACE_S, stop waiting rather than stall. When it
        comes, Faust's read offset is set back to it: the seek set it there, but a
        record the agent was still taking when the seek came sets it past the
        re-read once taken, and Faust would then drop the whole re-read as already
        read (seen in the kill -9 takeover test: 313 records dropped, commits held).
        """
        start, since = self._reread_started[tp]
        if offset == start:
            self._read_offset[tp] = start
        if offset == start or time.monotonic() - since > REREAD_GRACE_S:
            del self._reread_started[tp]
            return False
        return True

    def dropped_unprocessed(self, messages: Iterable[Any]) -> None:
        """Faust is throwing these records out of the agents' queues: their
        partitions are read again from the first one not processed, at the next
        commit. Faust's read offset is already past them, and `_new_offset` takes
        fetched records above every acknowledged one for records on their way."""
        acks_enabled_for = self.app.topics.acks_enabled_for
        for message in messages:
            tp, offset = message.tp, message.offset
            if (
                not acks_enabled_for(tp.topic)
                or offset < self._floor.get(tp, 0)
                or offset in self._acked_index.get(tp, ())
            ):
                continue
            due = self._reread_due.get(tp)
            self._reread_due[tp] = offset if due is None else min(due, offset)

    def _new_offset(self, tp: TP) -> int | None:
        acked = set(self._acked_index[tp])  # Faust trims the index to what it commits
        gap = self._gap[tp]
        for done in [o for o in acked if gap.overlaps_point(o)] if gap else ():
            gap.chop(done, done + 1)  # else Faust's fill repeats them and commits crawl
        offset = super()._new_offset(tp)
        limit = offset
        if limit is None and self._acked[tp]:
            # Faust commits nothing while its first acknowledged record lies more than
            # one offset past the last commit; records fetched and dropped below it
            # would hold the partition's commits for good unless read again too.
            limit = self._acked[tp][0]
        if limit is None:
            return None
        floor = self._floor.get(tp, 0)
        skipped = [o for o in self._fetched[tp] if floor <= o < limit and o not in acked]
        if skipped:
            first = min(skipped)
            if not self._reread_under_way(tp, first):
                self._reread_due[tp] = first
            if offset is not None:
                offset = first if first > floor else None
        if offset is not None:
            self._floor[tp] = offset
            self._fetched[tp] = {o for o in self._fetched[tp] if o >= offset}
        return offset

    async def perform_seek(self) -> None:
        """After a rebalance each partition is read again from its committed offset.

        Faust sets its read offsets only after the seek, and drops as already
        read any record fetched meanwhile below the old ones: none are kept.
        """
        self._fetched.clear()
        self._reread_due.clear()
        self._reread_started.clear()
        self._reread_sought.clear()
        acks_enabled_for = self.app.topics.acks_enabled_for
        for tp in [tp for tp in self._read_offset if acks_enabled_for(tp.topic)]:
            self._read_offset[tp] = None  # changelogs are not sought: they keep theirs
        await super().perform_seek()
        self._floor = {tp: o for tp, o in self._committed_offset.items() if o is not None}
        # aiokafka seeks only to a committed offset above 0. A partition without one
        # keeps the position its prefetch reached, past records handed out while the
        # tables recovered and dropped by Faust: with no later record to ack, nothing
        # would ever read them again. Such a partition starts over from its beginning.
        unsought = [
            TopicPartition(tp.topic, tp.partition)
            for tp in self.assignment()
            if acks_enabled_for(tp.topic) and not self._committed_offset.get(tp)
        ]
        if unsought:
            await self._thread.seek_to_beginning(*unsought)

    async def on_partitions_revoked(self, revoked: set[TP]) -> None:
        """Commits what is done first: Faust forgets the acknowledgements of `revoked`."""
        await self.commit()
        for tp in revoked:
            self._reread_due.pop(tp, None)
            self._reread_started.pop(tp, None)
            self._reread_sought.pop(tp, None)
        await super().on_partitions_revoked(revoked)

    async def _read_skipped_again(self) -> None:
        assigned = self.assignment()
        for tp, offset in list(self._reread_due.items()):
            del self._reread_due[tp]
            if tp not in assigned:
                continue
            self.log.warning(
                "%s: records from offset %d were fetched but not processed; reading them again",
                tp,
                offset,
            )
            self._fetched[tp] = {o for o in self._fetched[tp] if o < offset}
            acked = self._acked_index[tp]
            self._acked[tp] = [o for o in self._acked[tp] if o < offset]
            acked.difference_update({o for o in acked if o >= offset})
            self._read_offset[tp] = None
            self._reread_started[tp] = (offset, time.monotonic())
            self._reread_sought[tp] = self._reread_started[tp]
            await self.seek(tp, offset)

    async def _commit_offsets(
        self, offsets: Mapping[TP, int], start_new_transaction: bool = True
    ) -> bool:
        producer = self.app.producer
        if not isinstance(producer, Producer):
            return await super()._commit_offsets(offsets, start_new_transaction)
        async with producer.settled():
            if producer.failed_sends:
                self.log.critical(
                    "%d output records failed to send; exiting without committing "
                    "so that their events are read again",
                    producer.failed_sends,
                )
                exit_now(EXIT_SENDS_FAILED)
            return await super()._commit_offsets(offsets, start_new_transaction)

    async def _commit_tps(self, tps: Any, start_new_transaction: bool) -> bool:
        committed = await super()._commit_tps(tps, start_new_transaction)
        if self._reread_due and not self.app.rebalancing:
            await self._read_skipped_again()
        return committed


class FlowControl(FlowControlEvent):
    """Faust's flow control of the agents' queues (`app.App.flow_control`), which
    tells the worker's consumer what it throws away (`Consumer.dropped_unprocessed`).

    Faust empties those queues whenever it resumes them, also at the end of a
    rebalance, after the seek, though they were resumed while the tables
    recovered: a record fetched between the seek and that resume is dropped
    unprocessed with Faust's read offset past it. Seen in the changelog restart
    test (1 run in 40; 2 in 16 beside a busy core): the last line of its
    partition was never answered, with no later record there to start a re-read.
    """

    def __init__(self, app: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.app = app

    def clear(self) -> None:
        consumer = self.app.consumer
        if isinstance(consumer, Consumer):
            consumer.dropped_unprocessed(
                item.message
                for queue in self._queues
                for item in queue._queue  # type: ignore[attr-defined]
                if hasattr(item, "message")
            )
        super().clear()


class Transport(driver.Transport):
    Consumer = Consumer
    Producer = Producer


class TansuConsumerThread(ConsumerThread):
    """Changelog end offsets corrected by a fetch (`compat.fetched_highwaters`)."""

    async def _highwaters(self, partitions: list[TP]) -> Mapping[TP, int]:
        reported: dict[TP, int] = dict(await super()._highwaters(partitions))
        probe = {
            TopicPartition(tp.topic, tp.partition): tp
            for tp, end in reported.items()
            if end and end > 0
        }
        if not probe:
            return reported
        client = self._create_client_consumer(cast(driver.Transport, self.transport))
        return await compat.fetched_highwaters(client, reported, probe)


class TansuConsumer(Consumer):
    """A jump in an input partition's offsets is fetched again before it is believed
    (`compat.OffsetJumps`)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.jumps: compat.OffsetJumps[TP] = compat.OffsetJumps()

    def _new_consumer_thread(self) -> ConsumerThread:
        return TansuConsumerThread(self, loop=self.loop, beacon=self.beacon)

    async def _past_a_jump(self, tp: TP, offset: int) -> bool:
        """True for a record to drop: the first past a jump, or one handed out before
        the partition was sought back to the jump (it comes again)."""
        if self.jumps.held_back(tp, offset):
            return True
        last = self._read_offset.get(tp)  # Faust's: the last record handed to the agents
        start = self.jumps.refetch_from(tp, offset, None if last is None else last + 1)
        if start is None:
            return False
        await self.seek(tp, start)
        self._read_offset[tp] = last  # the seek set it to `start`, which Faust would skip
        return True

    async def perform_seek(self) -> None:
        self.jumps.clear()
        await super().perform_seek()

    async def on_partitions_revoked(self, revoked: set[TP]) -> None:
        for tp in revoked:
            self.jumps.forget(tp)
        await super().on_partitions_revoked(revoked)

    async def _read_skipped_again(self) -> None:
        for tp in self._reread_due:
            self.jumps.forget(tp)
        await super()._read_skipped_again()


class TansuTransport(Transport):
    Consumer = TansuConsumer


def urls(bootstrap_servers: list[str], mode: compat.Mode) -> list[str]:
    """Faust broker URLs for the transport of `mode`."""
    scheme = TANSU_SCHEME if mode == "tansu" else SCHEME
    return [f"{scheme}://{server}" for server in bootstrap_servers]


def register() -> None:
    TRANSPORTS.aliases.setdefault(SCHEME, f"{__name__}:Transport")
    TRANSPORTS.aliases.setdefault(TANSU_SCHEME, f"{__name__}:TansuTransport")
