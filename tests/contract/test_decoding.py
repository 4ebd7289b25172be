"""Every record decodes to an event or a reasoned rejection; nothing raises."""

from __future__ import annotations

import base64

import pytest

from streams.contract.decoding import Rejection, dead_letter, decode, source_of, trace_headers
from streams.contract.models import ClaimLineEvent, DeadLetterReason
from streams.samples import encode, event

LIMIT = 64 * 1024


def reject(raw: bytes | None) -> Rejection:
    result = decode(raw, LIMIT)
    assert isinstance(result, Rejection), result
    return result


def test_a_valid_event_decodes() -> None:
    assert isinstance(decode(encode(event("ok")), LIMIT), ClaimLineEvent)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (None, DeadLetterReason.INVALID_JSON),
        (b"", DeadLetterReason.INVALID_JSON),
        (b"   ", DeadLetterReason.INVALID_JSON),
        (b"{not json", DeadLetterReason.INVALID_JSON),
        (b'{"a": 1', DeadLetterReason.INVALID_JSON),
        (b"[" * 5000 + b"]" * 5000, DeadLetterReason.INVALID_JSON),
        (b'{"a": "\xff\xfe"}', DeadLetterReason.BAD_ENCODING),
        (b"\x00\x00", DeadLetterReason.INVALID_JSON),
        (b"[1, 2]", DeadLetterReason.SCHEMA_VIOLATION),
        (b"{}", DeadLetterReason.SCHEMA_VIOLATION),
        (b"x" * (LIMIT + 1), DeadLetterReason.TOO_LARGE),
    ],
)
def test_rejection_reasons(raw: bytes | None, reason: DeadLetterReason) -> None:
    assert reject(raw).reason is reason


def test_schema_violation_lists_fields_and_keeps_the_event_id() -> None:
    doc = event("bad", line={"units": -1, "service_date": "2026-13-01"})
    rejection = reject(encode(doc))
    assert rejection.reason is DeadLetterReason.SCHEMA_VIOLATION
    assert {e.loc for e in rejection.errors} == {"line.units", "line.service_date"}
    assert rejection.event_id == doc["event_id"]
    assert "line.units" in rejection.detail


def test_dead_letter_carries_the_original_bytes_and_source() -> None:
    raw = b'{"broken": '
    letter = dead_letter(reject(raw), raw, source_of("claims.lines.v1", 3, 42, b"CLM-1"))
    assert base64.b64decode(letter.payload_base64) == raw
    assert (letter.source.partition, letter.source.offset, letter.source.key) == (3, 42, "CLM-1")


def test_a_key_that_is_not_utf8_is_kept_in_base64() -> None:
    source = source_of("t", 0, 1, b"\xff\x00")
    assert source.key_base64 == base64.b64encode(b"\xff\x00").decode()


TRACED = frozenset({"traceparent", "tracestate", "x-correlation-id"})


def test_trace_headers_are_picked_by_name_in_any_case_and_kept_as_received() -> None:
    parent = b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    headers = [
        ("j9262-source-topic", b"claims.lines.v1"),
        ("TraceParent", parent),
        ("x-correlation-id", b"batch-7"),
        ("x-correlation-id", b"batch-7b"),
        ("authorization", b"Bearer secret"),
        ("tracestate", None),
    ]
    assert trace_headers(headers, TRACED) == [
        ("TraceParent", parent),
        ("x-correlation-id", b"batch-7"),
        ("x-correlation-id", b"batch-7b"),
    ]
    assert trace_headers({"tracestate": b"rojo=1"}, TRACED) == [("tracestate", b"rojo=1")]
    assert trace_headers(None, TRACED) == []
    assert trace_headers(headers, frozenset()) == []
