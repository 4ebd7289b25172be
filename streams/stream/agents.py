"""The agents: every record on the lines topic ends as one verdict or one dead letter.

- `validate-lines` decodes, dead-letters what it cannot read, answers a line
  that already sits on its patient's partition (input keyed by patient id:
  one hop), and forwards every other line, keyed by patient_id, to
- `patient-lines`, which answers it.

Answering validates the line (J9262-family lines against the patient's history
table), sends its verdict, and adds it to its claim in the claims table,
emitting a ClaimVerdict when the claim is complete. A claim's lines share a
patient, so its state lives on the patient's partition and needs no hop of its
own.
- `claim-deadlines` emits the ClaimVerdicts whose wait ran out, and forgets
  claims past their retention: a timer sends it a tick on the claim's
  partition, since tables change only inside an agent handling that partition.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple, cast

import faust
from faust.types import TP

from streams.contract.cloudevents import DEAD_LETTER, LINE_VERDICT, cloudevent_headers
from streams.contract.decoding import (
    Headers,
    Rejection,
    dead_letter,
    decode,
    source_of,
    trace_headers,
)
from streams.contract.models import ClaimLineEvent, LineVerdict
from streams.ops import heap
from streams.ops.logs import withheld
from streams.ops.metrics import CommitWatch, Metrics, held_header, processing_seconds
from streams.settings import Settings
from streams.stream.batches import take_batches
from streams.stream.intake import Intake
from streams.stream.kafka.batched_producer import Outbox
from streams.stream.kafka.partitions import HomePartition
from streams.stream.kafka.transport import Consumer, Producer
from streams.stream.tables import ModelTable, Tables, writing_for
from streams.stream.topics import Topics
from streams.validation.answer import ClaimMessage, add_to_claim, answer_line
from streams.validation.rollup import ClaimClock, ClaimState
from streams.validation.validator import Validator

log = logging.getLogger(__name__)

SOURCE_HEADERS = ("j9262-source-topic", "j9262-source-partition", "j9262-source-offset")
SOURCE_KEY_HEADER = "j9262-source-key"
"""The input record's key, as received (raw bytes); absent when it had none."""


def _batches(stream: faust.StreamT[Any], settings: Settings) -> Any:
    return take_batches(stream, settings.batch_size, settings.batch_linger_s)


def _header_pairs(message: Any) -> Iterable[tuple[str, Any]]:
    headers = message.headers
    return headers.items() if isinstance(headers, Mapping) else headers or ()


def _source_headers(message: Any) -> list[tuple[str, bytes]]:
    """Where the input record arrived, and its key, for the record forwarded from it."""
    values = (message.topic, message.partition, message.offset)
    headers = [(k, str(v).encode()) for k, v in zip(SOURCE_HEADERS, values, strict=True)]
    if message.key is not None:
        headers.append((SOURCE_KEY_HEADER, bytes(message.key)))
    return headers


class Source(NamedTuple):
    """The input record a (possibly forwarded) record stands for."""

    topic: str
    partition: int | None
    offset: int | None
    key: bytes | None


def _original_source(message: Any) -> Source:
    """Where a forwarded record first arrived, and the input key, so dead letters point
    at the input and are keyed like it (docs/contract.md)."""
    headers = dict(_header_pairs(message))
    if SOURCE_HEADERS[0] not in headers:
        return Source(message.topic, message.partition, message.offset, message.key)
    topic, partition, offset = (bytes(headers[h]).decode() for h in SOURCE_HEADERS)
    key = headers.get(SOURCE_KEY_HEADER)
    return Source(topic, int(partition), int(offset), None if key is None else bytes(key))


#: Claims the deadline index reads before letting the agents run again.
REBUILD_CHUNK = 1000


