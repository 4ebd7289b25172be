"""Compressed records from a client nobody on this team wrote (librdkafka, through
confluent-kafka): every codec Kafka has, on the way in and on the way out, with the
trace headers the producer set carried to each answer."""

from __future__ import annotations

import asyncio
import subprocess
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiokafka import codec
from aiokafka.errors import UnsupportedCodecError
from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, Message, Producer
from confluent_kafka import TopicPartition as RdTopicPartition

from streams.cli.demo import start_worker, worker_env
from streams.samples import demo_sample
from streams.settings import Settings, isolated
from streams.stream.exits import EXIT_CODEC_MISSING
from streams.stream.intake import INPUT_FORMAT_HEADER
from streams.stream.kafka.clients import Record, ensure_topics, follow, publish
from streams.stream.kafka.embedded import EmbeddedBroker, free_port
from tests.integration.conftest import TEST_SESSION_TIMEOUT_S, Workers, with_changes

pytestmark = pytest.mark.integration

CODECS = ["gzip", "snappy", "lz4", "zstd"]
OUTPUT_CODEC = "zstd"
"""What the shared worker compresses its own output with (J9262_COMPRESSION)."""

MALFORMED = [b"{this is not json", b'{"schema": "claim-line-event/v1", "event_id": 7}', b""]


@pytest.fixture(scope="module")
def running(broker: EmbeddedBroker, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workers]:
    """One worker, on topics of its own, for every codec: each test tags its events."""
    directory = tmp_path_factory.mktemp("codecs")
    settings = isolated(
        broker.url,
        f"codecs-{uuid.uuid4().hex[:8]}",
        directory / "data",
        free_port(),
        topic_partitions=4,
        session_timeout_s=TEST_SESSION_TIMEOUT_S,
        compression=OUTPUT_CODEC,
    )
    asyncio.run(ensure_topics(settings, settings.contract_topics))
    workers = Workers(settings, directory)
    workers.start()
    try:
        yield workers
    finally:
        workers.stop_all()


def tagged_inputs(tag: str) -> list[tuple[str, bytes, bytes]]:
    """The demo's realistic sample plus malformed records, as (answer id, key, value):
    events get `tag` in their ids so runs on one worker stay apart; the answer id is
    the event_id a verdict or dead letter names, or else the record's own key."""
    inputs: list[tuple[str, bytes, bytes]] = []
    for i, raw in enumerate([*demo_sample(), *MALFORMED]):
        try:
            doc = orjson.loads(raw)
            claim = doc["claim"]
            doc["event_id"] = f"{tag}-{doc['event_id']}"
            claim["claim_id"] = f"{tag}-{claim['claim_id']}"
            claim["patient"]["patient_id"] = f"{tag}-{claim['patient']['patient_id']}"
        except (orjson.JSONDecodeError, KeyError, TypeError):
            key = f"{tag}-unreadable-{i}"
            inputs.append((key, key.encode(), raw))
            continue
        inputs.append((doc["event_id"], claim["claim_id"].encode(), orjson.dumps(doc)))
    return inputs


def trace_of(answer_id: str) -> list[tuple[str, bytes]]:
    """Headers a traced producer sets: W3C trace context, a correlation id, and one
    header the worker must not copy."""
    trace_id = uuid.uuid5(uuid.NAMESPACE_URL, answer_id).hex
    return [
        ("traceparent", f"00-{trace_id}-{trace_id[:16]}-01".encode()),
        ("tracestate", b"vendor=j9262test"),
        ("X-Correlation-ID", answer_id.encode()),
        ("x-unrelated", b"stays behind"),
    ]


def librdkafka_publish(bootstrap: str, topic: str, compression: str, inputs: Any) -> None:
    """Idempotent, compressed, lingering so each batch holds several records."""
    producer = Producer(
        {
            "bootstrap.servers": bootstrap,
            "enable.idempotence": True,
            "compression.type": compression,
            "linger.ms": 100,
        }
    )
    failures: list[KafkaError] = []

    def delivered(error: KafkaError | None, _: Message) -> None:
        if error is not None:
            failures.append(error)

    for answer_id, key, value in inputs:
        producer.produce(topic, value, key, headers=trace_of(answer_id), on_delivery=delivered)
    assert producer.flush(60) == 0
    assert failures == []


def answer_id(record: Record) -> str:
    doc = orjson.loads(record.value)
    return doc.get("event_id") or doc["source"]["key"]


async def answers_for(
    settings: Settings, wanted: set[str], timeout: float = 120, quiet: float = 3
) -> list[Record]:
    """The verdicts and dead letters of `wanted`: the topics are read until each has
    an answer and then stayed quiet for `quiet` seconds, so a second answer would show."""
    found: dict[tuple[str, int, int], Record] = {}
    topics = [settings.topic_verdicts, settings.topic_dead_letters]
    deadline = time.monotonic() + timeout
    while True:
        async for record in follow(settings, topics, idle_timeout=quiet):
            if answer_id(record) in wanted:
                found[record.topic, record.partition, record.offset] = record
        answered = {answer_id(r) for r in found.values()}
        if answered >= wanted or time.monotonic() > deadline:
            return list(found.values())


