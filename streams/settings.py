"""Typed settings, read from `J9262_*` environment variables (or a `.env` file).

Defaults run against the embedded broker on 127.0.0.1; point `J9262_BROKER_URL`
and the security settings at a real cluster for production.
"""

from __future__ import annotations

import ssl
from functools import cached_property
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SETTINGS_EXIT_CODE = 2
"""Every command exits with this code when a J9262_* setting is invalid."""

_BROKER_URL_FORMAT = "use kafka://host:port, several separated by ';'"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="J9262_", env_file=".env", extra="ignore", frozen=True
    )

    app_id: str = Field(
        "j9262-validator",
        description="Faust app id, which is the Kafka consumer group: workers with the same "
        "id share the partitions.",
    )
    broker_url: str = Field(
        "kafka://127.0.0.1:9092",
        description="Bootstrap servers: kafka://host:port, several separated by ';'.",
    )

    broker_compat: Literal["auto", "tansu", "kafka"] = Field(
        "auto",
        description="Workarounds for the embedded broker (Tansu; "
        "streams/stream/kafka/compat.py): on with tansu, none with kafka. auto asks the "
        "broker for its cluster id at start-up and takes tansu for Tansu's (tansu_cluster, "
        "which the embedded broker uses), kafka otherwise; if the broker cannot be asked "
        "they stay on (correct on Kafka, one extra fetch). The demo and tests set tansu.",
    )

    topic_lines: str = Field("claims.lines.v1", description="Input topic of claim-line events.")
    topic_verdicts: str = Field("claims.verdicts.v1", description="Output topic of line verdicts.")
    topic_claim_verdicts: str = Field(
        "claims.claim-verdicts.v1", description="Output topic of claim verdicts."
    )
    topic_dead_letters: str = Field(
        "claims.lines.dlq.v1",
        description="Dead-letter topic: records that could not be validated, with the reason "
        "and the original bytes.",
    )
    topic_partitions: int = Field(4, ge=1, description="Partitions for topics the app creates.")
    topic_replication_factor: int = Field(
        1, ge=1, description="Replication factor for topics the app creates; 3 on a cluster."
    )

    processing_guarantee: Literal["at_least_once", "exactly_once"] = Field(
        "at_least_once",
        description="exactly_once needs Kafka transactions; the embedded broker has none.",
    )
    batched_sends: bool = Field(
        True,
        description="Send outputs and changelog writes in batches "
        "(streams.stream.kafka.batched_producer) instead of one by one through Faust; "
        "not under exactly_once.",
    )
    one_hop: bool = Field(
        True,
        description="Answer a line in the agent that reads it when it already sits on its "
        "patient's partition (input keyed by patient id, murmur2, `topic_partitions` "
        "partitions): one Kafka hop instead of two, about 1.9 times the lines a second "
        "(BENCHMARKS.md). "
        "Other lines are forwarded as before. Off: every line is forwarded.",
    )
    store: str = Field(
        "memory://",
        description="Table store: memory:// or rocksdb:// (the `rocksdb` extra; state then "
        "lives under J9262_DATA_DIR, on a volume) for production.",
    )
    rocksdb_write_buffer_mb: int = Field(
        4,
        ge=1,
        le=1024,
        description="RocksDB memtable size per table partition (two at most). Faust's 64 MB "
        "default holds about a quarter million claims per partition in memory before the "
        "first flush: state would cost as much memory as with memory://.",
    )
    rocksdb_block_cache_mb: int = Field(
        8,
        ge=1,
        le=65536,
        description="RocksDB block cache per table partition (Faust's default: 2 GB). A "
        "worker holds two tables on each partition it is assigned.",
    )
    table_compression: Literal["zstd", "none"] = Field(
        "zstd",
        description="How the tables store each patient history and claim, in memory and "
        "in their changelogs: zstd against a built-in dictionary of typical states (a "
        "one-line claim 1.9 kB -> about 170 B, a few µs a write) or plain JSON. Workers "
        "read both forms whatever this is, so it can change between restarts.",
    )
    table_cache_mb: int = Field(
        0,
        ge=0,
        description="Megabytes of JSON each table keeps parsed, of the patient histories "
        "and claims read or written last (in memory up to about ten times that), so the "
        "next line of the same patient or claim does not parse its state again, and a "
        "held history is written from the parts of it the line left alone. Worth it "
        "where many patients are on treatment (a 90-day history is about 95 kB and "
        "milliseconds to parse) with a budget that holds the patients on treatment a "
        "worker sees between two of their lines; a state over 1/64 of the budget is not "
        "held. A held state is used only while the table holds the bytes it came from. "
        "0 (the default) parses every read.",
    )
    data_dir: Path = Field(
        Path(".j9262-data"), description="Faust's data directory (RocksDB tables)."
    )

    web_enabled: bool = Field(
        True, description="Serve /metrics, /livez, /readyz and the claim lookup API."
    )
    web_host: str = Field("127.0.0.1", description="Address the worker's web server binds.")
    web_port: int = Field(
        6066, ge=0, le=65535, description="Port of the worker's web server (0: a free one)."
    )
    web_url: str | None = Field(
        None,
        description="How the other workers reach this one (http://host:port) for claim "
        "lookups; the bind address and port when unset.",
    )
    web_token: SecretStr | None = Field(
        None,
        min_length=1,
        description="Bearer token the claim lookup API (/claims/...) requires; unset: no "
        "authentication, so keep the web port reachable only from trusted networks. "
        "/metrics, /livez and /readyz never ask for it.",
    )
    broker_unreachable_s: float = Field(
        10,
        gt=0,
        description="/readyz answers 503 and worker_ready is 0 once the broker has not "
        "answered for this long.",
    )
    broker_probe_interval_s: float = Field(
        2, gt=0, description="How often the worker asks the broker for its metadata."
    )

    compression: Literal["none", "gzip", "snappy", "lz4", "zstd"] = Field(
        "none",
        description="Compression of the batches the worker writes (verdicts, dead letters, "
        "changelogs). Input in any of these codecs is read whatever this is.",
    )
    trace_headers: str = Field(
        "traceparent,tracestate,x-correlation-id,x-request-id",
        description="Comma-separated names of input record headers (W3C trace context, "
        "correlation ids) copied onto the line's verdict and dead letter; matched without "
        "regard to case. Empty copies none.",
    )

    max_message_bytes: int = Field(
        1_048_576, ge=1024, description="Larger input records are dead-lettered as too_large."
    )
    batch_size: int = Field(
        500, ge=1, description="Most records validate-lines and patient-lines take in one batch."
    )
    batch_linger_s: float = Field(
        0.05,
        ge=0,
        description="Longest wait to fill a batch after its first record. A batch ends "
        "sooner at the last record of its partition the worker knows of, so a worker "
        "that keeps up answers each line at once; from a backlog, a longer wait makes "
        "larger batches (fewer table writes and sends a line) and adds up to this much "
        "to a line's latency.",
    )
    producer_request_timeout_s: float = Field(
        120.0,
        gt=0,
        description="Longest wait for the broker's answer to a producer request, and the "
        "longest a record waits for a broker that does not answer before its send fails "
        "(the worker then exits without committing): broker outages shorter than this "
        "are ridden out. Faust's default of 20 minutes let one lost answer stall a worker.",
    )
    fetch_max_wait_ms: int = Field(
        10,
        ge=0,
        description="Longest a fetch waits for records. Kafka answers as soon as records "
        "arrive, so 500 costs no latency there; the embedded broker holds every empty "
        "fetch this long, so keep it low on it; use 500 on Kafka.",
    )
    producer_linger_ms: int = Field(
        2,
        ge=0,
        le=1000,
        description="Longest the worker's producer holds a record to batch it with others "
        "for the same partition (aiokafka's linger_ms; the outbox hands it one batch per "
        "partition at a time). At a steady rate a short linger writes nearly one record "
        "per batch, and the embedded broker's fetches slow down as a partition's batches "
        "add up (docs/performance/latency.md); a longer one adds up to this much to each "
        "of a line's hops.",
    )
    commit_interval_s: float = Field(
        1.0,
        gt=0,
        description="How often processed offsets are committed, once the verdicts they "
        "cover are answered; a crash repeats about this much work.",
    )
    rebalance_timeout_s: float = Field(
        4.0,
        gt=0,
        description="How long the group coordinator waits for members to rejoin in a "
        "rebalance; use 30-60 on Kafka.",
    )
    session_timeout_s: float = Field(
        10.0,
        gt=0,
        description="A worker silent this long leaves the group. The embedded broker also "
        "holds a worker's first JoinGroup for half of it (at least 2 s), so it sets the "
        "start-up time there.",
    )
    startup_timeout_s: float = Field(
        0, ge=0, description="Give up waiting for the broker at start-up (0: wait forever)."
    )
    shutdown_timeout_s: float = Field(
        45,
        gt=0,
        description="After SIGTERM, exit anyway once this long has passed (events not yet "
        "committed are redelivered; exit code 3). Keep it under the pod's termination grace "
        "period.",
    )
    heartbeat_interval_s: float = Field(
        1.0, gt=0, description="How often a worker tells the group coordinator it is alive."
    )

    duplicate_window_days: int = Field(
        90, ge=1, description="A repeat billed within this many days is a duplicate."
    )
    claim_wait_s: float = Field(
        300, gt=0, description="Longest wait for a claim's lines before its verdict."
    )
    claim_check_interval_s: float = Field(5, gt=0, description="How often the wait is checked.")
    metrics_interval_s: float = Field(5, gt=0, description="How often lag and sizes are sampled.")
    claim_retention_s: float = Field(
        7 * 86_400, gt=0, description="How long a claim stays queryable after its verdict."
    )

    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = Field(
        "PLAINTEXT", description="How clients connect to the brokers."
    )
    ssl_cafile: Path | None = Field(
        None, description="CA bundle that signed the brokers' certificates (SSL, SASL_SSL)."
    )
    ssl_certfile: Path | None = Field(
        None, description="Client certificate for mutual TLS; needs J9262_SSL_KEYFILE."
    )
    ssl_keyfile: Path | None = Field(None, description="Private key of J9262_SSL_CERTFILE.")
    ssl_check_hostname: bool = Field(
        True, description="Check that a broker's certificate names the host connected to."
    )
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = Field(
        "PLAIN", description="SASL mechanism (SASL_PLAINTEXT, SASL_SSL)."
    )
    sasl_username: str | None = Field(None, description="SASL user; SASL needs it.")
    sasl_password: SecretStr | None = Field(
        None, description="SASL password; SASL needs it. Never printed."
    )

    refdata_dir: Path | None = Field(
        None,
        description="Directory whose files replace the bundled reference data "
        "(`j9262 refdata import` fills it); unset uses the bundled files.",
    )
    patient_key: SecretStr | None = Field(
        None,
        description="Key of the HMAC that turns X12 member ids, HL7 MRNs and FHIR Patient "
        "references into pseudonymous patient ids (docs/inputs.md); set one per deployment "
        "so ids cannot be recovered by hashing guesses. Never printed.",
    )
    schema_registry_url: str | None = Field(
        None,
        description="A Confluent-compatible schema registry (http(s)://host:port) to read "
        "the writer schema of Avro records in Confluent framing; unset, such records are "
        "dead-lettered as bad_encoding. Each schema id is fetched once.",
    )
    schema_registry_credentials: SecretStr | None = Field(
        None,
        description="user:password for the schema registry's basic authentication. Never printed.",
    )
    hl7_profile: Path | None = Field(
        None,
        description="A site's HL7 v2 mapping profile (YAML, docs/inputs.md) moving DFT fields; "
        "unset uses the default profile.",
    )

    event_loop: Literal["uvloop", "asyncio"] = Field(
        "uvloop",
        description="The worker's event loop: uvloop (libuv, in C) or Python's own. Most of "
        "a worker's CPU goes to the loop, Faust and the client; uvloop takes less of it.",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO", description="Least severe log level written."
    )
    log_format: Literal["text", "json"] = Field(
        "text", description="Log lines as text, or one JSON object per line."
    )
    log_repeat_interval_s: float = Field(
        60,
        gt=0,
        description="A warning or error the Kafka and Faust libraries (or asyncio, about "
        "their futures) repeat is logged once per this interval, with the count of the "
        "repeats held back.",
    )

    @field_validator("broker_url")
    @classmethod
    def _check_broker_url(cls, value: str) -> str:
        """Faust and aiokafka take kafka://host:port (or host:port); an http:// URL or an
        empty one would only fail later, deep in the client."""
        parts = [p.strip() for p in value.replace(",", ";").split(";")]
        if not any(parts):
            raise ValueError(_BROKER_URL_FORMAT)
        for part in parts:
            scheme, _, address = part.rpartition("://")
            host, _, port = address.rpartition(":")
            if scheme not in ("", "kafka") or not host or not port.isdigit():
                raise ValueError(_BROKER_URL_FORMAT)
            if not 0 < int(port) < 65536:
                raise ValueError(_BROKER_URL_FORMAT)
        return value

    @field_validator("store")
    @classmethod
    def _check_store(cls, value: str) -> str:
        if not value.startswith(("memory://", "rocksdb://")):
            raise ValueError("use memory:// or rocksdb://")
        return value

    @field_validator("schema_registry_url")
    @classmethod
    def _check_registry_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("use http://host:port or https://host:port")
        return value

    @field_validator("web_url")
    @classmethod
    def _check_web_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("use http://host:port or https://host:port")
        return value

    @model_validator(mode="after")
    def _check_security(self) -> Settings:
        if self.security_protocol.startswith("SASL") and not (
            self.sasl_username and self.sasl_password
        ):
            raise ValueError("SASL needs J9262_SASL_USERNAME and J9262_SASL_PASSWORD")
        if bool(self.ssl_certfile) != bool(self.ssl_keyfile):
            raise ValueError("J9262_SSL_CERTFILE and J9262_SSL_KEYFILE go together")
        return self

    @model_validator(mode="after")
    def _check_probe(self) -> Settings:
        if self.broker_probe_interval_s >= self.broker_unreachable_s:
            raise ValueError(
                "J9262_BROKER_PROBE_INTERVAL_S must be shorter than J9262_BROKER_UNREACHABLE_S"
            )
        return self

    @property
    def contract_topics(self) -> list[str]:
        """The topics of the public contract: the input and the three outputs."""
        return [
            self.topic_lines,
            self.topic_verdicts,
            self.topic_claim_verdicts,
            self.topic_dead_letters,
        ]

    @property
    def compression_type(self) -> str | None:
        """The producers' `compression_type`: None for no compression."""
        return None if self.compression == "none" else self.compression

    @property
    def trace_header_names(self) -> frozenset[str]:
        """`trace_headers` as lower-case names."""
        return frozenset(n.strip().lower() for n in self.trace_headers.split(",") if n.strip())

    @property
    def bootstrap_servers(self) -> list[str]:
        """host:port pairs for plain aiokafka clients."""
        return [
            part.split("://", 1)[-1]
            for part in self.broker_url.replace(",", ";").split(";")
            if part.strip()
        ]

    @cached_property
    def ssl_context(self) -> ssl.SSLContext | None:
        if self.security_protocol not in ("SSL", "SASL_SSL"):
            return None
        ctx = ssl.create_default_context(cafile=str(self.ssl_cafile) if self.ssl_cafile else None)
        ctx.check_hostname = self.ssl_check_hostname
        if self.ssl_certfile and self.ssl_keyfile:
            ctx.load_cert_chain(str(self.ssl_certfile), str(self.ssl_keyfile))
        return ctx

    def aiokafka_security(self) -> dict[str, Any]:
        """Connection keywords for AIOKafkaProducer/Consumer/AdminClient."""
        opts: dict[str, Any] = {"security_protocol": self.security_protocol}
        if self.ssl_context is not None:
            opts["ssl_context"] = self.ssl_context
        if self.security_protocol.startswith("SASL"):
            assert self.sasl_password is not None
            opts |= {
                "sasl_mechanism": self.sasl_mechanism,
                "sasl_plain_username": self.sasl_username,
                "sasl_plain_password": self.sasl_password.get_secret_value(),
            }
        return opts


