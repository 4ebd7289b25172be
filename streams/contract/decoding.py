"""Turn raw record bytes into a ClaimLineEvent or a reasoned rejection.

`decode` never raises: every record ends as an event or a `Rejection`, which
`dead_letter` turns into the DeadLetter that carries the original bytes.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
from pydantic import ValidationError

from streams.contract.models import (
    ClaimLineEvent,
    DeadLetter,
    DeadLetterReason,
    RecordSource,
    ValidationIssue,
)

MAX_ERRORS = 20


@dataclass(frozen=True, slots=True)
class Rejection:
    reason: DeadLetterReason
    detail: str
    errors: list[ValidationIssue] = field(default_factory=list)
    event_id: str | None = None


def _event_id_of(raw: bytes) -> str | None:
    """Best-effort event_id of a rejected record, so producers can match it."""
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    value = doc.get("event_id") if isinstance(doc, dict) else None
    return value[:128] if isinstance(value, str) else None


def _loc(parts: tuple[int | str, ...]) -> str:
    return ".".join(str(p) for p in parts) or "(root)"


def decode(raw: bytes | None, max_bytes: int) -> ClaimLineEvent | Rejection:
    if raw is None:
        return Rejection(DeadLetterReason.INVALID_JSON, "record has no value (null/tombstone)")
    if len(raw) > max_bytes:
        return Rejection(
            DeadLetterReason.TOO_LARGE,
            f"record is {len(raw):,} bytes; the limit is {max_bytes:,}",
        )
    if not raw.strip():
        return Rejection(DeadLetterReason.INVALID_JSON, "record value is empty")
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return Rejection(
            DeadLetterReason.BAD_ENCODING,
            f"record is not UTF-8: byte 0x{raw[exc.start]:02x} at offset {exc.start}",
        )
    try:
        return ClaimLineEvent.model_validate_json(raw)
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_input=False, include_context=False)
        if errors and errors[0]["type"] == "json_invalid":
            return Rejection(DeadLetterReason.INVALID_JSON, errors[0]["msg"])
        issues = [ValidationIssue(loc=_loc(e["loc"]), msg=e["msg"]) for e in errors[:MAX_ERRORS]]
        more = f" (first {MAX_ERRORS} listed)" if len(errors) > MAX_ERRORS else ""
        return Rejection(
            DeadLetterReason.SCHEMA_VIOLATION,
            f"{len(errors)} field(s) violate claim-line-event/v1{more}: "
            + "; ".join(f"{i.loc}: {i.msg}" for i in issues[:3]),
            issues,
            _event_id_of(raw),
        )
    except RecursionError:
        return Rejection(DeadLetterReason.INVALID_JSON, "JSON nested too deeply")


Headers = list[tuple[str, bytes]]


def trace_headers(headers: Any, names: frozenset[str]) -> Headers:
    """A record's trace-context and correlation headers (`names`, lower case), as
    received and in order, to copy onto what answers it: a trace that reaches the
    input carries on to its verdict or dead letter."""
    pairs = headers.items() if isinstance(headers, Mapping) else headers or ()
    return [(k, bytes(v)) for k, v in pairs if k.lower() in names and v is not None]


def source_of(
    topic: str, partition: int | None, offset: int | None, key: bytes | None
) -> RecordSource:
    if key is None:
        return RecordSource(topic=topic, partition=partition, offset=offset, key=None)
    try:
        return RecordSource(
            topic=topic, partition=partition, offset=offset, key=key.decode("utf-8")
        )
    except UnicodeDecodeError:
        return RecordSource(
            topic=topic,
            partition=partition,
            offset=offset,
            key=key.decode("utf-8", "replace"),
            key_base64=base64.b64encode(key).decode("ascii"),
        )


def dead_letter(rejection: Rejection, raw: bytes | None, source: RecordSource) -> DeadLetter:
    return DeadLetter(
        reason=rejection.reason,
        detail=rejection.detail,
        errors=rejection.errors,
        payload_base64=base64.b64encode(raw or b"").decode("ascii"),
        source=source,
        received_at=datetime.now(UTC),
        event_id=rejection.event_id,
    )
