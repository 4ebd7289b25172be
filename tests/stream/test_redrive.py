"""Which dead letters go back to the lines topic, and with what key and bytes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from streams.contract.decoding import Rejection, dead_letter, source_of
from streams.contract.models import DeadLetter, DeadLetterReason
from streams.samples import encode, event
from streams.stream.redrive import DEFAULT_REASONS, Resend, resend_of, written_after

INTERNAL = DeadLetterReason.INTERNAL_ERROR


def letter(reason: DeadLetterReason, raw: bytes | None, key: bytes | None) -> DeadLetter:
    return dead_letter(Rejection(reason, "why"), raw, source_of("claims.lines.v1", 2, 41, key))


def test_a_line_that_failed_inside_the_validator_goes_back_as_it_came() -> None:
    raw = encode(event("e-1"))
    assert resend_of(letter(INTERNAL, raw, b"CLM-1"), DEFAULT_REASONS) == Resend(b"CLM-1", raw)


def test_bad_input_stays_unless_its_reason_is_asked_for() -> None:
    bad = letter(DeadLetterReason.SCHEMA_VIOLATION, b'{"schema": 1}', b"CLM-2")
    assert resend_of(bad, DEFAULT_REASONS) == "reason schema_violation"
    asked = {INTERNAL, DeadLetterReason.SCHEMA_VIOLATION}
    assert resend_of(bad, asked) == Resend(b"CLM-2", b'{"schema": 1}')


def test_a_key_that_was_not_utf8_goes_back_byte_for_byte() -> None:
    key = b"\xff\xfeCLM"
    sent = resend_of(letter(INTERNAL, b"{}", key), DEFAULT_REASONS)
    assert isinstance(sent, Resend) and sent.key == key


def test_a_record_without_a_key_goes_back_without_one() -> None:
    assert resend_of(letter(INTERNAL, b"{}", None), DEFAULT_REASONS) == Resend(None, b"{}")


def test_an_empty_record_has_nothing_to_send_back() -> None:
    empty = letter(DeadLetterReason.INVALID_JSON, None, b"CLM-3")
    assert resend_of(empty, set(DeadLetterReason)) == "empty payload"


def test_a_letter_whose_payload_is_not_base64_stays() -> None:
    broken = letter(INTERNAL, b"{}", b"CLM-4").model_copy(update={"payload_base64": "%%%"})
    assert resend_of(broken, DEFAULT_REASONS) == "not base64"


def test_a_letter_stamped_without_a_time_zone_is_read_as_utc() -> None:
    began = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    naive = letter(INTERNAL, b"{}", None).model_copy(
        update={"received_at": datetime(2026, 11, 20, 12, 5)}
    )
    assert written_after(naive, began)
    assert not written_after(naive, began + timedelta(minutes=10))
