"""Builds the Faust app from settings. Topics live in `topics.py`, agents in `agents.py`."""

from __future__ import annotations

from typing import cast

import faust
from faust.auth import SASLCredentials, SSLCredentials
from faust.web import Web
from mode.utils.objects import cached_property
from mode.utils.queues import FlowControlEvent

from streams.settings import Settings
from streams.stream.exits import exit_after
from streams.stream.kafka import compat, transport
from streams.stream.kafka.batched_producer import Outbox, Topic
from streams.stream.kafka.probe import BrokerWatch


def _credentials(settings: Settings) -> SASLCredentials | SSLCredentials | None:
    if settings.security_protocol.startswith("SASL"):
        assert settings.sasl_password is not None
        return SASLCredentials(
            username=settings.sasl_username,
            password=settings.sasl_password.get_secret_value(),
            mechanism=settings.sasl_mechanism,
            ssl_context=settings.ssl_context,
        )
    if settings.ssl_context is not None:
        return SSLCredentials(settings.ssl_context)
    return None


class App(faust.App):
    """Faust's app with the consumer setting Faust does not expose (see
    `streams.stream.kafka.transport`) and a bound on how long stopping may take."""

    fetch_max_wait_ms: int = transport.FAUST_FETCH_MAX_WAIT_MS
    shutdown_timeout_s: float | None = None
    outbox: Outbox | None = None

    async def on_stop(self) -> None:
        if self.shutdown_timeout_s is not None:
            exit_after(self.shutdown_timeout_s)
        await super().on_stop()

    @cached_property
    def flow_control(self) -> FlowControlEvent:
        """Faust's, telling the consumer which records it throws away unprocessed
        (`transport.FlowControl`)."""
        return transport.FlowControl(self, loop=self.loop)

    def _new_web(self) -> Web:
        """Faust's server without its own views (`streams.stream.web.PortWeb`). Faust has
        no setting for the web driver's class, only this private factory."""
        from streams.stream.web import PortWeb

        return PortWeb(self)


def create_app(settings: Settings) -> faust.App:
    """A Faust app with its topics, tables, agents and web views attached."""
    transport.register()
    mode = compat.built_mode(settings)  # the worker resolves `auto` before: compat.resolved
    app = App(
        settings.app_id,
        broker=settings.broker_url,
        broker_consumer=transport.urls(settings.bootstrap_servers, mode),
        broker_producer=transport.urls(settings.bootstrap_servers, mode),
        broker_credentials=_credentials(settings),
        store=settings.store,
        datadir=str(settings.data_dir),
        processing_guarantee=settings.processing_guarantee,
        topic_partitions=settings.topic_partitions,
        topic_replication_factor=settings.topic_replication_factor,
        broker_commit_interval=settings.commit_interval_s,
        broker_rebalance_timeout=settings.rebalance_timeout_s,
        broker_session_timeout=settings.session_timeout_s,
        broker_heartbeat_interval=settings.heartbeat_interval_s,
        consumer_auto_offset_reset="earliest",
        # A dead letter carries the rejected record in base64, so it can be a third larger.
        producer_max_request_size=settings.max_message_bytes * 2 + 65_536,
        consumer_max_fetch_size=max(4 * 1_048_576, settings.max_message_bytes * 2),
        producer_linger_ms=settings.producer_linger_ms,
        producer_compression_type=settings.compression_type,
        producer_request_timeout=settings.producer_request_timeout_s,
        stream_buffer_maxsize=max(4096, settings.batch_size * 4),
        web_enabled=settings.web_enabled,
        web_bind=settings.web_host,
        web_host=settings.web_host,
        web_port=settings.web_port,
        canonical_url=settings.web_url or f"http://{settings.web_host}:{settings.web_port}",
        web_in_thread=False,
        # Faust's own views, on by default, off (streams.stream.web serves what is needed):
        web_tables_enabled=False,  # /table/...: table contents, patient data
        web_router_enabled=False,  # /router/...: which worker holds which key
        web_stats_enabled=False,  # / and /assignment/: sensor counters, partitions
        web_graph_enabled=False,  # /graph/: the service tree
        web_metrics_enabled=False,  # /performance/: throughput, lag, tables
        worker_redirect_stdouts=False,
        autodiscover=False,
        Topic=Topic,
    )
    if settings.batched_sends and settings.processing_guarantee == "at_least_once":
        app.outbox = Outbox(lambda: cast(transport.Producer, app.producer).kafka_producer())
    app.fetch_max_wait_ms = settings.fetch_max_wait_ms
    app.shutdown_timeout_s = settings.shutdown_timeout_s
    from streams import refdata
    from streams.ops.metrics import Metrics
    from streams.stream import agents, tables, topics, web
    from streams.validation.validator import Validator

    validator = Validator(refdata.load(settings.refdata_dir))
    metrics = Metrics(validator.ruleset_version, validator.refdata.version)
    declared = tables.declare(app, settings)
    agents.attach(
        app,
        topics.declare(app, settings),
        declared,
        settings,
        validator=validator,
        metrics=metrics,
    )
    watch = BrokerWatch(settings)
    app.task(watch.run)
    web.attach(app, declared, metrics, watch, settings.web_token)
    return app
