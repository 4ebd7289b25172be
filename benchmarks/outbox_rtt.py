"""How the outbox sends when the broker is slow to answer, beside aiokafka's own send.

    .venv/bin/python benchmarks/outbox_rtt.py [DELAY_MS ...]

A proxy in front of the embedded broker holds each of the broker's replies for
DELAY_MS (0 and 20 by default), as a loaded or distant broker would. Each run
queues 20,000 records of 1 KB over three topics of four partitions and waits
until all are acknowledged: once through the outbox, once through aiokafka's
per-record `send` (the path Faust's sends take). aiokafka keeps one unsent batch
per partition, so a sender that fills partitions one after another moves one
batch per round trip; one that fills them side by side moves a batch of each.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import threading
import time
from pathlib import Path

from streams.settings import Settings, isolated
from streams.stream.kafka.batched_producer import Outbox
from streams.stream.kafka.clients import ensure_topics, producer_for
from streams.stream.kafka.embedded import EmbeddedBroker, free_port

RECORDS = 20_000
TOPICS = ("rtt-a", "rtt-b", "rtt-c")


def start_delaying_proxy(port: int, broker_port: int, delay_s: float) -> None:
    """Forwards requests at once and each chunk of a reply after `delay_s`."""

    async def pipe(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay: float
    ) -> None:
        try:
            while data := await reader.read(1 << 20):
                if delay:
                    await asyncio.sleep(delay)
                writer.write(data)
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()

    async def handle(client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        broker_r, broker_w = await asyncio.open_connection("127.0.0.1", broker_port)
        await asyncio.gather(pipe(client_r, broker_w, 0), pipe(broker_r, client_w, delay_s))

    async def serve(ready: threading.Event) -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", port)
        ready.set()
        async with server:
            await server.serve_forever()

    ready = threading.Event()
    threading.Thread(target=lambda: asyncio.run(serve(ready)), daemon=True).start()
    ready.wait(10)


async def through_outbox(settings: Settings) -> float:
    producer = producer_for(settings)
    await producer.start()
    outbox = Outbox(lambda: producer, max_pending=RECORDS)
    start = time.perf_counter()
    for i in range(RECORDS):
        outbox.send(TOPICS[i % len(TOPICS)], f"k{i}".encode(), b"x" * 1000)
    await outbox.settle()
    seconds = time.perf_counter() - start
    await outbox.stop()
    await producer.stop()
    if outbox.failed:
        raise RuntimeError(f"{outbox.failed} records refused")
    return seconds


async def through_send(settings: Settings) -> float:
    producer = producer_for(settings)
    await producer.start()
    start = time.perf_counter()
    for i in range(RECORDS):
        await producer.send(TOPICS[i % len(TOPICS)], b"x" * 1000, key=f"k{i}".encode())
    await producer.flush()
    seconds = time.perf_counter() - start
    await producer.stop()
    return seconds


def main(delays_ms: list[float]) -> None:
    for delay_ms in delays_ms:
        with tempfile.TemporaryDirectory() as tmp:
            proxy_port = free_port()
            with EmbeddedBroker(
                advertised=f"127.0.0.1:{proxy_port}", log_file=Path(tmp) / "broker.log"
            ) as broker:
                start_delaying_proxy(proxy_port, broker.port, delay_ms / 1000)
                settings = isolated(broker.url, "rtt", Path(tmp) / "data", 0)
                asyncio.run(ensure_topics(settings, TOPICS))
                for attempt in (1, 2):
                    for name, run in (("outbox", through_outbox), ("aiokafka send", through_send)):
                        seconds = asyncio.run(run(settings))
                        print(
                            f"reply delay {delay_ms:g} ms, run {attempt}, {name}: "
                            f"{RECORDS / seconds:,.0f} records/s",
                            flush=True,
                        )


if __name__ == "__main__":
    main([float(a) for a in sys.argv[1:]] or [0, 20])
