"""Runs the Faust worker process with the app built from settings."""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
import time

from aiokafka import errors
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.conn import create_conn

from streams import refdata
from streams.refdata import RefdataError
from streams.settings import Settings
from streams.stream.exits import (
    CODEC_INSTALL_HINT,
    EXIT_BAD_REFDATA,
)
from streams.stream.intake import profile_error
from streams.stream.kafka import compat
from streams.stream.kafka.clients import ensure_topics

log = logging.getLogger(__name__)

MAX_BACKOFF_S = 30.0


class BrokerTLSError(RuntimeError):
    """The broker's certificate failed verification: retrying cannot help."""


class BrokerAuthError(RuntimeError):
    """The broker refused the SASL login: retrying cannot help."""


# How a refused SASL login surfaces in aiokafka: Kafka answers SaslAuthenticate with
# an error; a SCRAM server may instead end the exchange without a signature
# (KeyError/ValueError in aiokafka's SCRAM client), as Tansu does for an unknown user.
SASL_REFUSALS = (
    errors.AuthenticationFailedError,
    errors.SaslAuthenticationFailed,
    errors.UnsupportedSaslMechanismError,
    KeyError,
    ValueError,
)


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


async def _check_sasl(settings: Settings) -> None:
    """One SASL login to a bootstrap server, so wrong credentials fail now, not in a retry loop."""
    if not settings.security_protocol.startswith("SASL"):
        return
    for server in settings.bootstrap_servers:
        host, _, port = server.rpartition(":")
        port_number = int(port)
        try:
            conn = await create_conn(
                host, port_number, request_timeout_ms=5000, **settings.aiokafka_security()
            )
        except SASL_REFUSALS as exc:
            # A Kafka error carries the broker's own reason; a client-side one, only its type.
            reason = str(exc) if isinstance(exc, errors.KafkaError) else type(exc).__name__
            raise BrokerAuthError(
                f"broker {server} refused the SASL {settings.sasl_mechanism} login of user "
                f"{settings.sasl_username!r} ({reason}); check J9262_SASL_USERNAME, "
                "J9262_SASL_PASSWORD and J9262_SASL_MECHANISM"
            ) from exc
        except (OSError, errors.KafkaError):
            continue
        conn.close()
        return
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
            asyncio.run(_check_sasl(settings))
            asyncio.run(_bootstrap(settings))
            return
        except (BrokerTLSError, BrokerAuthError):
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


def _create_missing_topics(settings: Settings) -> None:
    """Creates the contract topics that do not exist yet, before Faust starts.

    Left to the broker, an output topic is auto-created by the first send's metadata
    request; the embedded broker now and then never answers that request, which
    stalled the worker's producer. On Kafka without the right to create topics,
    existing topics are all it needs.
    """
    try:
        asyncio.run(ensure_topics(settings, settings.contract_topics))
    except errors.KafkaError as exc:
        log.warning("could not create missing topics (%s); using what exists", exc)


def refdata_ok(settings: Settings) -> bool:
    """Loads the reference data once before anything else, logging each error on its own line,
    so bad data stops the worker at once, with or without a broker."""
    try:
        refdata.load(settings.refdata_dir)
    except RefdataError as exc:
        _log_refdata_errors(exc)
        return False
    return True


def _log_refdata_errors(exc: RefdataError) -> None:
    for line in exc.errors:
        log.error("cannot start: reference data: %s", line)


def missing_codecs() -> list[str]:
    """Kafka compression codecs this install cannot read or write (gzip needs nothing)."""
    from aiokafka import codec

    available = {"snappy": codec.has_snappy, "lz4": codec.has_lz4, "zstd": codec.has_zstd}
    return [name for name, has in available.items() if not has()]


def check_codecs(settings: Settings) -> str | None:
    """Why the worker cannot start for lack of a codec, if it cannot; warns when input
    in some codec would stop it later."""
    missing = missing_codecs()
    if settings.compression in missing:
        return f"J9262_COMPRESSION={settings.compression} needs its codec library; " + (
            CODEC_INSTALL_HINT
        )
    if missing:
        log.warning(
            "input compressed with %s cannot be read and would stop the worker; %s",
            ", ".join(missing),
            CODEC_INSTALL_HINT,
        )
    return None


def use_event_loop(name: str) -> str:
    """Installs the event-loop policy for the loops Faust creates (its own and its
    consumer thread's); returns the loop the worker will run on."""
    if name == "uvloop":
        try:
            import uvloop
        except ImportError:
            log.warning("uvloop is not installed; the worker runs on asyncio's own loop")
            return "asyncio"
        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    return name


def run_worker(settings: Settings) -> int:
    """Blocks until SIGTERM/SIGINT; Faust then commits offsets and stops its services."""
    from faust.worker import Worker

    from streams.ops import heap
    from streams.ops.logs import logging_config, setup
    from streams.stream.app import create_app

    setup(settings.log_level, settings.log_format, settings.log_repeat_interval_s)
    if not refdata_ok(settings):
        return EXIT_BAD_REFDATA
    bad_profile = profile_error(settings)
    if bad_profile is not None:
        log.error("cannot start: %s", bad_profile)
        return 2
    loop = use_event_loop(settings.event_loop)
    unable = check_codecs(settings)
    if unable is not None:
        log.error("cannot start: %s", unable)
        return 2
    try:
        wait_for_broker(settings)
    except (BrokerTLSError, BrokerAuthError, ConnectionError) as exc:
        log.error("cannot start: %s", exc)
        return 2
    _create_missing_topics(settings)
    settings = compat.resolved(settings)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    try:
        app = create_app(settings)
    except RefdataError as exc:  # changed while the broker was awaited
        _log_refdata_errors(exc)
        return EXIT_BAD_REFDATA
    worker = Worker(
        app,
        loglevel=settings.log_level,
        logging_config=logging_config(
            settings.log_level, settings.log_format, settings.log_repeat_interval_s
        ),
        quiet=True,
        redirect_stdouts=False,
        workdir=str(settings.data_dir),
    )
    log.info(
        "starting worker app_id=%s broker=%s topics=%s loop=%s",
        settings.app_id,
        settings.broker_url,
        settings.topic_lines,
        loop,
    )
    heap.settle()  # reference data and the app, built: out of every full collection
    try:
        worker.execute_from_commandline()
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0