class DeadlineIndex:
    """When each local claim next needs a look: the end of its wait, or of its retention.

    In memory only; rebuilt from the claims table after every rebalance.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.due: dict[str, tuple[datetime, int | None]] = {}
        #: Claims with no ClaimVerdict yet: the `claims_pending` gauge.
        self.waiting: set[str] = set()
        self.stale = True

    def note(self, claim_id: str, clock: ClaimState | ClaimClock) -> None:
        if clock.verdict_at is None:
            at = clock.first_seen + timedelta(seconds=self.settings.claim_wait_s)
            self.waiting.add(claim_id)
        else:
            self.waiting.discard(claim_id)
            at = clock.verdict_at + timedelta(seconds=self.settings.claim_retention_s)
        self.due[claim_id] = (at, clock.partition)

    def forget(self, claim_id: str) -> None:
        self.due.pop(claim_id, None)
        self.waiting.discard(claim_id)

    async def rebuild(self, stored: ModelTable[ClaimState]) -> None:
        """Every stored claim's deadline, yielding to the agents between chunks: a
        worker may hold a week of claims."""
        self.stale = False
        self.due.clear()
        self.waiting.clear()
        for i, claim_id in enumerate(list(stored)):
            try:
                raw = stored.json(claim_id)
                clock = None if raw is None else ClaimClock.model_validate_json(raw)
            except ValueError as exc:  # the error's text would quote the stored claim
                log.error("a stored claim does not parse (%s): no deadline", type(exc).__name__)
                clock = None
            if clock is not None:
                self.note(claim_id, clock)
            if i % REBUILD_CHUNK == REBUILD_CHUNK - 1:
                await asyncio.sleep(0)

    def expired(
        self, now: datetime, active: Callable[[int | None], bool]
    ) -> list[tuple[str, int | None]]:
        """Claims due for a look, with the partition that holds each."""
        ready = [(cid, part) for cid, (at, part) in self.due.items() if at <= now and active(part)]
        retry = now + timedelta(seconds=self.settings.claim_check_interval_s * 4)
        for cid, part in ready:
            self.due[cid] = (retry, part)
        return ready


class Steps:
    """The agents' work, a method a step: `attach` wires them to the topics.

    Each step takes what it works on as arguments and sends with `send_soon`, so a
    test can run it with a Faust app that never starts: its sends wait in the app's
    producer buffer (tests/stream/test_agents.py).
    """

    def __init__(
        self,
        topics: Topics,
        tables: Tables,
        settings: Settings,
        *,
        validator: Validator,
        metrics: Metrics,
        home: HomePartition | None = None,
    ) -> None:
        self.topics = topics
        self.tables = tables
        self.settings = settings
        self.validator = validator
        self.metrics = metrics
        self.deadlines = DeadlineIndex(settings)
        self.home = home
        """Which input lines to answer here; None: forward them all (one_hop off)."""
        self.intake = Intake(settings)
        self.ce_source = f"/j9262-validator/{settings.app_id}"
        """CloudEvents `source` of what this deployment writes."""
        self.traced = self.intake.traced
        """The trace headers and j9262-input-format, copied onto what a line causes."""

    # validate-lines ------------------------------------------------------------------

    def take(self, message: Any, value: Any) -> None:
        """An input record: each of its lines answered here if it is on its patient's
        partition, else forwarded to it; what cannot be read dead-lettered. One record
        may hold many lines (an X12 interchange, a FHIR Bundle: streams.stream.intake);
        the topic's codec has decoded our own JSON."""
        taken = self.intake.take(message, value)
        for rejection in taken.rejections:
            self.reject(message, rejection, taken.headers)
        for patient_id, line in taken.events:
            if self.home is not None and self.home.holds(message.partition, patient_id):
                event = (
                    value
                    if isinstance(value, ClaimLineEvent)
                    else decode(line, self.intake.max_bytes)
                )
                if isinstance(event, ClaimLineEvent):
                    self.metrics.lines_local.inc()
                    self.answer_here(message, event, line, taken.headers)
                    continue
            self.metrics.lines_forwarded.inc()
            self.forward(message, patient_id, line, taken.headers)

    def answer_here(
        self, message: Any, event: ClaimLineEvent, line: bytes, headers: Headers
    ) -> None:
        """A line on its patient's partition, answered as `patient-lines` would answer
        it forwarded: same verdict headers, and a dead letter of the line's bytes."""
        claim_message = self.answer(message, event, headers=headers, payload=line)
        if claim_message is not None:
            self.roll_up(claim_message, message)

    def forward(self, message: Any, patient_id: str, line: bytes, headers: Headers) -> None:
        """A line's bytes keyed by patient: the patient's history and the line's claim
        live on that partition. The headers say where it came from, its input format and
        its trace."""
        self.topics.patient_lines.send_soon(
            key=patient_id,
            value=line,
            headers=[*_source_headers(message), held_header(message), *headers],
        )

    def reject(
        self,
        message: Any,
        rejection: Rejection,
        headers: Headers | None = None,
        payload: bytes | None = None,
    ) -> None:
        """A dead letter for the input record `message` stands for, keyed by its key;
        its payload the record's bytes, or `payload` (a line answered in place)."""
        source = _original_source(message)
        letter = dead_letter(
            rejection,
            message.value if payload is None else payload,
            source_of(source.topic, source.partition, source.offset, source.key),
        )
        carried = trace_headers(message.headers, self.traced) if headers is None else headers
        position = f"{source.topic}/{source.partition}/{source.offset}"
        letter_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{position}#{rejection.detail}"))
        self.topics.dead_letters.send_soon(
            key=source.key,
            value=letter.model_dump_json().encode(),
            headers=[
                *carried,
                *cloudevent_headers(DEAD_LETTER, letter_id, self.ce_source, letter.received_at),
            ],
        )
        self.metrics.dead_letters.labels(rejection.reason.value).inc()
        log.info(
            "dead-lettered %s:%s@%s reason=%s event_id=%s",
            source.topic,
            source.partition,
            source.offset,
            rejection.reason.value,
            rejection.event_id,
        )

    # patient-lines -------------------------------------------------------------------

    def answer(
        self,
        message: Any,
        event: ClaimLineEvent,
        *,
        headers: Headers | None = None,
        payload: bytes | None = None,
    ) -> ClaimMessage | None:
        """Send the line's verdict, or dead-letter it if validation raised; what its
        claim needs, or None if it was dead-lettered. `headers`: those to carry, when
        `message` is the input record rather than a forwarded line."""
        started = time.perf_counter()
        answer = answer_line(
            self.validator,
            event,
            self.tables.histories,
            self.settings.duplicate_window_days,
            on_error=_rule_failed,
        )
        elapsed = time.perf_counter() - started
        if isinstance(answer, Rejection):
            self.reject(message, answer, headers, payload)
            return None
        return self.send_verdict(message, event, answer, elapsed, headers)

    def send_verdict(
        self,
        message: Any,
        event: ClaimLineEvent,
        verdict: LineVerdict,
        elapsed: float,
        headers: Headers | None = None,
    ) -> ClaimMessage:
        text = verdict.model_dump_json()
        carried = trace_headers(message.headers, self.traced) if headers is None else headers
        self.topics.verdicts.send_soon(
            key=event.claim.claim_id.encode(),
            value=text.encode(),
            headers=[
                *carried,
                *cloudevent_headers(
                    LINE_VERDICT,
                    verdict.verdict_id,
                    self.ce_source,
                    verdict.validated_at,
                    subject=event.claim.claim_id,
                ),
            ],
        )
        self.metrics.line_verdict(event, verdict, elapsed, processing_seconds(message))
        if log.isEnabledFor(logging.DEBUG):
            log.debug(
                "event_id=%s verdict_id=%s disposition=%s findings=%d",
                event.event_id,
                verdict.verdict_id,
                verdict.disposition.value,
                len(verdict.findings),
            )
        return ClaimMessage.for_line(event, verdict, text)

    def handle_line(self, message: Any, value: Any) -> None:
        """A forwarded record: its answer, then its claim's roll-up."""
        if isinstance(value, Rejection):  # it parsed upstream; kept for safety
            self.reject(message, value)
            return
        claim_message = self.answer(message, value)
        if claim_message is not None:
            self.roll_up(claim_message, message)

    # the claims ----------------------------------------------------------------------

    def roll_up(self, message: ClaimMessage, source: Any) -> None:
        """Add a line (or a deadline tick) to its claim; a failure costs the claim its
        roll-up, never the line its verdict, and is logged without its text."""
        try:
            self._roll_up(message, source.partition)
        except Exception as exc:
            log.error(
                "claim roll-up failed at %s:%s@%s; the line verdicts stand: %s",
                source.topic,
                source.partition,
                source.offset,
                withheld(exc),
            )

    def _roll_up(self, message: ClaimMessage, partition: int) -> None:
        now = datetime.now(UTC)
        claims = self.tables.claims
        if message.kind == "deadline":
            state = claims.get(message.claim_id)
            retention = timedelta(seconds=self.settings.claim_retention_s)
            if state is not None and state.verdict_at and now - state.verdict_at >= retention:
                del claims[message.claim_id]
                self.deadlines.forget(message.claim_id)
                return
        update = add_to_claim(
            self.validator, claims, message, now, self.settings.claim_wait_s, partition=partition
        )
        state, verdict = update.state, update.verdict
        if verdict is not None:
            self.topics.claim_verdicts.send_soon(
                key=message.claim_id.encode(), value=verdict.json.encode()
            )
            self.metrics.claim_verdict(verdict)
        if state is not None:
            self.deadlines.note(message.claim_id, state)

    async def due_ticks(self, actives: set[TP], now: datetime) -> list[tuple[str, int | None]]:
        """The claims whose wait or retention ran out on the partitions this worker
        holds (`actives`), with the partition of each: where its tick goes. The index
        is rebuilt first if a rebalance made it stale."""
        name = self.topics.claim_lines.get_topic_name()

        def active(partition: int | None) -> bool:
            return partition is not None and TP(name, partition) in actives

        if self.deadlines.stale:
            await self.deadlines.rebuild(self.tables.claims)
        return self.deadlines.expired(now, active)


