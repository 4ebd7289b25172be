"""A real broker (Tansu) per session and real worker processes per test."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from subprocess import Popen
from typing import Any

import orjson
import pytest
from aiokafka import AIOKafkaProducer

from streams.cli.demo import start_worker, stop_process, worker_env
from streams.samples import encode
from streams.settings import Settings, isolated
from streams.stream.kafka.clients import ensure_topics, follow, key_of, publish
from streams.stream.kafka.embedded import EmbeddedBroker, free_port

# Every test in this folder is marked `integration` by tests/conftest.py (a `pytestmark`
# here would mark nothing).

TEST_SESSION_TIMEOUT_S = 6
"""The embedded broker holds a worker's first JoinGroup for half the session timeout:
3 s per worker start instead of the default's 5, and a killed worker is noticed sooner."""


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedBroker]:
    with EmbeddedBroker(log_file=tmp_path_factory.mktemp("broker") / "broker.log") as b:
        yield b


@pytest.fixture
def settings(broker: EmbeddedBroker, tmp_path: Path) -> Settings:
    """Settings on fresh topics and a fresh consumer group, so tests do not share state."""
    s = isolated(
        broker.url,
        f"test-{uuid.uuid4().hex[:8]}",
        tmp_path / "data",
        free_port(),
        topic_partitions=4,
        broker_compat="tansu",
        session_timeout_s=TEST_SESSION_TIMEOUT_S,
        claim_wait_s=3,
        claim_check_interval_s=0.5,
    )
    asyncio.run(ensure_topics(s, s.contract_topics))
    return s


def with_changes(settings: Settings, **changes: object) -> Settings:
    """These settings (only those set explicitly, as a worker's environment carries
    them) with some changed."""
    return Settings(
        _env_file=None, **(settings.model_dump(include=settings.model_fields_set) | changes)
    )


class Workers:
    """Starts worker processes for a test and always stops them."""

    def __init__(self, settings: Settings, directory: Path) -> None:
        self.settings = settings
        self.directory = directory
        self.procs: list[tuple[Popen[bytes], Path]] = []

    def start(self, **overrides: object) -> Popen[bytes]:
        settings = with_changes(self.settings, **overrides)
        log = self.directory / f"worker-{len(self.procs)}.log"
        proc = start_worker(worker_env(settings), log)
        self.procs.append((proc, log))
        return proc

    def log(self, index: int = 0) -> str:
        return self.procs[index][1].read_text(errors="replace")

    def stop_all(self) -> None:
        for proc, _ in self.procs:
            stop_process(proc)


@pytest.fixture
def workers(settings: Settings, tmp_path: Path) -> Iterator[Workers]:
    w = Workers(settings, tmp_path)
    try:
        yield w
    finally:
        w.stop_all()


async def publish_with_a_jump(settings: Settings, topic: str, values: list[bytes]) -> None:
    """Four records at offsets 0, 1, 6 and 7 of partition 0: the middle batch claims six
    offsets and fills two, as transaction markers or compaction leave them on Kafka.
    aiokafka offers no public way to set a record's offset delta, hence its batch
    builder."""
    first, a, b, last = values
    producer = AIOKafkaProducer(bootstrap_servers=settings.bootstrap_servers)
    await producer.start()
    try:
        await (await producer.send(topic, first, partition=0))
        batch = producer.create_batch()
        batch._builder.append(0, timestamp=None, key=None, value=a, headers=[])
        batch._builder.append(5, timestamp=None, key=None, value=b, headers=[])
        batch._relative_offset = 6
        await (await producer.send_batch(batch, topic, partition=0))
        await (await producer.send(topic, last, partition=0))
    finally:
        await producer.stop()


def next_offsets(placed: list[tuple[int, int]]) -> dict[int, int]:
    """Per partition, one past the last offset the producer was given."""
    ends: dict[int, int] = {}
    for partition, offset in placed:
        ends[partition] = max(ends.get(partition, 0), offset + 1)
    return ends


async def read_until(
    settings: Settings,
    topic: str,
    done: Callable[[list[dict[str, Any]]], bool],
    timeout: float,
) -> list[dict[str, Any]]:
    """A topic's records as JSON, read until `done(records)` or the timeout."""
    found: list[dict[str, Any]] = []

    async def read() -> None:
        async for record in follow(settings, [topic], from_beginning=True):
            found.append(orjson.loads(record.value))
            if done(found):
                return

    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(read(), timeout)
    return found


def every_event(wanted: set[str]) -> Callable[[list[dict[str, Any]]], bool]:
    """A `done` for `read_until`: true once records for all `wanted` event ids were read.

    Each record is looked at once. Rebuilding the set of ids read at every record made
    a 20,000-event test's reader quadratic: it took a core from the worker under
    test and ran on for 40 s after the last verdict.
    """
    missing = set(wanted)
    looked_at = 0

    def done(found: list[dict[str, Any]]) -> bool:
        nonlocal looked_at
        for record in found[looked_at:]:
            missing.discard(record["event_id"])
        looked_at = len(found)
        return not missing

    return done


def publish_and_wait(
    settings: Settings,
    docs: list[dict[str, Any]],
    timeout: float = 60,
    key: Callable[[bytes], bytes | None] = key_of,
) -> list[dict[str, Any]]:
    """Publish events (keyed by claim id unless `key` says otherwise); return every
    verdict on the topic once these events have theirs.

    A rebalance may deliver an event twice (at-least-once): verdicts are matched by
    event_id, not counted.
    """
    wanted = {d["event_id"] for d in docs}
    asyncio.run(publish(settings, [encode(d) for d in docs], key=key))

    done = every_event(wanted)
    verdicts = asyncio.run(read_until(settings, settings.topic_verdicts, done, timeout))
    assert done(verdicts), f"{len(wanted - {v['event_id'] for v in verdicts})} verdicts missing"
    return verdicts
