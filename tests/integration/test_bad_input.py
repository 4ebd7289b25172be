"""Malformed input through the stream: one answer per record, original bytes kept, no PHI."""

from __future__ import annotations

import asyncio
import base64
import json
import signal
from collections import Counter
from pathlib import Path
from typing import TypeVar

import orjson
import pytest
from aiokafka import AIOKafkaProducer
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hsettings
from hypothesis.strategies import SearchStrategy

from streams.samples import encode, event
from streams.settings import Settings
from streams.stream.kafka.clients import ensure_topics, follow, publish, scrape_metrics
from tests.conftest import examples
from tests.fuzz import mutated_records, valid_events
from tests.integration.conftest import Workers, publish_and_wait, read_until

pytestmark = pytest.mark.integration

MAX_BYTES = 65_536
T = TypeVar("T")


def corpus() -> dict[str, bytes | None]:
    def with_line(**line: object) -> bytes:
        return json.dumps(event("corpus", line=line)).encode()  # stdlib: huge ints too

    return {
        "invalid json": b"{this is not json}",
        "truncated json": encode(event("t"))[:57],
        "wrong types": encode(event("wt", line={"units": "three", "line_number": "one"})),
        "missing required": b'{"schema": "claim-line-event/v1", "event_id": "x"}',
        "unknown enum": encode(event("ue", claim={"payer": {"plan_type": "hmo"}})),
        "negative units": with_line(units=-350),
        "zero units": with_line(units=0),
        "nan units": encode(event("nan")).replace(b'"units":350', b'"units":NaN'),
        "huge units": with_line(units=10**30),
        "impossible date": with_line(service_date="2026-02-30"),
        "not utf-8": b'{"event_id": "caf\xe9"}',
        "nul bytes": b"\x00\x00\x00{}",
        "deeply nested": b'{"a":' * 10_000 + b"1" + b"}" * 10_000,
        "too large": b'{"padding": "' + b"x" * (MAX_BYTES + 10) + b'"}',
        "empty value": b"",
        "tombstone": None,
    }


def drawn(strategy: SearchStrategy[T], count: int) -> list[T]:
    collected: list[T] = []

    @hsettings(
        max_examples=count,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def collect(value: T) -> None:
        collected.append(value)

    collect()
    return collected


async def publish_raw(
    settings: Settings, records: list[tuple[bytes | None, bytes | None]]
) -> list[tuple[int, int]]:
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.bootstrap_servers, linger_ms=5, max_request_size=MAX_BYTES * 4
    )
    await producer.start()
    try:
        futures = [await producer.send(settings.topic_lines, key=k, value=v) for k, v in records]
        return [((m := await f).partition, m.offset) for f in futures]
    finally:
        await producer.stop()


def test_malformed_and_mutated_records_each_get_one_answer(
    settings: Settings, workers: Workers
) -> None:
    named = corpus()
    mutated = drawn(mutated_records(), examples(3))  # as many as tests/test_fuzz.py's properties
    valid = [encode(d) for d in drawn(valid_events(), examples(0.3))]
    records: list[tuple[bytes | None, bytes | None]] = [(b"CLM-corpus", v) for v in named.values()]
    records += [(None, raw) for raw in mutated]  # null keys
    records += [(b"\xff\xfe", raw) for raw in valid]  # keys that are not UTF-8
    placed = asyncio.run(publish_raw(settings, records))
    workers.start(max_message_bytes=MAX_BYTES)

    verdicts, keyed_letters = asyncio.run(all_answers(settings, len(records)))
    letters = [d for d, _ in keyed_letters]
    assert len(verdicts) + len(letters) == len(records)
    by_place = {(d["source"]["partition"], d["source"]["offset"]): d for d in letters}
    key_at = {(d["source"]["partition"], d["source"]["offset"]): k for d, k in keyed_letters}
    assert len(by_place) == len(letters)
    letter_places = set(by_place)
    for place, (key, value) in zip(placed, records, strict=True):
        if place in letter_places:
            assert base64.b64decode(by_place[place]["payload_base64"]) == (value or b"")
            assert key_at[place] == key  # keyed by the input key, as received (contract)
    reasons = {
        name: by_place[placed[i]]["reason"] for i, name in enumerate(named) if placed[i] in by_place
    }
    assert reasons == {
        "invalid json": "invalid_json",
        "truncated json": "invalid_json",
        "wrong types": "schema_violation",
        "missing required": "schema_violation",
        "unknown enum": "schema_violation",
        "negative units": "schema_violation",
        "zero units": "schema_violation",
        "nan units": "schema_violation",
        "huge units": "schema_violation",
        "impossible date": "schema_violation",
        "not utf-8": "bad_encoding",
        "nul bytes": "invalid_json",
        "deeply nested": "invalid_json",
        "too large": "too_large",
        "empty value": "invalid_json",
        "tombstone": "invalid_json",
    }
    assert Counter(d["reason"] for d in letters)["internal_error"] == 0
    assert not letter_places & set(placed[-len(valid) :])  # extreme but valid: verdicts
    # ... and the worker is still consuming.
    publish_and_wait(settings, [event("after-the-storm")])


