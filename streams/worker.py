"""Runs the Faust worker process with the app built from settings."""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
import time

from aiokafka.admin import AIOKafkaAdminClient

from streams.settings import Settings

log = logging.getLogger(__name__)

MAX_BACKOFF_S = 30.0


class BrokerTLSError(RuntimeError):
    """The broker's certificate failed verification: retrying cannot help."""


def _check_tls(settings: Settings) -> None:
    """A TLS handshake with each bootstrap server, so a wrong CA fails now, not in a retry loop."""
    context = settings.ssl_context
    if context is None:
        return
    for server in settings.bootstrap_servers:
        host, _, port = server.rpartition(":")
        try:
            with (
                socket.create_connection((host, int(port)), timeout=5) as sock,
                context.wrap_socket(sock, server_hostname=host),
            ):
                return
        except ssl.SSLCertVerificationError as exc:
            raise BrokerTLSError(
                f"TLS verification of broker {server} failed: {exc.verify_message}; "
                "check J9262_SSL_CAFILE and J9262_SSL_CHECK_HOSTNAME"
            ) from exc
        except ssl.SSLError as exc:
            raise BrokerTLSError(f"TLS handshake with broker {server} failed: {exc}") from exc
        except OSError:
            continue
    raise ConnectionError("no bootstrap server accepted a connection")


async def _bootstrap(settings: Settings) -> None:
    admin = AIOKafkaAdminClient(
        bootstrap_servers=settings.bootstrap_servers,
        request_timeout_ms=5000,
        **settings.aiokafka_security(),
    )
    try:
        await admin.start()
    finally:
        await admin.close()


def wait_for_broker(settings: Settings) -> None:
    """Block until the brokers answer, backing off from 1 s to 30 s between tries."""
    delay = 1.0
    deadline = time.monotonic() + settings.startup_timeout_s if settings.startup_timeout_s else None
    while True:
        try:
            _check_tls(settings)
            asyncio.run(_bootstrap(settings))
            return
        except BrokerTLSError:
            raise
        except Exception as exc:
            if deadline is not None and time.monotonic() + delay > deadline:
                raise ConnectionError(
                    f"broker {settings.broker_url} not reachable after "
                    f"{settings.startup_timeout_s:.0f} s: {exc}"
                ) from exc
            log.warning(
                "broker %s not reachable (%s); retrying in %.0f s",
                settings.broker_url,
                type(exc).__name__,
                delay,
            )
            time.sleep(delay)
            delay = min(delay * 2, MAX_BACKOFF_S)


def run_worker(settings: Settings) -> int:
    """Blocks until SIGTERM/SIGINT; Faust then commits offsets and stops its services."""
    from faust.worker import Worker

    from streams.app import create_app
    from streams.logs import logging_config, setup

    setup(settings.log_level, settings.log_format)
    try:
        wait_for_broker(settings)
    except (BrokerTLSError, ConnectionError) as exc:
        log.error("cannot start: %s", exc)
        return 2
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    app = create_app(settings)
    worker = Worker(
        app,
        loglevel=settings.log_level,
        logging_config=logging_config(settings.log_level, settings.log_format),
        quiet=True,
        redirect_stdouts=False,
        workdir=str(settings.data_dir),
    )
    log.info(
        "starting worker app_id=%s broker=%s topics=%s",
        settings.app_id,
        settings.broker_url,
        settings.topic_lines,
    )
    try:
        worker.execute_from_commandline()
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0
