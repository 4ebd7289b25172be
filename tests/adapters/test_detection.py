"""Format detection: headers first, then the first bytes; envelopes peeled and recorded."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import fastavro
import orjson
import pytest

from streams.adapters import Format, Framing, Options, adapt, detect
from streams.samples import event

FIXTURES = Path(__file__).parent / "fixtures"
OUR_EVENT = orjson.dumps(event("detect"))


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("j9262-837p.x12", Format.X12_837P),
        ("j9262-837i.x12", Format.X12_837P),  # 837P or 837I is told from GS08 when read
        ("j9262-dft-p03.mllp", Format.HL7V2_DFT),
        ("j9262-fhir-bundle.json", Format.FHIR_R4),
    ],
)
def test_first_bytes_name_the_format(name: str, expected: Format) -> None:
    assert detect((FIXTURES / name).read_bytes()) is expected


def test_our_event_json_and_json_lines() -> None:
    assert detect(OUR_EVENT) is Format.CLAIM_LINE_EVENT
    assert detect(OUR_EVENT + b"\n" + OUR_EVENT) is Format.JSON_LINES
    assert detect(orjson.dumps(event("x"), option=orjson.OPT_INDENT_2)) is (Format.CLAIM_LINE_EVENT)


def test_plain_hl7_with_newlines_reads_like_mllp() -> None:
    framed = (FIXTURES / "j9262-dft-p03.mllp").read_bytes()
    plain = framed.strip(b"\x0b\x1c\r").replace(b"\r", b"\n")
    a, b = adapt(framed), adapt(plain)
    assert b.framing == ()
    # Different bytes, different event ids; everything else is the same.
    assert [{**e, "event_id": ""} for e in a.events] == [{**e, "event_id": ""} for e in b.events]


def test_837i_is_recognised_from_gs08() -> None:
    assert adapt((FIXTURES / "j9262-837i.x12").read_bytes()).format is Format.X12_837I


def test_content_type_header_wins_over_bytes() -> None:
    x12 = (FIXTURES / "j9262-837p.x12").read_bytes()
    assert detect(b"  " + x12, {"content-type": b"application/edi-x12"}) is Format.X12_837P
    assert detect(OUR_EVENT, {"Content-Type": b"application/fhir+json"}) is Format.FHIR_R4


def test_ce_type_header_names_the_format() -> None:
    assert detect(b"whatever", {"ce_type": b"org.example.claims.x12.837p"}) is Format.X12_837P
    assert detect(b"whatever", {"ce_type": b"claim-line-event/v1"}) is Format.CLAIM_LINE_EVENT


def test_format_argument_overrides_detection() -> None:
    result = adapt(OUR_EVENT, format="hl7")
    assert result.format is Format.HL7V2_DFT
    assert result.failures


def test_cloudevents_binary_mode_is_recorded() -> None:
    headers = {"ce_specversion": b"1.0", "ce_type": b"claim-line-event/v1", "ce_id": b"1"}
    result = adapt(OUR_EVENT, headers)
    assert result.framing == (Framing.CLOUDEVENTS_BINARY,)
    assert len(result.events) == 1


def test_cloudevents_structured_mode_with_x12_inside() -> None:
    x12 = (FIXTURES / "j9262-837p.x12").read_bytes()
    envelope = {
        "specversion": "1.0",
        "type": "org.example.x12.837p",
        "source": "/engine/1",
        "id": "e-1",
        "datacontenttype": "application/edi-x12",
        "data_base64": base64.b64encode(x12).decode(),
    }
    result = adapt(orjson.dumps(envelope))
    assert result.framing == (Framing.CLOUDEVENTS_STRUCTURED,)
    assert result.format is Format.X12_837P
    assert len(result.events) == 3


def test_confluent_framing_around_json() -> None:
    result = adapt(b"\x00" + (42).to_bytes(4, "big") + OUR_EVENT)
    assert result.framing == (Framing.CONFLUENT,)
    assert result.schema_id == 42
    assert len(result.events) == 1


def record(name: str, **fields: object) -> dict[str, object]:
    return {
        "type": "record",
        "name": name,
        "fields": [{"name": k, "type": v} for k, v in fields.items()],
    }


AVRO_SCHEMA = record(
    "ClaimLineEvent",
    schema="string",
    event_id="string",
    event_time="string",
    claim=record(
        "Claim",
        claim_id="string",
        claim_type="string",
        payer=record("Payer", payer_id="string", plan_type="string"),
        patient=record("Patient", patient_id="string"),
        diagnosis_codes={"type": "array", "items": "string"},
    ),
    line=record(
        "Line",
        line_number="int",
        hcpcs="string",
        units="string",
        service_date={"type": "int", "logicalType": "date"},
    ),
)


def avro_framed(event_id: str, claim_id: str, schema_id: int) -> bytes:
    """Our event as schemaless Avro in Confluent framing (magic 0, the schema id)."""
    record = {
        "schema": "claim-line-event/v1",
        "event_id": event_id,
        "event_time": "2026-11-20T14:03:11Z",
        "claim": {
            "claim_id": claim_id,
            "claim_type": "professional",
            "payer": {"payer_id": "MCR-JE", "plan_type": "medicare"},
            "patient": {"patient_id": "P-1"},
            "diagnosis_codes": ["C92.10"],
        },
        "line": {"line_number": 1, "hcpcs": "J9262", "units": "350", "service_date": 20777},
    }
    body = io.BytesIO()
    fastavro.schemaless_writer(body, fastavro.parse_schema(AVRO_SCHEMA), record)
    return b"\x00" + schema_id.to_bytes(4, "big") + body.getvalue()


def test_confluent_framing_around_avro_with_a_resolver() -> None:
    framed = avro_framed("avro-1", "CLM-AVRO", 9)
    seen: list[int] = []

    def resolver(schema_id: int) -> object:
        seen.append(schema_id)
        return AVRO_SCHEMA

    result = adapt(framed, options=Options(schema_resolver=resolver))
    assert seen == [9]
    assert result.framing == (Framing.CONFLUENT,)
    (line,) = result.events
    assert line["claim"]["claim_id"] == "CLM-AVRO"
    assert line["line"]["service_date"] == "2026-11-20"
