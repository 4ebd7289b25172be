"""A plain Faust agent doing the raw loop's work: the ceiling one Faust hop sets.

    BENCH_BROKER=host:port BENCH_IN=topic BENCH_OUT=topic BENCH_MODE=event|batch \
        [BENCH_LOOP=uvloop] python benchmarks/passthrough.py worker -l warn --without-web

Consumes the benchmark's events, decodes the JSON and produces a small record
per event, with none of this project's code in the path. `event` awaits each
send, as a first Faust agent would; `batch` takes up to 500 events at a time
and queues the sends. `BENCH_LOOP=uvloop` runs it on uvloop, as the validator's
workers run by default.
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

app = faust.App(
    f"passthrough-{os.environ.get('BENCH_IN', 'in')}",
    broker=f"kafka://{os.environ.get('BENCH_BROKER', 'localhost:9092')}",
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