def isolated(broker_url: str, run: str, data_dir: Path, web_port: int, **extra: Any) -> Settings:
    """Settings whose topics and consumer group belong to `run` alone, so tests and
    benchmarks can share one broker without sharing state."""
    return Settings(
        _env_file=None,
        broker_url=broker_url,
        app_id=f"j9262-{run}",
        topic_lines=f"lines-{run}",
        topic_verdicts=f"verdicts-{run}",
        topic_claim_verdicts=f"claim-verdicts-{run}",
        topic_dead_letters=f"dlq-{run}",
        data_dir=data_dir,
        web_port=web_port,
        rebalance_timeout_s=2,
        **extra,
    )


def env_name(field: str) -> str:
    """The environment variable that sets a Settings field."""
    return f"{Settings.model_config.get('env_prefix', '')}{field.upper()}"


def _is_secret(field: str) -> bool:
    info = Settings.model_fields.get(field)
    return info is not None and "SecretStr" in repr(info.annotation)


def settings_error(exc: ValidationError) -> str:
    """One line for a rejected Settings: each bad variable, its value (secrets hidden)
    and what is allowed, so a misconfigured deploy reads as such, not as a traceback."""
    problems = []
    for error in exc.errors(include_url=False):
        msg = str(error["msg"]).removeprefix("Value error, ")
        if not error["loc"]:
            problems.append(msg)
            continue
        field = str(error["loc"][0])
        value = "(hidden)" if _is_secret(field) else repr(error.get("input"))
        if len(value) > 80:
            value = value[:77] + "..."
        problems.append(f"{env_name(field)}={value} is not allowed: {msg[:1].lower()}{msg[1:]}")
    return "invalid settings: " + "; ".join(problems)


