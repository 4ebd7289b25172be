"""Avro in Confluent framing, its writer schema read from a schema registry over HTTP.

No registry product runs here, so the registry is a small HTTP server in the test that
speaks the documented Confluent API (`GET /schemas/ids/{id}` answering
`{"schema": "<the schema as a JSON string>"}`); the client under test is the real one.
"""

from __future__ import annotations

import base64
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson
import pytest
from pydantic import ValidationError

from streams.adapters import adapt
from streams.adapters.registry import SchemaRegistry
from streams.adapters.settle import options_from
from streams.contract.models import DeadLetterReason
from streams.settings import Settings
from tests.adapters.test_detection import AVRO_SCHEMA, avro_framed

SCHEMA_ID = 31


class Registry(ThreadingHTTPServer):
    def __init__(self, schemas: dict[int, Any], password: str | None = None) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.schemas = schemas
        self.password = password
        self.requests: list[str] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class Handler(BaseHTTPRequestHandler):
    server: Registry

    def do_GET(self) -> None:
        self.server.requests.append(self.path)
        expected = "Basic " + base64.b64encode(f"svc:{self.server.password}".encode()).decode()
        if self.server.password and self.headers.get("Authorization") != expected:
            return self._answer(401, {"error_code": 40101, "message": "Unauthorized"})
        schema_id = int(self.path.rsplit("/", 1)[-1])
        if schema_id not in self.server.schemas:
            return self._answer(404, {"error_code": 40403, "message": "Schema not found"})
        return self._answer(200, {"schema": orjson.dumps(self.server.schemas[schema_id]).decode()})

    def _answer(self, status: int, body: dict[str, Any]) -> None:
        data = orjson.dumps(body)
        self.send_response(status)
        self.send_header("Content-Type", "application/vnd.schemaregistry.v1+json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *_: Any) -> None:
        """Quiet: the test reads `requests`."""


@pytest.fixture
def registry() -> Iterator[Registry]:
    server = Registry({SCHEMA_ID: AVRO_SCHEMA}, password="s3cret")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def framed(event_id: str, schema_id: int = SCHEMA_ID) -> bytes:
    return avro_framed(event_id, "CLM-REG", schema_id)


def settings_for(url: str, credentials: str | None = "svc:s3cret") -> Settings:
    return Settings(
        _env_file=None, schema_registry_url=url, schema_registry_credentials=credentials
    )


def test_avro_records_are_read_with_the_registrys_schema_fetched_once(
    registry: Registry,
) -> None:
    options = options_from(settings_for(registry.url))
    first = adapt(framed("reg-1"), options=options)
    second = adapt(framed("reg-2"), options=options)
    assert [e["event_id"] for e in (*first.events, *second.events)] == ["reg-1", "reg-2"]
    assert first.events[0]["line"]["service_date"] == "2026-11-20"
    assert registry.requests == [f"/schemas/ids/{SCHEMA_ID}"]


@pytest.mark.parametrize(
    ("credentials", "schema_id", "says"),
    [
        ("svc:s3cret", 99, "answered 404 for schema id 99"),
        ("svc:wrong", SCHEMA_ID, f"answered 401 for schema id {SCHEMA_ID}"),
        (None, SCHEMA_ID, f"answered 401 for schema id {SCHEMA_ID}"),
    ],
)
def test_a_schema_the_registry_refuses_is_a_located_failure(
    registry: Registry, credentials: str | None, schema_id: int, says: str
) -> None:
    result = adapt(
        framed("x", schema_id), options=options_from(settings_for(registry.url, credentials))
    )
    assert not result.events
    (failure,) = result.failures
    assert failure.reason is DeadLetterReason.BAD_ENCODING
    assert says in failure.message
    assert "s3cret" not in failure.message and "wrong" not in failure.message


def test_an_unreachable_registry_is_a_failure_not_a_crash(registry: Registry) -> None:
    url = registry.url
    registry.shutdown()
    registry.server_close()
    result = adapt(framed("x"), options=options_from(settings_for(url)))
    (failure,) = result.failures
    assert f"could not be reached for schema id {SCHEMA_ID}" in failure.message


def test_without_a_registry_setting_there_is_no_resolver() -> None:
    assert options_from(Settings(_env_file=None)).schema_resolver is None
    assert isinstance(
        options_from(settings_for("https://registry:8081")).schema_resolver, SchemaRegistry
    )
    with pytest.raises(ValidationError, match="schema_registry_url"):
        Settings(_env_file=None, schema_registry_url="registry:8081")
