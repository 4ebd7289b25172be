"""Faust's aiokafka transport, with changelog high watermarks taken from a fetch.

Table recovery reads each changelog partition up to the end offset ListOffsets
reports. The embedded broker (Tansu) answers with the last record batch's base
offset + 1, short of the true end whenever that batch holds several records,
so a restarted worker would recover stale table values. The high watermark in
a fetch response is right on every broker: this consumer asks both and keeps
the larger. On Kafka they agree; the cost is one fetch per partition at recovery.

Faust also fixes the consumer's fetch wait at 1.5 s. Kafka answers a fetch as
soon as records arrive, so the wait costs nothing there; Tansu holds an empty
fetch for the whole wait, which put up to 1.5 s on every hop. The worker's
consumer takes `app.fetch_max_wait_ms` instead (the `fetch_max_wait_ms` setting).

Registered as the `j9262` transport scheme; `streams.app` uses it for the
consumer only.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import cast

from aiokafka import AIOKafkaConsumer, TopicPartition
from faust.transport.drivers import TRANSPORTS
from faust.transport.drivers import aiokafka as driver
from faust.types import TP

SCHEME = "j9262"
PROBE_TIMEOUT_S = 10.0
FAUST_FETCH_MAX_WAIT_MS = 1500


class ConsumerThread(driver.AIOKafkaConsumerThread):
    def _create_worker_consumer(self, transport: driver.Transport) -> AIOKafkaConsumer:
        consumer = super()._create_worker_consumer(transport)
        consumer._fetch_max_wait_ms = getattr(
            self.app, "fetch_max_wait_ms", FAUST_FETCH_MAX_WAIT_MS
        )
        return consumer

    async def _highwaters(self, partitions: list[TP]) -> Mapping[TP, int]:
        reported: dict[TP, int] = dict(await super()._highwaters(partitions))
        probe = {
            TopicPartition(tp.topic, tp.partition): tp
            for tp, end in reported.items()
            if end and end > 0
        }
        if not probe:
            return reported
        client = self._create_client_consumer(cast(driver.Transport, self.transport))
        await client.start()
        try:
            client.assign(list(probe))
            for tp, faust_tp in probe.items():
                client.seek(tp, reported[faust_tp] - 1)
            pending = set(probe)
            deadline = time.monotonic() + PROBE_TIMEOUT_S
            while pending and time.monotonic() < deadline:
                await client.getmany(*pending, timeout_ms=200)
                for tp in list(pending):
                    highwater = client.highwater(tp)
                    if highwater is not None:
                        reported[probe[tp]] = max(reported[probe[tp]], highwater)
                        pending.discard(tp)
        finally:
            await client.stop()
        return reported


class Consumer(driver.Consumer):
    def _new_consumer_thread(self) -> ConsumerThread:
        return ConsumerThread(self, loop=self.loop, beacon=self.beacon)


class Transport(driver.Transport):
    Consumer = Consumer


def consumer_urls(bootstrap_servers: list[str]) -> list[str]:
    return [f"{SCHEME}://{server}" for server in bootstrap_servers]


def register() -> None:
    TRANSPORTS.aliases.setdefault(SCHEME, f"{__name__}:Transport")