def _type_name(annotation: Any) -> str:
    args = [a for a in get_args(annotation) if a is not type(None)]
    if get_origin(annotation) is Literal:
        return "one of " + ", ".join(f"`{a}`" for a in get_args(annotation))
    if args and len(args) < len(get_args(annotation)):  # X | None
        return _type_name(args[0]) if len(args) == 1 else " or ".join(map(_type_name, args))
    names = {str: "text", int: "integer", float: "number", bool: "true/false", Path: "path"}
    if annotation is SecretStr:
        return "secret text"
    return names.get(annotation, getattr(annotation, "__name__", str(annotation)))


def _default_text(value: Any) -> str:
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return "`true`" if value else "`false`"
    return f"`{value}`"


def render_markdown() -> str:
    """docs/configuration.md: every setting from the model, so the reference cannot
    drift from the code (`make docs` writes it; a test compares)."""
    out = [
        "# Configuration",
        "",
        "<!-- Generated from streams/settings.py by `j9262 settings --markdown` "
        "(`make docs`); do not edit. -->",
        "",
        "Every setting is an environment variable with the prefix `J9262_` (or a line of a",
        "`.env` file in the working directory). The defaults run against the embedded broker",
        "on 127.0.0.1. An invalid value stops any `j9262` command with one line naming the",
        f"variable, its value and what is allowed, and exit code {SETTINGS_EXIT_CODE}.",
        "",
        "| Variable | Type | Default | Description |",
        "|---|---|---|---|",
    ]
    for name, info in Settings.model_fields.items():
        limits = [
            f"{label} {getattr(m, attr)}"
            for m in info.metadata
            for attr, label in (("ge", "≥"), ("gt", ">"), ("le", "≤"), ("lt", "<"))
            if getattr(m, attr, None) is not None
        ]
        kind = _type_name(info.annotation) + (f" ({', '.join(limits)})" if limits else "")
        text = (info.description or "").replace("|", "\\|")
        out.append(f"| `{env_name(name)}` | {kind} | {_default_text(info.default)} | {text} |")
    return "\n".join(out) + "\n"