def taken(sent: asyncio.Future[Any]) -> None:
    """Takes a deadline tick's outcome, which nothing awaits. A failed tick is counted
    by the producer (the worker then stops before its next commit) and logged by Faust;
    untaken, asyncio also reported each one with a traceback when it was dropped: a
    30-minute broker outage left about 5,800 such reports in one worker's log."""
    if not sent.cancelled():
        sent.exception()


def _rule_failed(event: ClaimLineEvent, exc: Exception) -> None:
    log.error("rule evaluation failed for event_id=%s: %s", event.event_id, withheld(exc))


@dataclass
class Gauges:
    """The sampled gauges: lag and uncommitted records per assigned input partition,
    table sizes, claims waiting. (Readiness is read at each scrape:
    `streams.stream.web.readiness`.)"""

    metrics: Metrics
    tables: Tables
    deadlines: DeadlineIndex
    inputs: frozenset[str]
    commits: CommitWatch
    counted: dict[tuple[str, str], int] = field(default_factory=dict)
    """Each table's reads and writes already added to `table_reads` and
    `table_writes`, by table and kind."""

    def begin(self, actives: Iterable[TP]) -> set[TP]:
        """Clears the per-partition gauges; the assigned input partitions to sample."""
        for gauge in (
            self.metrics.consumer_lag,
            self.metrics.uncommitted,
            self.metrics.commit_age,
        ):
            gauge.clear()
        watched = {tp for tp in actives if tp.topic in self.inputs}
        self.commits.keep_only(watched)
        return watched

    def partition(
        self, tp: TP, position: int, highwater: int | None, committed: int | None, now: float
    ) -> None:
        labels = (tp.topic, str(tp.partition))
        if highwater is not None:
            self.metrics.consumer_lag.labels(*labels).set(max(highwater - position, 0))
        uncommitted, stalled = self.commits.observe(tp, committed, position, now)
        self.metrics.uncommitted.labels(*labels).set(uncommitted)
        self.metrics.commit_age.labels(*labels).set(stalled)

    def sizes(self) -> None:
        for name, table in (
            ("patient-history", self.tables.histories),
            ("claims", self.tables.claims),
        ):
            self.metrics.table_keys.labels(name).set(len(table))
            for counter, kind, total in (
                (self.metrics.table_reads, "cached", table.cached_reads),
                (self.metrics.table_reads, "batch", table.batch_reads),
                (self.metrics.table_reads, "parsed", table.parsed_reads),
                (self.metrics.table_writes, "written", table.writes),
                (self.metrics.table_writes, "saved", table.writes_saved),
            ):
                seen = self.counted.get((name, kind), 0)
                counter.labels(name, kind).inc(total - seen)
                self.counted[(name, kind)] = total
        self.metrics.claims_pending.set(len(self.deadlines.waiting))


