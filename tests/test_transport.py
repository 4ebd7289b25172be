"""The transport: Faust's aiokafka consumer and producer, with this project's changes."""

from __future__ import annotations

import asyncio
from pathlib import Path

from streams import transport
from streams.app import create_app
from streams.settings import Settings


def test_worker_consumer_takes_the_fetch_wait_from_settings(tmp_path: Path) -> None:
    async def created_wait() -> int:
        app = create_app(Settings(_env_file=None, fetch_max_wait_ms=37, data_dir=tmp_path))
        thread = app.consumer._thread  # type: ignore[attr-defined]
        assert isinstance(thread, transport.ConsumerThread)
        assert isinstance(app.producer, transport.Producer)
        consumer = thread._create_worker_consumer(app.transport)
        wait: int = consumer._fetch_max_wait_ms
        await consumer.stop()
        return wait

    assert asyncio.run(created_wait()) == 37
    assert transport.FAUST_FETCH_MAX_WAIT_MS != 37
