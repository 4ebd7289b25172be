"""What one record on the lines topic holds: the lines to answer and what to dead-letter.

A record may be our JSON event, or an X12 interchange with many service lines, an HL7 DFT
message, a FHIR Bundle, JSON Lines, Confluent-framed JSON or a CloudEvent around any of
them (streams.adapters reads them; the `content-type` or `ce_type` header first, else the
first bytes). Each line becomes our JSON event, forwarded to the patient topic as a JSON
event always was, so the rest of the pipeline does not change. Each part that cannot be
mapped is a dead letter with the whole record's bytes, the format and where it broke: a
partly bad interchange answers its good lines and dead-letters the bad ones. Event ids
derive from the record's bytes, so a redelivered record gives the same ids, hence the
same verdict ids. Everything the record sends carries `j9262-input-format`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from streams.adapters import Format, Options, adapt
from streams.adapters.hl7v2 import ProfileError
from streams.adapters.settle import options_from, settle
from streams.contract.decoding import Headers, Rejection, decode, trace_headers
from streams.contract.models import ClaimLineEvent
from streams.settings import Settings

log = logging.getLogger(__name__)

INPUT_FORMAT_HEADER = "j9262-input-format"
"""On every verdict and dead letter: the content format its record came in
(`claim-line-event`, `x12-837p`, `x12-837i`, `hl7v2-dft`, `fhir-r4`, ...)."""

_OUR_JSON = (Format.CLAIM_LINE_EVENT, Format.UNKNOWN)
_CONFLUENT_HEAD = 5
"""Magic byte and schema id: a record no longer than that frames nothing."""


@dataclass(frozen=True, slots=True)
class Taken:
    """One record's lines, as (patient id, event JSON) to forward, and its dead letters."""

    format: str
    headers: Headers
    """The record's trace headers and the format header, for everything it sends."""
    events: list[tuple[str, bytes]] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    reversals: int = 0
    """HL7 credits: each withdrew its charge in the record, or reverses an earlier one."""


def options_of(settings: Settings) -> Options:
    """Adapter options from J9262_PATIENT_KEY and J9262_HL7_PROFILE (ProfileError if bad)."""
    return options_from(settings)


def profile_error(settings: Settings) -> str | None:
    """Why the worker cannot start with its HL7 profile, if it cannot."""
    try:
        options_of(settings)
    except ProfileError as exc:
        return f"J9262_HL7_PROFILE: {exc}"
    return None


class Intake:
    """Reads records for the validate-lines agent with one deployment's options."""

    def __init__(self, settings: Settings) -> None:
        self.options = options_of(settings)
        self.max_bytes = settings.max_message_bytes
        self.traced = settings.trace_header_names | {INPUT_FORMAT_HEADER}

    def take(self, message: Any, decoded: Any = None) -> Taken:
        """The record's lines and dead letters; `decoded` is what the topic's codec made of
        it (a ClaimLineEvent or a Rejection), if anything."""
        value: bytes | None = message.value
        carried = [
            (k, v)
            for k, v in trace_headers(message.headers, self.traced)
            if k.lower() != INPUT_FORMAT_HEADER
        ]

        def taken(fmt: str, **kw: Any) -> Taken:
            return Taken(fmt, [*carried, (INPUT_FORMAT_HEADER, fmt.encode())], **kw)

        if isinstance(decoded, ClaimLineEvent):  # our own event: the path it always took
            return taken(Format.CLAIM_LINE_EVENT.value, events=[_forward(decoded, value)])
        if value is None or len(value) > self.max_bytes:
            return taken(Format.UNKNOWN.value, rejections=[_decoded(decoded, value, self)])
        adapted = adapt(value, _header_map(message.headers), options=self.options)
        if (not adapted.framing or len(value) <= _CONFLUENT_HEAD) and (
            adapted.format in _OUR_JSON
            or (adapted.format is Format.JSON_LINES and not adapted.events)
        ):
            # Not another format: the rejection says what it always said of a bad event.
            first = _decoded(decoded, value, self)
            if isinstance(first, ClaimLineEvent):
                return taken(adapted.format.value, events=[_forward(first, value)])
            return taken(adapted.format.value, rejections=[first])
        settled = settle(adapted)
        if settled.credits:
            log.info(
                "%s:%s@%s: %d credit(s) reverse a charge of an earlier record; its verdict stands",
                message.topic,
                message.partition,
                message.offset,
                len(settled.credits),
            )
        return taken(
            settled.format.value,
            events=[(e["claim"]["patient"]["patient_id"], orjson.dumps(e)) for e in settled.events],
            rejections=list(settled.rejections),
            reversals=len(settled.withdrawn) + len(settled.credits),
        )


def _decoded(decoded: Any, value: bytes | None, intake: Intake) -> Any:
    if isinstance(decoded, ClaimLineEvent | Rejection):
        return decoded
    return decode(value, intake.max_bytes)


def _forward(event: ClaimLineEvent, value: bytes | None) -> tuple[str, bytes]:
    """Our JSON event goes on as the bytes it came in."""
    return event.claim.patient.patient_id, value or b""


def _header_map(headers: Any) -> Mapping[str, bytes]:
    pairs = headers.items() if isinstance(headers, Mapping) else headers or ()
    return {str(k): bytes(v) for k, v in pairs if v is not None}