class Agents(NamedTuple):
    """What `attach` added to the app: the steps, and the agents that run them."""

    steps: Steps
    gauges: Gauges
    validate_lines: faust.types.AgentT[Any]
    patient_lines: faust.types.AgentT[Any]
    claim_deadlines: faust.types.AgentT[Any]


def attach(
    app: faust.App,
    topics: Topics,
    tables: Tables,
    settings: Settings,
    *,
    validator: Validator,
    metrics: Metrics,
) -> Agents:
    """The agents and timers, each a loop over `Steps`."""
    lines_topic = topics.lines.get_topic_name()

    async def input_partitions() -> int | None:
        """From the producer's cluster metadata, which every worker has; the
        consumer's (Faust's `topic_partitions`) is kept by the group leader only."""
        producer = app.producer
        if not isinstance(producer, Producer):
            return None
        return len(await producer.kafka_producer().partitions_for(lines_topic))

    home = HomePartition(settings.topic_partitions, input_partitions) if settings.one_hop else None
    steps = Steps(topics, tables, settings, validator=validator, metrics=metrics, home=home)
    deadlines = steps.deadlines
    outbox: Outbox | None = getattr(app, "outbox", None)

    async def ebb() -> None:
        if outbox is not None and outbox.full:
            await outbox.ebb()

    def each_record(batch: list[Any], step: Callable[[Any, Any], None]) -> None:
        """`step` on each record of a batch, each state written once, at the batch's end.
        Faust writes a table's changelog to the partition of the event being handled,
        which `writing_for` names for each record (a batch has no current event)."""
        with tables.batched():
            for record in batch:
                with writing_for(record):
                    step(record.message, record.value)

    @app.agent(topics.lines, name="validate-lines")
    async def validate_lines(stream: faust.StreamT[Any]) -> AsyncIterator[None]:
        batch_records = metrics.batch_records.labels("validate-lines")
        async for batch in _batches(stream, settings):
            metrics.events_consumed.inc(len(batch))
            batch_records.observe(len(batch))
            if steps.home is not None and not steps.home.asked:
                await steps.home.learn()
            each_record(batch, steps.take)
            await ebb()
            yield None

    @app.agent(topics.patient_lines, name="patient-lines")
    async def patient_lines(stream: faust.StreamT[Any]) -> AsyncIterator[None]:
        batch_records = metrics.batch_records.labels("patient-lines")
        async for batch in _batches(stream, settings):
            batch_records.observe(len(batch))
            each_record(batch, steps.handle_line)
            await ebb()
            yield None

    # Deadline ticks are few: one event at a time.

    @app.agent(topics.claim_lines, name="claim-deadlines")
    async def expire_claims(stream: faust.StreamT[Any]) -> AsyncIterator[None]:
        async for record in stream.events():
            steps.roll_up(record.value, record.message)
            yield None

    def _index_is_stale(sender: Any, /, *_: Any, signal: Any, **__: Any) -> None:
        deadlines.stale = True
        if steps.home is not None:
            steps.home.forget()

    app.on_rebalance_complete.connect(_index_is_stale)

    @app.task  # type: ignore[untyped-decorator]
    async def settle_heap_once_recovered() -> None:
        """Faust's services and the recovered tables join the frozen heap, once."""
        await app.tables.recovery.completed.wait()  # type: ignore[attr-defined]
        frozen = heap.settle()
        log.info("heap settled once tables were recovered: %d objects frozen", frozen)

    @app.timer(interval=settings.claim_check_interval_s, on_leader=False)  # type: ignore[untyped-decorator]
    async def send_deadline_ticks() -> None:
        if app.rebalancing or not app.tables.recovery.completed.is_set():  # type: ignore[attr-defined]
            return
        actives = app.assignor.assigned_actives()
        for claim_id, partition in await steps.due_ticks(actives, datetime.now(UTC)):
            sent = await topics.claim_lines.send(
                key=claim_id,
                value=ClaimMessage(kind="deadline", claim_id=claim_id),
                partition=partition,
            )
            asyncio.ensure_future(sent).add_done_callback(taken)

    gauges = Gauges(
        metrics,
        tables,
        deadlines,
        frozenset(
            t.get_topic_name() for t in (topics.lines, topics.patient_lines, topics.claim_lines)
        ),
        CommitWatch(),
    )

    @app.timer(interval=settings.metrics_interval_s, on_leader=False)  # type: ignore[untyped-decorator]
    async def sample_gauges() -> None:
        now = time.monotonic()
        for tp in gauges.begin(app.assignor.assigned_actives()):
            position = await app.consumer.position(tp)
            if position is None:
                continue
            committed = cast(Consumer, app.consumer).committed_offset(tp)
            gauges.partition(tp, position, app.consumer.highwater(tp), committed, now)
        gauges.sizes()

    return Agents(steps, gauges, validate_lines, patient_lines, expire_claims)
