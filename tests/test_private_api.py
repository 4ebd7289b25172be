"""Every private attribute of Faust, aiokafka, pyx12 and pydantic that this project relies on.

The transport, the batched producer, the web port and the X12 adapter reach past
these libraries' public APIs (each place says why). The version ranges in
pyproject.toml admit releases nobody here has run, so this test names each such
attribute and fails with the place that needs it when an upgrade moves or renames
it, before a worker does so in production.
"""

from __future__ import annotations

import asyncio
import inspect
from dataclasses import dataclass

import faust
import faust.transport.drivers.aiokafka as faust_aiokafka
import faust.transport.producer as faust_producer
import faust.web.drivers.aiohttp as faust_aiohttp
import pytest
import pyx12.map_if
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.client import AIOKafkaClient
from faust.tables.manager import TableManager
from faust.tables.recovery import Recovery
from faust.transport.consumer import Consumer as FaustConsumer
from mode.utils.queues import FlowControlEvent


@dataclass(frozen=True)
class Callable_:
    owner: type | object
    name: str
    params: tuple[str, ...]
    used_by: str


@dataclass(frozen=True)
class InstanceAttribute:
    owner: type
    name: str
    used_by: str


CALLABLES = [
    Callable_(
        faust_aiokafka.AIOKafkaConsumerThread,
        "_create_worker_consumer",
        ("transport",),
        "transport.ConsumerThread sets the worker consumer's fetch wait",
    ),
    Callable_(
        faust_aiokafka.AIOKafkaConsumerThread,
        "_create_client_consumer",
        ("transport",),
        "transport.TansuConsumerThread reads high watermarks with a fetch",
    ),
    Callable_(
        faust_aiokafka.AIOKafkaConsumerThread,
        "_highwaters",
        ("partitions",),
        "transport.TansuConsumerThread corrects the embedded broker's changelog end offsets",
    ),
    Callable_(
        faust_aiokafka.AIOKafkaConsumerThread,
        "getmany",
        ("active_partitions", "timeout"),
        "transport.ConsumerThread stops once on a batch it cannot decompress",
    ),
    Callable_(
        faust_aiokafka.Consumer,
        "_new_consumer_thread",
        (),
        "transport.Consumer installs its ConsumerThread",
    ),
    Callable_(faust_aiokafka.Consumer, "_new_offset", ("tp",), "transport.Consumer commits"),
    Callable_(
        faust_aiokafka.Consumer, "_commit_offsets", ("offsets", "start_new_transaction"), "commits"
    ),
    Callable_(faust_aiokafka.Consumer, "_commit_tps", ("tps", "start_new_transaction"), "commits"),
    Callable_(faust_aiokafka.Consumer, "perform_seek", (), "transport.Consumer's commit floor"),
    Callable_(
        faust_aiokafka.Consumer,
        "on_partitions_revoked",
        ("revoked",),
        "transport.Consumer forgets revoked partitions",
    ),
    Callable_(
        faust_aiokafka.Producer,
        "_ensure_producer",
        (),
        "transport.Producer hands its aiokafka producer to the batched producer",
    ),
    Callable_(faust.App, "_new_web", (), "app.App serves the web port without Faust's views"),
    Callable_(
        AIOKafkaClient,
        "_wait_on_metadata",
        ("topic",),
        "outbox: partitions of a topic before batching",
    ),
    Callable_(
        AIOKafkaClient,
        "force_metadata_update",
        (),
        "clients: a reader sees new partitions",
    ),
    Callable_(
        AIOKafkaProducer,
        "_partition",
        ("topic", "partition", "key", "value", "serialized_key", "serialized_value"),
        "outbox: the partition aiokafka itself would choose for a record",
    ),
    Callable_(
        faust.Stream,
        "_enable_passive",
        ("channel",),
        "batches.take_batches fills a batch in the background, as take_events does",
    ),
    Callable_(
        pyx12.map_if,
        "load_map_file",
        ("map_file", "param", "map_path"),
        "adapters.x12 caches the implementation-guide maps",
    ),
]

