"""`broker_compat`: which embedded-broker workarounds a worker is built with.

With `kafka` none of them is on the path: the app's transport, consumer and consumer
thread are the general ones, whose methods are Faust's where a workaround would be.
With `tansu` each is there. (The workarounds' own behaviour: test_transport.py,
test_clients.py; against the real broker: tests/integration.)
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from faust.transport.drivers import aiokafka as driver

from streams.settings import Settings
from streams.stream.app import create_app
from streams.stream.kafka import compat, transport
from streams.stream.kafka.embedded import EmbeddedBroker, free_port


def built(tmp_path: Path, mode: str) -> tuple[object, object, object]:
    """The app's transport, consumer and consumer thread for `broker_compat=mode`."""
    app = create_app(Settings(_env_file=None, data_dir=tmp_path, broker_compat=mode))
    consumer = app.consumer
    return app.transport, consumer, consumer._thread  # type: ignore[attr-defined]


def test_kafka_installs_none_of_the_workarounds(tmp_path: Path) -> None:
    transport_, consumer, thread = built(tmp_path, "kafka")
    assert type(transport_) is transport.Transport
    assert type(consumer) is transport.Consumer
    assert type(thread) is transport.ConsumerThread
    assert not hasattr(consumer, "jumps")
    # No jump check: the base consumer's hook drops nothing.
    assert type(consumer)._past_a_jump is transport.Consumer._past_a_jump
    assert asyncio.run(consumer._past_a_jump(None, 10**9)) is False  # type: ignore[attr-defined]
    # Faust's own high watermarks (ListOffsets).
    assert type(thread)._highwaters is driver.AIOKafkaConsumerThread._highwaters


def test_kafka_keeps_the_general_guarantees(tmp_path: Path) -> None:
    """Commits after settle and acknowledgement, the codec stop, the batched producer
    and the fetch wait are not workarounds."""
    app = create_app(Settings(_env_file=None, data_dir=tmp_path, broker_compat="kafka"))
    assert isinstance(app.producer, transport.Producer)
    assert app.outbox is not None  # type: ignore[attr-defined]
    consumer = app.consumer
    assert type(consumer)._commit_offsets is transport.Consumer._commit_offsets
    assert type(consumer)._new_offset is transport.Consumer._new_offset
    thread = consumer._thread  # type: ignore[attr-defined]
    assert type(thread).getmany is transport.ConsumerThread.getmany
    assert type(thread)._create_worker_consumer is transport.ConsumerThread._create_worker_consumer


def test_tansu_installs_each_workaround(tmp_path: Path) -> None:
    transport_, consumer, thread = built(tmp_path, "tansu")
    assert type(transport_) is transport.TansuTransport
    assert type(consumer) is transport.TansuConsumer
    assert isinstance(consumer.jumps, compat.OffsetJumps)
    assert type(thread) is transport.TansuConsumerThread
    assert type(thread)._highwaters is not driver.AIOKafkaConsumerThread._highwaters


def test_auto_not_yet_resolved_keeps_the_workarounds_on(tmp_path: Path) -> None:
    """Only the worker resolves `auto` (it asks the broker); anything built without
    asking takes the side that is correct on every broker."""
    assert compat.built_mode(Settings(_env_file=None)) == "tansu"
    _, consumer, _ = built(tmp_path, "auto")
    assert type(consumer) is transport.TansuConsumer


@pytest.mark.parametrize("mode", ["tansu", "kafka"])
def test_an_explicit_mode_is_taken_without_asking_the_broker(mode: str) -> None:
    settings = Settings(_env_file=None, broker_url="kafka://127.0.0.1:1", broker_compat=mode)
    assert asyncio.run(compat.mode_of(settings)) == mode
    assert compat.resolved(settings) is settings


def test_auto_keeps_the_workarounds_when_the_broker_cannot_be_asked() -> None:
    settings = Settings(_env_file=None, broker_url=f"kafka://127.0.0.1:{free_port()}")
    resolved = compat.resolved(settings)
    assert resolved.broker_compat == "tansu"
    assert resolved.broker_url == settings.broker_url


def test_the_embedded_broker_is_started_with_the_cluster_id_auto_recognises() -> None:
    command = EmbeddedBroker(port=free_port()).command()
    assert command[command.index("--cluster-id") + 1] == compat.TANSU_CLUSTER_ID


def test_unknown_modes_are_refused() -> None:
    with pytest.raises(ValueError, match="broker_compat"):
        Settings(_env_file=None, broker_compat="redpanda")


class TestOffsetJumps:
    """The one jump check both readers share; the readers' use of it is tested in
    test_transport.py (the worker's consumer) and test_clients.py (the plain reader)."""

    def test_in_sequence_nothing_is_fetched_again(self) -> None:
        jumps: compat.OffsetJumps[int] = compat.OffsetJumps()
        assert [jumps.refetch_from(0, o, o) for o in range(5)] == [None] * 5

    def test_no_expectation_nothing_to_compare(self) -> None:
        jumps: compat.OffsetJumps[int] = compat.OffsetJumps()
        assert jumps.refetch_from(0, 40, None) is None

    def test_a_jump_is_fetched_again_once(self) -> None:
        jumps: compat.OffsetJumps[int] = compat.OffsetJumps()
        assert jumps.refetch_from(0, 7, 3) == 3
        assert jumps.held_back(0, 8), "fetched before the seek back: it comes again"
        assert not jumps.held_back(0, 7)
        assert jumps.refetch_from(0, 7, 3) is None, "seen again: real"

    def test_records_from_the_missing_batch_end_the_wait(self) -> None:
        jumps: compat.OffsetJumps[int] = compat.OffsetJumps()
        jumps.refetch_from(0, 7, 3)
        assert not jumps.held_back(0, 3)
        assert not jumps.held_back(0, 8)

    def test_forgetting_a_partition_ends_its_wait_only(self) -> None:
        jumps: compat.OffsetJumps[int] = compat.OffsetJumps()
        jumps.refetch_from(0, 7, 3)
        jumps.refetch_from(1, 7, 3)
        jumps.forget(0)
        assert not jumps.held_back(0, 9)
        assert jumps.held_back(1, 9)
        assert jumps.refetch_from(0, 7, 3) is None, "still checked once"
        jumps.clear()
        assert jumps.refetch_from(0, 7, 3) == 3
