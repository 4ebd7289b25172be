"""The agents: every record on the lines topic ends as one verdict or one dead letter.

- `validate-lines` (keyed by claim_id) decodes, dead-letters what it cannot
  read, and forwards every other line, keyed by patient_id, to
- `patient-lines`, which validates it (J9262-family lines against the
  patient's history table), sends its verdict, and adds it to its claim in the
  claims table, emitting a ClaimVerdict when the claim is complete. A claim's
  lines share a patient, so its state lives on the patient's partition and
  needs no hop of its own.
- `claim-deadlines` emits the ClaimVerdicts whose wait ran out, and forgets
  claims past their retention: a timer sends it a tick on the claim's
  partition, since tables change only inside an agent handling that partition.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable, Mapping
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, cast

import faust
from faust.types import TP

from streams.contract.decoding import Headers, Rejection, dead_letter, source_of, trace_headers
from streams.contract.models import ClaimLineEvent, DeadLetterReason, LineVerdict
from streams.ops.logs import withheld
from streams.ops.metrics import CommitWatch, Metrics, held_header, processing_seconds
from streams.settings import Settings
from streams.stream.intake import Intake
from streams.stream.kafka.batched_producer import Outbox
from streams.stream.kafka.transport import Consumer
from streams.stream.tables import Tables
from streams.stream.topics import Topics
from streams.validation.answer import ClaimMessage, add_to_claim, validate_for_patient
from streams.validation.rollup import ClaimClock, ClaimState
from streams.validation.validator import Validator

log = logging.getLogger(__name__)

SOURCE_HEADERS = ("j9262-source-topic", "j9262-source-partition", "j9262-source-offset")


def _batches(stream: faust.StreamT[Any], settings: Settings) -> Any:
    return cast("faust.Stream[Any]", stream).take_events(
        settings.batch_size, within=settings.batch_linger_s
    )


def _source_headers(message: Any) -> list[tuple[str, bytes]]:
    values = (message.topic, message.partition, message.offset)
    return [(k, str(v).encode()) for k, v in zip(SOURCE_HEADERS, values, strict=True)]


def _original_source(message: Any) -> tuple[str, int | None, int | None]:
    """Where a forwarded record first arrived, so dead letters point at the input."""
    headers = dict(message.headers or ())
    if SOURCE_HEADERS[0] not in headers:
        return message.topic, message.partition, message.offset
    topic, partition, offset = (headers[h].decode() for h in SOURCE_HEADERS)
    return topic, int(partition), int(offset)


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

    async def rebuild(self, stored: Mapping[str, bytes]) -> None:
        """Every stored claim's deadline, yielding to the agents between chunks: a
        worker may hold a week of claims."""
        self.stale = False
        self.due.clear()
        self.waiting.clear()
        for i, claim_id in enumerate(list(stored)):
            raw = stored.get(claim_id)
            try:
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


def attach(
    app: faust.App,
    topics: Topics,
    tables: Tables,
    settings: Settings,
    *,
    validator: Validator,
    metrics: Metrics,
) -> None:
    deadlines = DeadlineIndex(settings)
    commits = CommitWatch()
    outbox: Outbox | None = getattr(app, "outbox", None)
    intake = Intake(settings)  # issue 31: the formats hospitals send (streams.stream.intake)
    traced = intake.traced  # the trace headers and j9262-input-format

    def reject(message: Any, rejection: Rejection, headers: Headers | None = None) -> None:
        topic, partition, offset = _original_source(message)
        letter = dead_letter(
            rejection, message.value, source_of(topic, partition, offset, message.key)
        )
        topics.dead_letters.send_soon(
            key=message.key,
            value=letter.model_dump_json().encode(),
            headers=trace_headers(message.headers, traced) if headers is None else headers,
        )
        metrics.dead_letters.labels(rejection.reason.value).inc()
        log.info(
            "dead-lettered %s:%s@%s reason=%s event_id=%s",
            topic,
            partition,
            offset,
            rejection.reason.value,
            rejection.event_id,
        )

    def answer(
        message: Any, event: ClaimLineEvent, validate: Callable[[], LineVerdict]
    ) -> ClaimMessage | None:
        """Send the line's verdict; what its claim needs, or None if it was dead-lettered."""
        try:
            started = time.perf_counter()
            verdict = validate()
            elapsed = time.perf_counter() - started
        except Exception as exc:
            log.error("rule evaluation failed for event_id=%s: %s", event.event_id, withheld(exc))
            detail = (
                f"validation raised {type(exc).__name__}; see the worker log for "
                f"event_id {event.event_id}"
            )
            reject(
                message, Rejection(DeadLetterReason.INTERNAL_ERROR, detail, event_id=event.event_id)
            )
            return None
        text = verdict.model_dump_json()
        topics.verdicts.send_soon(
            key=event.claim.claim_id.encode(),
            value=text.encode(),
            headers=trace_headers(message.headers, traced),
        )
        metrics.line_verdict(event, verdict, elapsed, processing_seconds(message))
        if log.isEnabledFor(logging.DEBUG):
            log.debug(
                "event_id=%s verdict_id=%s disposition=%s findings=%d",
                event.event_id,
                verdict.verdict_id,
                verdict.disposition.value,
                len(verdict.findings),
            )
        return ClaimMessage.for_line(event, verdict, text)

    @app.agent(topics.lines, name="validate-lines")
    async def validate_lines(stream: faust.StreamT[Any]) -> AsyncIterator[None]:
        async for batch in _batches(stream, settings):
            metrics.events_consumed.inc(len(batch))
            for record in batch:
                # One record may hold many lines (an X12 interchange, a FHIR Bundle).
                message = record.message
                taken = intake.take(message, record.value)
                for rejection in taken.rejections:
                    reject(message, rejection, taken.headers)
                for patient_id, value in taken.events:
                    topics.patient_lines.send_soon(
                        key=patient_id,
                        value=value,
                        headers=[*_source_headers(message), held_header(message), *taken.headers],
                    )
            if outbox is not None and outbox.full:
                await outbox.ebb()
            yield None

    # The stateful agents take one event at a time: Faust writes a table's changelog
    # to the partition of the event being handled.
    @app.agent(topics.patient_lines, name="patient-lines")
    async def patient_lines(stream: faust.StreamT[Any]) -> AsyncIterator[None]:
        window = settings.duplicate_window_days
        async for record in stream.events():
            event = record.value
            if isinstance(event, Rejection):  # it parsed upstream; kept for safety
                reject(record.message, event)
                continue
            if validator.stateful(event):
                validate = partial(validate_for_patient, validator, event, tables.histories, window)
            else:
                validate = partial(validator.validate, event)
            claim_message = answer(record.message, event, validate)
            if claim_message is not None:
                safe_roll_up(claim_message, record.message)
            if outbox is not None and outbox.full:
                await outbox.ebb()
            yield None

    @app.agent(topics.claim_lines, name="claim-deadlines")
    async def expire_claims(stream: faust.StreamT[Any]) -> AsyncIterator[None]:
        async for record in stream.events():
            safe_roll_up(record.value, record.message)
            yield None

    def safe_roll_up(message: ClaimMessage, source: Any) -> None:
        try:
            roll_up(message, source.partition)
        except Exception as exc:
            log.error(
                "claim roll-up failed at %s:%s@%s; the line verdicts stand: %s",
                source.topic,
                source.partition,
                source.offset,
                withheld(exc),
            )

    def roll_up(message: ClaimMessage, partition: int) -> None:
        now = datetime.now(UTC)
        if message.kind == "deadline":
            state = tables.claims.get(message.claim_id)
            retention = timedelta(seconds=settings.claim_retention_s)
            if state is not None and state.verdict_at and now - state.verdict_at >= retention:
                del tables.claims[message.claim_id]
                deadlines.forget(message.claim_id)
                return
        update = add_to_claim(
            validator, tables.claims, message, now, settings.claim_wait_s, partition=partition
        )
        state, verdict, text = update.state, update.verdict, update.verdict_json
        if verdict is not None and text is not None:
            topics.claim_verdicts.send_soon(key=message.claim_id.encode(), value=text.encode())
            metrics.claim_verdict(verdict)
        if state is not None:
            deadlines.note(message.claim_id, state)

    def _index_is_stale(sender: Any, /, *_: Any, signal: Any, **__: Any) -> None:
        deadlines.stale = True

    app.on_rebalance_complete.connect(_index_is_stale)

    @app.timer(interval=settings.claim_check_interval_s, on_leader=False)  # type: ignore[untyped-decorator]
    async def send_deadline_ticks() -> None:
        if app.rebalancing or not app.tables.recovery.completed.is_set():  # type: ignore[attr-defined]
            return
        actives = app.assignor.assigned_actives()

        def active(partition: int | None) -> bool:
            return (
                partition is not None
                and TP(topics.claim_lines.get_topic_name(), partition) in actives
            )

        if deadlines.stale:
            await deadlines.rebuild(tables.claims.table)
        for claim_id, partition in deadlines.expired(datetime.now(UTC), active):
            await topics.claim_lines.send(
                key=claim_id,
                value=ClaimMessage(kind="deadline", claim_id=claim_id),
                partition=partition,
            )

    @app.timer(interval=settings.metrics_interval_s, on_leader=False)  # type: ignore[untyped-decorator]
    async def sample_gauges() -> None:
        """Lag and uncommitted records per assigned input partition, table sizes.
        (Readiness is read at each scrape: `streams.stream.web.readiness`.)"""
        actives = app.assignor.assigned_actives()
        inputs = {
            topics.lines.get_topic_name(),
            topics.patient_lines.get_topic_name(),
            topics.claim_lines.get_topic_name(),
        }
        for gauge in (metrics.consumer_lag, metrics.uncommitted, metrics.commit_age):
            gauge.clear()
        watched = {tp for tp in actives if tp.topic in inputs}
        commits.keep_only(watched)
        now = time.monotonic()
        for tp in watched:
            labels = (tp.topic, str(tp.partition))
            position = await app.consumer.position(tp)
            if position is None:
                continue
            highwater = app.consumer.highwater(tp)
            if highwater is not None:
                metrics.consumer_lag.labels(*labels).set(max(highwater - position, 0))
            committed = cast(Consumer, app.consumer).committed_offset(tp)
            uncommitted, stalled = commits.observe(tp, committed, position, now)
            metrics.uncommitted.labels(*labels).set(uncommitted)
            metrics.commit_age.labels(*labels).set(stalled)
        metrics.table_keys.labels("patient-history").set(len(tables.histories))
        metrics.table_keys.labels("claims").set(len(tables.claims))
        metrics.claims_pending.set(len(deadlines.waiting))
