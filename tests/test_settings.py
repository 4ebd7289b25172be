"""Settings come from J9262_* variables, with safe defaults and clear errors."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from streams.settings import Settings


def test_defaults_target_the_embedded_broker(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in list(__import__("os").environ):
        if key.startswith("J9262_"):
            monkeypatch.delenv(key)
    s = Settings(_env_file=None)
    assert s.bootstrap_servers == ["127.0.0.1:9092"]
    assert s.topic_lines == "claims.lines.v1"
    assert s.topic_dead_letters == "claims.lines.dlq.v1"
    assert s.processing_guarantee == "at_least_once"
    assert s.store == "memory://"
    assert s.aiokafka_security() == {"security_protocol": "PLAINTEXT"}


def test_env_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("J9262_BROKER_URL", "kafka://a:9093;kafka://b:9093")
    monkeypatch.setenv("J9262_TOPIC_PARTITIONS", "12")
    s = Settings(_env_file=None)
    assert s.bootstrap_servers == ["a:9093", "b:9093"]
    assert s.topic_partitions == 12


def test_sasl_needs_credentials() -> None:
    with pytest.raises(ValidationError, match="SASL needs"):
        Settings(_env_file=None, security_protocol="SASL_SSL")


def test_sasl_settings_reach_the_client() -> None:
    s = Settings(
        _env_file=None,
        security_protocol="SASL_PLAINTEXT",
        sasl_mechanism="SCRAM-SHA-512",
        sasl_username="svc",
        sasl_password="pw",
    )
    opts = s.aiokafka_security()
    assert opts["sasl_mechanism"] == "SCRAM-SHA-512"
    assert (opts["sasl_plain_username"], opts["sasl_plain_password"]) == ("svc", "pw")
    assert "pw" not in repr(s)


def test_bad_value_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("J9262_PROCESSING_GUARANTEE", "maybe_once")
    with pytest.raises(ValidationError, match="processing_guarantee"):
        Settings(_env_file=None)


def test_trace_headers_and_compression_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    default = Settings(_env_file=None)
    assert default.compression_type is None
    assert default.trace_header_names == {
        "traceparent",
        "tracestate",
        "x-correlation-id",
        "x-request-id",
    }
    monkeypatch.setenv("J9262_COMPRESSION", "zstd")
    monkeypatch.setenv("J9262_TRACE_HEADERS", " TraceParent , X-Trace-Id,")
    s = Settings(_env_file=None)
    assert s.compression_type == "zstd"
    assert s.trace_header_names == {"traceparent", "x-trace-id"}
    assert Settings(_env_file=None, trace_headers="").trace_header_names == frozenset()
    with pytest.raises(ValidationError, match="compression"):
        Settings(_env_file=None, compression="brotli")


def test_web_token_is_secret_and_not_empty() -> None:
    s = Settings(_env_file=None, web_token="abc")
    assert s.web_token is not None and "abc" not in repr(s)
    assert Settings(_env_file=None).web_token is None
    with pytest.raises(ValidationError, match="web_token"):
        Settings(_env_file=None, web_token="")


def test_the_broker_probe_runs_more_often_than_the_unready_threshold() -> None:
    with pytest.raises(ValidationError, match="J9262_BROKER_PROBE_INTERVAL_S must be shorter"):
        Settings(_env_file=None, broker_probe_interval_s=10, broker_unreachable_s=10)
