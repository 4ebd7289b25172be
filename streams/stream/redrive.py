"""Send dead letters back to the lines topic once their cause is fixed.

A dead letter keeps the record's original bytes and key, so a line that failed
inside the validator (`internal_error`: a rule raised, stored state did not
parse) can be validated again after the fix ships, and a batch a producer sent
malformed can be sent again after the producer is repaired upstream. Bad input
sent back unchanged only dead-letters again, so the default is
`internal_error` alone.

Each run continues where the last one stopped: the offsets of the letters
handled are committed for a consumer group of its own (`<app_id>-redrive`), after
every record it sent back is acknowledged. A crash in between sends some letters
twice, which the worker's deterministic verdict_id makes harmless. Offsets are
committed with the partitions assigned by hand, so a run does not wait for a
group to form.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.structs import OffsetAndMetadata
from pydantic import ValidationError

from streams.contract.decoding import trace_headers
from streams.contract.models import DeadLetter, DeadLetterReason
from streams.settings import Settings
from streams.stream.kafka.clients import (
    Fetch,
    fetch_for,
    partitions_for,
    producer_for,
    reader_for,
)

HEADER = "j9262-redriven-from"
DEFAULT_REASONS = frozenset({DeadLetterReason.INTERNAL_ERROR})


@dataclass(frozen=True, slots=True)
class Resend:
    key: bytes | None
    value: bytes


@dataclass
class Summary:
    sent: Counter[str] = field(default_factory=Counter)
    """Letters sent back (or that would be, on a dry run), by reason."""
    skipped: Counter[str] = field(default_factory=Counter)
    """Letters left where they are, by why: another reason, no payload, unreadable."""


def resend_of(letter: DeadLetter, reasons: Collection[DeadLetterReason]) -> Resend | str:
    """The record to send back, or why this letter stays."""
    if letter.reason not in reasons:
        return f"reason {letter.reason.value}"
    source = letter.source
    try:
        value = base64.b64decode(letter.payload_base64, validate=True)
        if source.key_base64 is not None:
            key: bytes | None = base64.b64decode(source.key_base64, validate=True)
        else:
            key = None if source.key is None else source.key.encode()
    except binascii.Error:
        return "not base64"
    if not value:
        return "empty payload"
    return Resend(key, value)


def _letter(raw: bytes | None) -> DeadLetter | None:
    try:
        return DeadLetter.model_validate_json(raw or b"")
    except ValidationError:
        return None


def written_after(letter: DeadLetter, began: datetime) -> bool:
    """Whether the letter was written after `began`; a time without a zone is UTC."""
    received = letter.received_at
    return (received if received.tzinfo else received.replace(tzinfo=UTC)) > began


async def redrive(
    settings: Settings,
    reasons: Collection[DeadLetterReason] = DEFAULT_REASONS,
    *,
    dry_run: bool = False,
    from_beginning: bool = False,
    idle_exit: float = 5.0,
) -> Summary:
    """Read the dead-letter topic from where the last run stopped until it has been
    quiet `idle_exit` seconds or holds only letters written since the run began;
    send back the letters with one of `reasons`."""
    consumer = reader_for(settings, group_id=f"{settings.app_id}-redrive")
    producer = producer_for(settings)
    summary = Summary()
    await consumer.start()
    try:
        await producer.start()
        try:
            partitions = [
                TopicPartition(settings.topic_dead_letters, p)
                for p in sorted(await partitions_for(consumer, settings.topic_dead_letters))
            ]
            consumer.assign(partitions)
            if from_beginning:
                await consumer.seek_to_beginning(*partitions)
            fetch = await fetch_for(settings, consumer)
            await fetch.begin(partitions)
            await _drain(
                consumer,
                producer,
                settings=settings,
                reasons=reasons,
                dry_run=dry_run,
                idle_exit=idle_exit,
                fetch=fetch,
                summary=summary,
            )
        finally:
            await producer.stop()
    finally:
        await consumer.stop()
    return summary


async def _drain(
    consumer: AIOKafkaConsumer,
    producer: AIOKafkaProducer,
    *,
    settings: Settings,
    reasons: Collection[DeadLetterReason],
    dry_run: bool,
    idle_exit: float,
    fetch: Fetch,
    summary: Summary,
) -> None:
    """Letters written after the run began stay for the next run: a line that fails
    again while this one runs would otherwise go round until someone stops it."""
    began = datetime.now(UTC)
    traced = settings.trace_header_names
    loop = asyncio.get_running_loop()
    last = loop.time()
    while loop.time() - last <= idle_exit and consumer.assignment() - consumer.paused():
        batches = await fetch(1000)
        if batches:
            last = loop.time()
        sends: list[asyncio.Future[Any]] = []
        done: dict[TopicPartition, OffsetAndMetadata] = {}
        for tp, messages in batches.items():
            for m in messages:
                letter = _letter(m.value)
                if letter is not None and written_after(letter, began):
                    consumer.seek(tp, m.offset)
                    consumer.pause(tp)
                    break
                outcome = "unreadable" if letter is None else resend_of(letter, reasons)
                if isinstance(outcome, str):
                    summary.skipped[outcome] += 1
                else:
                    assert letter is not None
                    summary.sent[letter.reason.value] += 1
                    if not dry_run:
                        origin = f"{tp.topic}/{tp.partition}/{m.offset}".encode()
                        sends.append(
                            await producer.send(
                                settings.topic_lines,
                                value=outcome.value,
                                key=outcome.key,
                                headers=[(HEADER, origin), *trace_headers(m.headers, traced)],
                            )
                        )
                done[tp] = OffsetAndMetadata(m.offset + 1, "")
        if sends:
            await asyncio.gather(*sends)
        if done and not dry_run:
            await consumer.commit(done)
