"""`j9262 redrive`: dead letters go back to the lines topic once, as they came."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
from aiokafka import AIOKafkaProducer

from streams.cli.demo import worker_env
from streams.contract.decoding import Rejection, dead_letter, source_of
from streams.contract.models import DeadLetter, DeadLetterReason
from streams.samples import encode, event
from streams.settings import Settings
from streams.stream.kafka.clients import Record, follow, publish
from streams.stream.redrive import HEADER, redrive
from tests.integration.conftest import Workers, every_event, read_until

pytestmark = pytest.mark.integration

INTERNAL = DeadLetterReason.INTERNAL_ERROR


def letter(reason: DeadLetterReason, raw: bytes, key: bytes | None, offset: int) -> bytes:
    source = source_of("claims.lines.v1", 0, offset, key)
    return dead_letter(Rejection(reason, "test"), raw, source).model_dump_json().encode()


def lines_topic(settings: Settings) -> list[Record]:
    async def read() -> list[Record]:
        return [r async for r in follow(settings, [settings.topic_lines], idle_timeout=1.5)]

    return asyncio.run(read())


def test_letters_go_back_once_with_their_key_and_bytes_and_get_verdicts(
    settings: Settings, workers: Workers
) -> None:
    docs = [event(f"redrive-{i}") for i in range(3)]
    failed = {d["claim"]["claim_id"].encode(): encode(d) for d in docs}
    letters = [letter(INTERNAL, raw, key, i) for i, (key, raw) in enumerate(failed.items())]
    letters += [
        letter(DeadLetterReason.SCHEMA_VIOLATION, b'{"schema": 1}', b"CLM-X", 10),
        letter(DeadLetterReason.INVALID_JSON, b"", None, 11),
        b"not a dead letter",
    ]
    asyncio.run(publish(settings, letters, topic=settings.topic_dead_letters))

    dry = asyncio.run(redrive(settings, dry_run=True, idle_exit=1))
    assert dry.sent == {"internal_error": 3}
    assert dry.skipped == {"reason schema_violation": 1, "reason invalid_json": 1, "unreadable": 1}
    assert lines_topic(settings) == []

    done = asyncio.run(redrive(settings, idle_exit=1))
    assert done.sent == dry.sent
    sent = lines_topic(settings)
    assert {r.key: r.value for r in sent} == failed
    assert all(
        dict(r.headers)[HEADER].startswith(settings.topic_dead_letters.encode()) for r in sent
    )

    # The next run starts where this one stopped; --from-beginning starts over.
    assert asyncio.run(redrive(settings, idle_exit=1)).sent == {}
    again = asyncio.run(
        redrive(settings, set(DeadLetterReason), dry_run=True, from_beginning=True, idle_exit=1)
    )
    assert again.sent == {"internal_error": 3, "schema_violation": 1}
    assert again.skipped == {"empty payload": 1, "unreadable": 1}

    # The command line says the same; a worker then answers every line sent back.
    cli = subprocess.run(
        [
            sys.executable,
            "-m",
            "streams",
            "redrive",
            "--from-beginning",
            "--dry-run",
            "--idle-exit",
            "1",
        ],
        env=worker_env(settings),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert "would send back: 3 (internal_error 3)" in cli.stdout, cli.stdout + cli.stderr
    workers.start()
    wanted = {d["event_id"] for d in docs}
    verdicts = asyncio.run(read_until(settings, settings.topic_verdicts, every_event(wanted), 60))
    assert {v["event_id"] for v in verdicts} == wanted


def test_letters_written_after_a_run_began_wait_for_the_next_run(settings: Settings) -> None:
    """Else a line that fails again goes round for as long as the run lasts."""
    older, newer = (letter(INTERNAL, encode(event(f"held-{i}")), None, i) for i in range(2))
    later = DeadLetter.model_validate_json(newer)
    later.received_at = datetime.now(UTC) + timedelta(hours=1)

    async def place(values: list[bytes]) -> None:
        producer = AIOKafkaProducer(bootstrap_servers=settings.bootstrap_servers)
        await producer.start()
        try:
            for value in values:
                await producer.send_and_wait(settings.topic_dead_letters, value, partition=0)
        finally:
            await producer.stop()

    asyncio.run(place([older, later.model_dump_json().encode(), older]))
    first = asyncio.run(redrive(settings, idle_exit=1))
    assert first.sent == {"internal_error": 1}
    assert asyncio.run(redrive(settings, idle_exit=1)).sent == {}
    assert len(lines_topic(settings)) == 1


def test_letters_go_back_with_their_trace_headers(settings: Settings) -> None:
    """A trace that reached the dead letter carries on to the line sent back."""
    doc = event("redrive-traced")
    key = doc["claim"]["claim_id"].encode()
    trace = [
        ("traceparent", b"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"),
        ("x-request-id", b"req-7"),
    ]

    async def send() -> None:
        producer = AIOKafkaProducer(bootstrap_servers=settings.bootstrap_servers)
        await producer.start()
        try:
            value = letter(INTERNAL, encode(doc), key, 0)
            headers = [*trace, ("x-unrelated", b"stays behind")]
            await producer.send_and_wait(
                settings.topic_dead_letters, value, key=key, headers=headers
            )
        finally:
            await producer.stop()

    asyncio.run(send())
    assert asyncio.run(redrive(settings, idle_exit=1)).sent == {"internal_error": 1}
    [sent] = lines_topic(settings)
    assert [name for name, _ in sent.headers] == [HEADER, "traceparent", "x-request-id"]
    assert list(sent.headers[1:]) == trace