INSTANCE_ATTRIBUTES = [
    InstanceAttribute(
        AIOKafkaConsumer, "_fetch_max_wait_ms", "transport.ConsumerThread's fetch wait"
    ),
    InstanceAttribute(AIOKafkaConsumer, "_client", "clients: metadata refresh of a reader"),
    InstanceAttribute(AIOKafkaProducer, "client", "outbox: topic metadata"),
    InstanceAttribute(
        FaustConsumer, "_committed_offset", "transport.Consumer: what was committed last"
    ),
    InstanceAttribute(
        faust_producer.ProducerBuffer, "pending", "transport.Producer.settle waits for it"
    ),
    InstanceAttribute(
        faust_aiokafka.Consumer,
        "_read_offset",
        "transport.Consumer: reset before a seek, set back at a re-read's first record",
    ),
    InstanceAttribute(
        faust_aiokafka.Consumer,
        "_acked",
        "transport.Consumer: acknowledgements dropped to re-read; its head holds commits",
    ),
    InstanceAttribute(
        faust_aiokafka.Consumer,
        "_acked_index",
        "transport.Consumer: which fetched records were processed",
    ),
    InstanceAttribute(faust_aiokafka.Consumer, "_gap", "transport.Consumer: offsets never seen"),
    InstanceAttribute(
        faust_aiokafka.Consumer, "_thread", "transport.Consumer: seek a partition to its start"
    ),
    InstanceAttribute(
        asyncio.Queue,
        "_queue",
        "transport.Producer.settle: the records queued; transport.FlowControl: those it clears",
    ),
    InstanceAttribute(
        FlowControlEvent, "_queues", "transport.FlowControl: the agents' queues it empties"
    ),
    InstanceAttribute(
        Recovery,
        "completed",
        "web.readiness, the deadline ticks and the heap's settling wait for recovered tables",
    ),
]

BLUEPRINT_LISTS = ("default_blueprints", "production_blueprints", "debug_blueprints")


@pytest.mark.parametrize(
    "item", CALLABLES, ids=lambda c: f"{getattr(c.owner, '__name__', c.owner)}.{c.name}"
)
def test_private_callables_are_there_with_the_parameters_we_pass(item: Callable_) -> None:
    owner = getattr(item.owner, "__name__", item.owner)
    found = getattr(item.owner, item.name, None)
    assert found is not None, f"{owner}.{item.name} is gone; it is used by {item.used_by}"
    params = tuple(p for p in inspect.signature(found).parameters if p != "self")
    assert params[: len(item.params)] == item.params, (
        f"{owner}.{item.name} now takes {params}, not {item.params}; used by {item.used_by}"
    )


@pytest.mark.parametrize("item", INSTANCE_ATTRIBUTES, ids=lambda a: f"{a.owner.__name__}.{a.name}")
def test_private_instance_attributes_are_still_set(item: InstanceAttribute) -> None:
    sources = "".join(inspect.getsource(c) for c in item.owner.__mro__ if c is not object)
    assert f"self.{item.name} =" in sources or f"self.{item.name}:" in sources, (
        f"{item.owner.__name__} no longer sets self.{item.name}; used by {item.used_by}"
    )


def test_faust_keeps_the_current_event_in_a_context_variable() -> None:
    """tables.writing_for sets it so that a table write in a batch finds its event."""
    import contextvars

    import faust.streams

    assert isinstance(getattr(faust.streams, "_current_event", None), contextvars.ContextVar), (
        "faust.streams._current_event is gone; tables.writing_for (one hop) needs it"
    )
    assert faust.streams.current_event.__module__ == "faust.streams"


def test_a_streams_processors_are_the_list_add_processor_appends_to() -> None:
    """batches.take_batches removes the processor it added from `Stream._processors`."""
    app = faust.App("private-api-test", broker="kafka://localhost:1", autodiscover=False)
    stream = app.stream(app.channel())

    def processor(value: object) -> object:
        return value

    stream.add_processor(processor)
    processors = getattr(stream, "_processors", None)
    assert isinstance(processors, list), "faust.Stream._processors is gone (take_batches)"
    assert processors[-1] is processor


def test_the_table_manager_hands_out_its_recovery() -> None:
    """`app.tables.recovery`, which Faust's typed interface (TableManagerT) does not
    declare: readiness, the deadline ticks and `ops.heap`'s settling read it."""
    assert isinstance(getattr(TableManager, "recovery", None), property), (
        "faust's TableManager.recovery is gone; web.readiness and agents.attach need it"
    )


def test_the_web_servers_blueprint_lists_are_class_attributes() -> None:
    """web.PortWeb empties these to serve none of Faust's own views."""
    for name in BLUEPRINT_LISTS:
        assert isinstance(getattr(faust_aiohttp.Web, name, None), list), (
            f"faust's Web has no list {name}; web.PortWeb would serve Faust's views again"
        )


def test_a_pydantic_instance_is_its_four_slots() -> None:
    """validation/trusted.py builds a model by setting these, as validation does; a
    pydantic release that keeps more state would leave such models half made."""
    from pydantic import BaseModel

    assert set(BaseModel.__slots__) == {
        "__dict__",
        "__pydantic_fields_set__",
        "__pydantic_extra__",
        "__pydantic_private__",
    }, f"pydantic's BaseModel now keeps {BaseModel.__slots__}; see validation/trusted.py"
