"""A plain Faust agent doing the raw loop's work: the ceiling one Faust hop sets.

    BENCH_BROKER=host:port BENCH_IN=topic BENCH_OUT=topic BENCH_MODE=event|batch \
        [BENCH_LOOP=uvloop] [BENCH_DRIVER=kafka|confluent] \
        python benchmarks/passthrough.py worker -l warn --without-web

Consumes the benchmark's events, decodes the JSON and produces a small record
per event, with none of this project's code in the path. `event` awaits each
send, as a first Faust agent would; `batch` takes up to 500 events at a time
and queues the sends. `BENCH_LOOP=uvloop` runs it on uvloop, as the validator's
workers run by default. `BENCH_DRIVER=confluent` runs it on Faust's `confluent://`
transport (confluent-kafka, librdkafka) instead of `kafka://` (aiokafka): see
docs/adr/0006-kafka-client-driver.md.
"""

from __future__ import annotations

import logging
import os
from typing import Any

if os.environ.get("BENCH_LOOP") == "uvloop":
    import mode.loop

    mode.loop.use("uvloop")

import faust
import orjson

DRIVER = os.environ.get("BENCH_DRIVER", "kafka")
if DRIVER == "confluent":
    # Faust 0.15.3's driver with three of its faults worked around, so the measurement
    # gets as far as it can. It still answers no record (docs/adr/0006).
    import asyncio

    from confluent_kafka import TopicPartition
    from faust.transport.drivers import TRANSPORTS, confluent

    class ConsumerThread(confluent.ConfluentConsumerThread):
        async def subscribe(self, topics: Any) -> None:
            """librdkafka hands out an assignment only inside a poll, and Faust polls
            only once partitions are assigned: on plain `confluent://` the worker waits
            for its assignment forever (docs/adr/0006-kafka-client-driver.md). This
            polls until the assignment arrives, and seeks back to any record it got."""
            await super().subscribe(topics)
            await self.call_thread(self._serve_assignment)

        async def _serve_assignment(self) -> None:
            consumer = self._ensure_consumer().consumer
            while not self._assigned and not self.should_stop:
                message = consumer.poll(0)
                if message is not None and not message.error():
                    consumer.seek(
                        TopicPartition(message.topic(), message.partition(), message.offset())
                    )
                await asyncio.sleep(0.05)

        async def _seek_to_committed(self) -> Any:
            """The driver's own awaits `confluent_kafka.Consumer.seek`, which returns
            None: the first rebalance crashes the worker with a TypeError."""
            consumer = self._ensure_consumer().consumer
            committed = consumer.committed(consumer.assignment())
            for tp in committed:
                if tp.offset >= 0:
                    consumer.seek(tp)
            return {
                confluent.ensure_TP(tp): tp.offset if tp.offset >= 0 else None for tp in committed
            }

        def verify_event_path(self, now: float, tp: Any) -> None:
            """Missing in the driver: Faust's livelock check crashes the worker about
            eight seconds after it starts. A no-op turns that check off."""

    class Consumer(confluent.Consumer):
        def _new_consumer_thread(self) -> ConsumerThread:
            return ConsumerThread(self, loop=self.loop, beacon=self.beacon)

    class Transport(confluent.Transport):
        Consumer = Consumer

    TRANSPORTS.aliases["confluent-polling"] = f"{__name__}:Transport"
    DRIVER = "confluent-polling"


app = faust.App(
    f"passthrough-{os.environ.get('BENCH_IN', 'in')}",
    broker=f"{DRIVER}://{os.environ.get('BENCH_BROKER', 'localhost:9092')}",
    store="memory://",
    web_enabled=False,
    producer_linger_ms=2,
    topic_partitions=4,
    # As the benchmark's validator workers have them (Faust's defaults are 60 s and
    # 10 s); Tansu holds a consumer's first JoinGroup for half the session timeout.
    broker_rebalance_timeout=2,
    broker_session_timeout=10,
    broker_heartbeat_interval=1,
)


@app.task
async def quiet_loggers() -> None:
    """`-l warn` sets the handlers' level only: mode leaves the root logger at DEBUG, so
    every debug call in Faust and aiokafka would still build a record and cost the
    pass-through CPU the validator's workers (logs.py sets the root level) do not pay."""
    logging.getLogger().setLevel(os.environ.get("BENCH_LOG_LEVEL", "WARNING"))


source = app.topic(os.environ.get("BENCH_IN", "in"), value_type=bytes, value_serializer="raw")
sink = app.topic(os.environ.get("BENCH_OUT", "out"), value_type=bytes, value_serializer="raw")


def small(value: bytes) -> bytes:
    try:
        doc = orjson.loads(value)
    except orjson.JSONDecodeError:
        return orjson.dumps({"e": None})
    return orjson.dumps({"e": doc.get("event_id") if isinstance(doc, dict) else None})


if os.environ.get("BENCH_MODE", "event") == "event":

    @app.agent(source)
    async def per_event(stream: Any) -> None:
        async for value in stream:
            await sink.send(value=small(value))

else:

    @app.agent(source)
    async def batched(stream: Any) -> None:
        async for values in stream.take(500, within=0.005):
            for value in values:
                sink.send_soon(value=small(value))


if __name__ == "__main__":
    app.main()
