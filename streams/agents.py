"""The validation agent: every record on the lines topic ends as one verdict or one dead letter."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any, cast

import faust

from streams import refdata
from streams.decoding import Rejection, dead_letter, decode, source_of
from streams.events import ClaimLineEvent, DeadLetterReason
from streams.settings import Settings
from streams.topics import Topics
from streams.verdicts import Validator

log = logging.getLogger(__name__)


def attach(app: faust.App, topics: Topics, settings: Settings) -> None:
    validator = Validator(refdata.load(settings.refdata_dir))

    def reject(message: Any, rejection: Rejection) -> None:
        source = source_of(message.topic, message.partition, message.offset, message.key)
        letter = dead_letter(rejection, message.value, source)
        topics.dead_letters.send_soon(key=message.key, value=letter.model_dump_json().encode())
        log.info(
            "dead-lettered %s:%s@%s reason=%s event_id=%s",
            message.topic,
            message.partition,
            message.offset,
            rejection.reason.value,
            rejection.event_id,
        )

    def handle(event: faust.EventT[Any]) -> None:
        message = event.message
        value = event.value
        if not isinstance(value, ClaimLineEvent | Rejection):
            value = decode(message.value, settings.max_message_bytes)
        if isinstance(value, Rejection):
            reject(message, value)
            return
        try:
            verdict = validator.validate(value)
        except Exception as exc:
            log.exception("rule evaluation failed for event_id=%s", value.event_id)
            reject(
                message,
                Rejection(
                    DeadLetterReason.INTERNAL_ERROR,
                    f"validation raised {type(exc).__name__}; see worker log for event_id "
                    f"{value.event_id}",
                    event_id=value.event_id,
                ),
            )
            return
        topics.verdicts.send_soon(
            key=verdict.claim_id.encode(), value=verdict.model_dump_json().encode()
        )

    @app.agent(topics.lines, name="validate-lines")
    async def validate_lines(stream: faust.StreamT[Any]) -> AsyncIterator[None]:
        batches = cast("faust.Stream[Any]", stream).take_events
        async for batch in batches(settings.batch_size, within=settings.batch_linger_s):
            for event in batch:
                handle(event)
            yield None
