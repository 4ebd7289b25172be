"""Whether the broker answers: the worker's readiness follows it."""

from __future__ import annotations

import asyncio
import logging
import time

from aiokafka import errors
from aiokafka.conn import AIOKafkaConnection, create_conn
from aiokafka.protocol.metadata import MetadataRequest

from streams.settings import Settings

log = logging.getLogger(__name__)


async def connect(settings: Settings, timeout_ms: int) -> AIOKafkaConnection:
    """A connection of its own to the first bootstrap server that accepts one."""
    for server in settings.bootstrap_servers:
        host, _, port = server.rpartition(":")
        try:
            return await create_conn(
                host, int(port), request_timeout_ms=timeout_ms, **settings.aiokafka_security()
            )
        except (OSError, errors.KafkaError, TimeoutError):
            continue
    raise errors.KafkaConnectionError("no bootstrap server accepted a connection")


class BrokerWatch:
    """Whether the broker answers: a metadata request for no topics every
    `broker_probe_interval_s`, on a connection of its own.

    Why a request of its own: a paused or cut-off broker (a stopped process, a
    network partition) leaves the worker's connections open and silent. The consumer
    then logs nothing and its requests time out only after a minute or more; a
    broker that is down refuses connections, which aiokafka logs but reports nowhere
    a probe can read without reaching into the consumer's thread or the client's
    private state. One small request with a deadline catches both, on the worker's
    event loop. A metadata request for no topics is the cheapest request every
    Kafka-protocol broker answers, and it changes nothing there.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.last_answer = time.monotonic()  # the worker starts only once the broker answered
        self._conn: AIOKafkaConnection | None = None
        self._silent_logged = False

    def silent_for(self) -> float:
        """Seconds since the broker last answered (0 while probes get answers)."""
        return max(time.monotonic() - self.last_answer, 0.0)

    def reachable(self) -> bool:
        return self.silent_for() < self.settings.broker_unreachable_s

    async def probe(self) -> bool:
        """One metadata request; True when the broker answered it."""
        try:
            if self._conn is None or not self._conn.connected():
                self._conn = await connect(
                    self.settings, int(self.settings.broker_unreachable_s * 1000)
                )
            await asyncio.wait_for(
                self._conn.send(MetadataRequest([])), self.settings.broker_unreachable_s
            )
        except (OSError, errors.KafkaError, TimeoutError):
            self.close()
            if not self.reachable() and not self._silent_logged:
                self._silent_logged = True
                log.warning(
                    "broker %s has not answered for %.0f s: not ready",
                    self.settings.broker_url,
                    self.silent_for(),
                )
            return False
        if self._silent_logged:
            self._silent_logged = False
            log.info(
                "broker %s answers again after %.0f s", self.settings.broker_url, self.silent_for()
            )
        self.last_answer = time.monotonic()
        return True

    async def run(self) -> None:
        """Probes until cancelled (the app's stop cancels its tasks)."""
        try:
            while True:
                await self.probe()
                await asyncio.sleep(self.settings.broker_probe_interval_s)
        finally:
            self.close()

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()