async def all_answers(
    settings: Settings, total: int
) -> tuple[list[dict], list[tuple[dict, bytes | None]]]:
    """Verdicts, and dead letters each with its record key."""
    verdicts: list[dict] = []
    letters: list[tuple[dict, bytes | None]] = []

    async def read() -> None:
        topics = [settings.topic_verdicts, settings.topic_dead_letters]
        async for rec in follow(settings, topics, from_beginning=True):
            if rec.topic == settings.topic_dead_letters:
                letters.append((orjson.loads(rec.value), rec.key))
            else:
                verdicts.append(orjson.loads(rec.value))
            if len(verdicts) + len(letters) >= total:
                return

    await asyncio.wait_for(read(), 180)
    return verdicts, letters


def test_no_phi_in_debug_logs_or_metric_labels(
    settings: Settings, workers: Workers, tmp_path: Path
) -> None:
    docs = [
        event(
            f"phi-{i}",
            claim={
                "claim_id": f"CLM-SECRET-{i:04d}",
                "patient": {"patient_id": f"PT-SECRET-{i:04d}"},
            },
        )
        for i in range(30)
    ]
    docs.append(
        event(
            "phi-bad",
            claim={"claim_id": "CLM-SECRET-BAD", "patient": {"patient_id": "PT-SECRET-BAD"}},
            line={"units": -1},
        )
    )
    worker = workers.start(log_level="DEBUG")
    publish_and_wait(settings, docs[:-1])
    asyncio.run(publish(settings, [encode(docs[-1])]))
    asyncio.run(read_until(settings, settings.topic_dead_letters, lambda f: len(f) >= 1, 60))
    metrics_text = str(scrape_metrics(settings))
    worker.send_signal(signal.SIGTERM)
    worker.wait(30)
    log = workers.log()
    assert "DEBUG [streams.stream.agents] event_id=" in log  # debug logging really was on
    for secret in ("SECRET", "63459-0177-14", "63459017714"):
        assert secret not in log, f"{secret} appears in the worker log"
        assert secret not in metrics_text, f"{secret} appears in the metrics"


def test_unreadable_stored_state_dead_letters_the_line_and_logs_no_phi(
    settings: Settings, workers: Workers
) -> None:
    """State the worker cannot parse (say, written by an incompatible version) reaches
    it through the changelogs. A line whose patient history does not parse becomes an
    internal_error dead letter; a claim whose state does not parse keeps its line
    verdict and gets no roll-up. Pydantic's errors quote the stored values, and the
    log must not."""
    history = f"{settings.app_id}-patient-history-changelog"
    claims = f"{settings.app_id}-claims-changelog"
    asyncio.run(ensure_topics(settings, [history, claims]))
    asyncio.run(
        publish_raw_to(
            settings,
            [
                (history, b"PT-SECRET-H", b'{"lines": "PT-SECRET-H CLM-SECRET-H"}'),
                (claims, b"CLM-SECRET-C", b'{"claim_id": "CLM-SECRET-C", "lines": 7}'),
            ],
        )
    )
    bad_history = event("state-h", claim={"patient": {"patient_id": "PT-SECRET-H"}})
    bad_claim = event("state-c", claim={"claim_id": "CLM-SECRET-C"})
    workers.start()
    asyncio.run(publish(settings, [encode(bad_history), encode(bad_claim)]))
    letters = asyncio.run(
        read_until(settings, settings.topic_dead_letters, lambda f: len(f) >= 1, 60)
    )
    assert [(d["reason"], d["errors"]) for d in letters] == [("internal_error", [])]
    assert base64.b64decode(letters[0]["payload_base64"]) == encode(bad_history)
    assert bad_history["event_id"] in letters[0]["detail"]
    verdicts = publish_and_wait(settings, [event("after-bad-state")])
    assert bad_claim["event_id"] in {v["event_id"] for v in verdicts}
    log = workers.log()
    assert "rule evaluation failed for event_id=" + bad_history["event_id"] in log
    assert "claim roll-up failed" in log
    assert "ValidationError" in log
    assert "SECRET" not in log


async def publish_raw_to(settings: Settings, records: list[tuple[str, bytes, bytes]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=settings.bootstrap_servers)
    await producer.start()
    try:
        for topic, key, value in records:
            await producer.send_and_wait(topic, key=key, value=value)
    finally:
        await producer.stop()
