"""A TLS-terminating TCP proxy in a thread: TLS clients on one port, plain TCP to a broker."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import threading


class TLSProxy:
    def __init__(self, listen_port: int, target_port: int, context: ssl.SSLContext) -> None:
        self.listen_port, self.target_port, self.context = listen_port, target_port, context
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.server: asyncio.base_events.Server | None = None

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(Exception):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        with contextlib.suppress(Exception):
            writer.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.close()
            return
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))

    def __enter__(self) -> TLSProxy:
        self.thread.start()
        start = asyncio.start_server(self._handle, "127.0.0.1", self.listen_port, ssl=self.context)
        self.server = asyncio.run_coroutine_threadsafe(start, self.loop).result(10)
        return self

    def __exit__(self, *_: object) -> None:
        if self.server is not None:
            self.server.close()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
