"""What the validate-lines agent makes of one record of each format (no broker: the agent
itself runs against the real broker in tests/integration/test_formats.py)."""

from __future__ import annotations

import base64
import struct
from dataclasses import dataclass, field
from pathlib import Path

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streams.contract.decoding import decode
from streams.contract.models import ClaimLineEvent, DeadLetterReason
from streams.samples import SAMPLE_PATH
from streams.settings import Settings
from streams.stream.intake import INPUT_FORMAT_HEADER, Intake, Taken

FIXTURES = Path(__file__).parents[1] / "adapters" / "fixtures"
SEEDS = [p.read_bytes() for p in sorted(FIXTURES.glob("j9262-*"))]
JSON_EVENT = SAMPLE_PATH.read_bytes().splitlines()[0]


@dataclass
class Record:
    """A consumed record as Faust hands it to the agent (value, headers, where it was)."""

    value: bytes | None
    headers: list[tuple[str, bytes]] = field(default_factory=list)
    topic: str = "claims.lines.v1"
    partition: int = 0
    offset: int = 7
    key: bytes | None = None


INTAKE = Intake(Settings(trace_headers="traceparent"))


def take(value: bytes | None, headers: list[tuple[str, bytes]] | None = None) -> Taken:
    record = Record(value, headers or [])
    return INTAKE.take(record, decode(value, INTAKE.max_bytes))


def formats_of(taken: Taken) -> list[bytes]:
    return [v for k, v in taken.headers if k == INPUT_FORMAT_HEADER]


def test_an_837p_interchange_is_one_event_per_line_and_a_dead_letter_for_its_bad_line() -> None:
    taken = take((FIXTURES / "j9262-837p.x12").read_bytes(), [("traceparent", b"00-abc-01")])
    events = [ClaimLineEvent.model_validate_json(raw) for _, raw in taken.events]
    assert [(e.claim.claim_id, e.line.line_number) for e in events] == [
        ("CLM-P-0001", 1),
        ("CLM-P-0001", 2),
        ("CLM-P-0002", 1),
    ]
    assert [key for key, _ in taken.events] == [e.claim.patient.patient_id for e in events]
    (rejection,) = taken.rejections
    assert rejection.reason is DeadLetterReason.SCHEMA_VIOLATION
    assert rejection.errors[0].loc == "SV104 (segment 47)"
    assert rejection.detail.startswith("x12-837p SV104 (segment 47) (claim CLM-P-0002, line 2)")
    assert taken.headers == [("traceparent", b"00-abc-01"), (INPUT_FORMAT_HEADER, b"x12-837p")]


def test_a_redelivered_record_gives_the_same_events() -> None:
    for seed in SEEDS:
        assert take(seed) == take(seed)


def test_our_json_event_goes_on_as_its_own_bytes() -> None:
    taken = take(JSON_EVENT)
    assert [raw for _, raw in taken.events] == [JSON_EVENT]
    assert formats_of(taken) == [b"claim-line-event"]


def test_confluent_framed_json_and_a_structured_cloudevent_are_unwrapped() -> None:
    framed = b"\x00" + struct.pack(">I", 42) + JSON_EVENT
    cloud = orjson.dumps(
        {
            "specversion": "1.0",
            "id": "1",
            "source": "/epic",
            "type": "org.example.claim.x12",
            "datacontenttype": "application/edi-x12",
            "data_base64": base64.b64encode((FIXTURES / "j9262-837i.x12").read_bytes()).decode(),
        }
    )
    assert [raw for _, raw in take(framed).events] == [orjson.dumps(orjson.loads(JSON_EVENT))]
    assert formats_of(take(framed)) == [b"claim-line-event"]
    assert len(take(cloud).events) == 3
    assert formats_of(take(cloud)) == [b"x12-837i"]


def test_a_dft_credit_withdraws_its_charge() -> None:
    taken = take((FIXTURES / "j9262-dft-p03.mllp").read_bytes())
    events = [ClaimLineEvent.model_validate_json(raw) for _, raw in taken.events]
    assert [e.line.line_number for e in events] == [1, 2, 3]
    assert {e.claim.total_lines for e in events} == {3}
    assert taken.rejections == []
    assert taken.reversals == 1


def test_bad_json_is_dead_lettered_as_it_always_was() -> None:
    for value, reason in (
        (b"not json", DeadLetterReason.INVALID_JSON),
        (b'{"schema": "claim-line-event/v1"}', DeadLetterReason.SCHEMA_VIOLATION),
        (b"\xff\xfe{", DeadLetterReason.BAD_ENCODING),
        (None, DeadLetterReason.INVALID_JSON),
        (b"ISA" + b" " * (INTAKE.max_bytes + 1), DeadLetterReason.TOO_LARGE),
    ):
        taken = take(value)
        assert [r.reason for r in taken.rejections] == [reason], value
        assert decode(value, INTAKE.max_bytes) == taken.rejections[0]
        assert taken.events == []


def test_a_format_header_on_the_input_is_not_passed_on_twice() -> None:
    taken = take(JSON_EVENT, [(INPUT_FORMAT_HEADER, b"x12-837p")])
    assert formats_of(taken) == [b"claim-line-event"]


@st.composite
def records(draw: st.DrawFn) -> bytes:
    """Random bytes, fixtures cut or mutated at random, and our own event."""
    seed = draw(st.sampled_from([*SEEDS, JSON_EVENT]))
    kind = draw(st.integers(0, 2))
    if kind == 0:
        return draw(st.binary(max_size=300))
    if kind == 1:
        return seed[: draw(st.integers(0, len(seed)))]
    at = draw(st.integers(0, len(seed) - 1))
    return seed[:at] + draw(st.binary(min_size=1, max_size=8)) + seed[at + 1 :]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records(), st.sampled_from([[], [("content-type", b"application/edi-x12")]]))
def test_any_record_ends_as_forwarded_events_or_dead_letters(
    value: bytes, headers: list[tuple[str, bytes]]
) -> None:
    taken = take(value, headers)
    assert taken.events or taken.rejections or taken.reversals
    for key, raw in taken.events:
        event = decode(raw, INTAKE.max_bytes)
        assert isinstance(event, ClaimLineEvent)
        assert event.claim.patient.patient_id == key
    assert len(formats_of(taken)) == 1
    assert take(value, headers) == taken