@pytest.mark.parametrize("compression", CODECS)
def test_each_codec_gets_one_answer_per_record_with_its_trace(
    running: Workers, compression: str
) -> None:
    settings, worker = running.settings, running.procs[0][0]
    inputs = tagged_inputs(compression)
    librdkafka_publish(settings.bootstrap_servers[0], settings.topic_lines, compression, inputs)
    wanted = {answer for answer, _, _ in inputs}
    assert len(wanted) == len(inputs)

    answers = asyncio.run(answers_for(settings, wanted))
    counts = Counter(answer_id(r) for r in answers)
    assert set(counts) == wanted, f"unanswered: {sorted(wanted - set(counts))}"
    assert [a for a, n in counts.items() if n > 1] == []
    letters = {answer_id(r) for r in answers if r.topic == settings.topic_dead_letters}
    for bad in MALFORMED:
        assert any(value == bad and answer in letters for answer, _, value in inputs)
    for record in answers:
        expected = trace_of(answer_id(record))[:3]  # not x-unrelated
        ours = {INPUT_FORMAT_HEADER, "content-type"}
        carried = [(k, v) for k, v in record.headers if k not in ours and not k.startswith("ce_")]
        assert carried == expected, (record.topic, answer_id(record))
        formats = [v for k, v in record.headers if k == INPUT_FORMAT_HEADER]
        assert len(formats) == 1, record.headers  # claim-line-event, or unknown when unread
        ce = dict(h for h in record.headers if h[0].startswith("ce_"))
        assert ce["ce_specversion"] == b"1.0" and ce["ce_type"].startswith(b"org.j9262."), ce
    assert worker.poll() is None, running.log()


def librdkafka_read(
    bootstrap: str, topic: str, partitions: int, done: Callable[[list[Message]], bool]
) -> list[Message]:
    """The topic's records from its beginning, read until `done(records)`."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"librdkafka-{uuid.uuid4().hex[:8]}",
            "enable.auto.commit": False,
        }
    )
    consumer.assign([RdTopicPartition(topic, p, OFFSET_BEGINNING) for p in range(partitions)])
    messages: list[Message] = []
    deadline = time.monotonic() + 60
    try:
        while not done(messages) and time.monotonic() < deadline:
            for message in consumer.consume(num_messages=500, timeout=1.0):
                assert message.error() is None, message.error()
                messages.append(message)
    finally:
        consumer.close()
    return messages


def test_the_workers_output_is_compressed_and_librdkafka_reads_it(
    running: Workers, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = running.settings
    # Records without an event id come back keyed as sent, and `publish` keys by claim.
    inputs = [i for i in tagged_inputs("output") if "-unreadable-" not in i[0]]
    asyncio.run(publish(settings, [value for _, _, value in inputs]))
    wanted = {answer for answer, _, _ in inputs}
    answers = asyncio.run(answers_for(settings, wanted, quiet=1))
    assert {answer_id(r) for r in answers} == wanted
    verdicts = {answer_id(r) for r in answers if r.topic == settings.topic_verdicts}
    assert verdicts

    def ids(messages: list[Message]) -> set[str]:
        return wanted & {orjson.loads(m.value())["event_id"] for m in messages}

    read = librdkafka_read(
        settings.bootstrap_servers[0],
        settings.topic_verdicts,
        settings.topic_partitions,
        lambda messages: ids(messages) == verdicts,
    )
    assert ids(read) == verdicts
    # The batches really are zstd: without its codec library, aiokafka refuses them.
    monkeypatch.setattr(codec, "cramjam", None)
    with pytest.raises(UnsupportedCodecError, match=OUTPUT_CODEC):
        asyncio.run(answers_for(settings, wanted, timeout=30, quiet=1))


@pytest.mark.parametrize("compression", CODECS)
def test_publish_compresses_with_the_setting_and_librdkafka_reads_it(
    settings: Settings, compression: str
) -> None:
    """`j9262 produce` and the redrive use this producer."""
    compressed = with_changes(settings, compression=compression)
    values = [value for _, _, value in tagged_inputs(compression) if value]
    asyncio.run(publish(compressed, values))
    read = librdkafka_read(
        settings.bootstrap_servers[0],
        settings.topic_lines,
        settings.topic_partitions,
        lambda messages: len(messages) >= len(values),
    )
    assert sorted(m.value() for m in read) == sorted(values)


def test_without_the_codec_library_a_compressed_batch_stops_the_worker_once(
    settings: Settings, tmp_path: Path
) -> None:
    """An install without cramjam: one line naming what to install, a documented exit
    code, no traceback; the batch stays uncommitted for the fixed worker."""
    hidden = tmp_path / "no-cramjam"
    hidden.mkdir()
    (hidden / "cramjam.py").write_text("raise ImportError('hidden by the test')\n")
    inputs = tagged_inputs("snappy-missing")[:10]
    librdkafka_publish(settings.bootstrap_servers[0], settings.topic_lines, "snappy", inputs)

    log = tmp_path / "worker.log"
    worker = start_worker(worker_env(settings) | {"PYTHONPATH": str(hidden)}, log)
    try:
        code = worker.wait(120)
    except subprocess.TimeoutExpired:
        worker.kill()
        raise
    text = log.read_text(errors="replace")
    assert code == EXIT_CODEC_MISSING, text
    critical = [line for line in text.splitlines() if " CRITICAL " in line]
    assert len(critical) == 1, text
    assert "snappy" in critical[0]
    assert "pip install 'aiokafka[lz4,snappy,zstd]'" in critical[0]
    assert "Traceback" not in text
    assert "input compressed with snappy, lz4, zstd cannot be read" in text
