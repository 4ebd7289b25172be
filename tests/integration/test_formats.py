"""One record of each format a hospital sends, published to the input topic of a running
worker: one verdict per service line with the NDC found, a dead letter for each part that
cannot be mapped (with the record's bytes and where it broke), and every output saying
which format its record came in (`j9262-input-format`)."""

from __future__ import annotations

import asyncio
import base64
import struct
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiokafka import AIOKafkaProducer

from streams.samples import encode, event
from streams.settings import Settings
from streams.stream.intake import INPUT_FORMAT_HEADER
from streams.stream.kafka.clients import follow
from tests.integration.conftest import Workers

pytestmark = pytest.mark.integration

FIXTURES = Path(__file__).parents[1] / "adapters" / "fixtures"
NDC = "63459017714"
Headers = list[tuple[str, bytes]]

CONFLUENT_EVENT = event("formats-confluent")
CLOUD_EVENT = event("formats-cloudevent")


def records() -> list[tuple[str, bytes, Headers]]:
    """(name, value, headers) of one record per format."""

    def fixture(name: str) -> bytes:
        return (FIXTURES / name).read_bytes()

    return [
        ("837p", fixture("j9262-837p.x12"), []),
        ("837i", fixture("j9262-837i.x12"), [("content-type", b"application/edi-x12")]),
        ("dft", fixture("j9262-dft-p03.mllp"), []),
        ("fhir", fixture("j9262-fhir-bundle.json"), []),
        ("confluent", b"\x00" + struct.pack(">I", 7) + encode(CONFLUENT_EVENT), []),
        (
            "cloudevent",
            encode(CLOUD_EVENT),
            [
                ("ce_specversion", b"1.0"),
                ("ce_id", b"ce-1"),
                ("ce_source", b"/integration-engine"),
                ("ce_type", b"org.example.claim-line-event/v1"),
            ],
        ),
    ]


#: (claim id, line number) -> the format header its verdict must carry.
EXPECTED_VERDICTS = {
    ("CLM-P-0001", 1): "x12-837p",
    ("CLM-P-0001", 2): "x12-837p",
    ("CLM-P-0002", 1): "x12-837p",
    ("CLM-I-0001", 1): "x12-837i",
    ("CLM-I-0001", 2): "x12-837i",
    ("CLM-I-0001", 3): "x12-837i",
    ("ACCT-7781", 1): "hl7v2-dft",  # FT1 4 and its credit FT1 5 are withdrawn together
    ("ACCT-7781", 2): "hl7v2-dft",
    ("ACCT-7781", 3): "hl7v2-dft",
    ("CLM-F-0001", 1): "fhir-r4",
    ("CLM-F-0001", 2): "fhir-r4",
    ("CLM-F-0001", 3): "fhir-r4",
    (CONFLUENT_EVENT["claim"]["claim_id"], 1): "claim-line-event",
    (CLOUD_EVENT["claim"]["claim_id"], 1): "claim-line-event",
}
#: Where each dead letter's record broke, and its format header.
EXPECTED_LETTERS = {
    ("SV104 (segment 47)", "x12-837p"),
    ("Claim.item[3].quantity.value", "fhir-r4"),
}
UNIT_ERRORS = {
    ("CLM-P-0002", 1): "UNITS_NDC_SCALE",
    ("CLM-I-0001", 2): "UNITS_PER_VIAL",
    ("ACCT-7781", 3): "UNITS_FRACTIONAL",
    ("CLM-F-0001", 3): "UNITS_NDC_SCALE",
}


async def publish_records(settings: Settings, sent: list[tuple[str, bytes, Headers]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=settings.bootstrap_servers)
    await producer.start()
    try:
        for _, value, headers in sent:
            await (await producer.send(settings.topic_lines, value=value, headers=headers))
    finally:
        await producer.stop()


async def answers(settings: Settings) -> tuple[list[Any], list[Any]]:
    """Verdicts and dead letters, read until every expected one has arrived."""
    verdicts: list[Any] = []
    letters: list[Any] = []

    async def read() -> None:
        topics = [settings.topic_verdicts, settings.topic_dead_letters]
        async for rec in follow(settings, topics, from_beginning=True):
            (letters if rec.topic == settings.topic_dead_letters else verdicts).append(rec)
            seen = {(v["claim_id"], v["line_number"]) for v in map(_json, verdicts)}
            if seen >= set(EXPECTED_VERDICTS) and len(letters) >= len(EXPECTED_LETTERS):
                return

    await asyncio.wait_for(read(), 120)
    return verdicts, letters


def _json(record: Any) -> Any:
    return orjson.loads(record.value)


def _format(record: Any) -> str:
    (value,) = [v for k, v in record.headers if k == INPUT_FORMAT_HEADER]
    return bytes(value).decode()


def test_one_record_of_each_format_gets_a_verdict_per_line_with_the_ndc(
    settings: Settings, workers: Workers
) -> None:
    sent = records()
    asyncio.run(publish_records(settings, sent))
    workers.start()
    verdicts, letters = asyncio.run(answers(settings))

    by_line = {}
    for record in verdicts:
        v = _json(record)
        key = (v["claim_id"], v["line_number"])
        assert _format(record) == EXPECTED_VERDICTS[key], key
        by_line.setdefault(key, set()).add(v["verdict_id"])
        codes = {f["code"] for f in v["findings"]}
        if key in UNIT_ERRORS:
            assert UNIT_ERRORS[key] in codes, (key, codes)
        if v["hcpcs"] == "J9262":
            assert v["enrichment"]["ndc"]["ndc11"] == NDC, key
    # One verdict per service line: a line answered again (at-least-once) keeps its id.
    assert set(by_line) == set(EXPECTED_VERDICTS)
    assert all(len(ids) == 1 for ids in by_line.values()), by_line

    payloads = {name: value for name, value, _ in sent}
    found = set()
    for record in letters:
        letter = _json(record)
        where, fmt = letter["errors"][0]["loc"], _format(record)
        found.add((where, fmt))
        original = payloads["837p" if fmt == "x12-837p" else "fhir"]
        assert base64.b64decode(letter["payload_base64"]) == original
        assert letter["detail"].startswith(f"{fmt} {where}")
    assert found == EXPECTED_LETTERS
