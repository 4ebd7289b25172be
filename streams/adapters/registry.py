"""Writer schemas from a Confluent-compatible schema registry, for Avro in Confluent framing.

A framed Avro record carries only its schema id; the registry's
`GET /schemas/ids/{id}` gives the schema. Ids are immutable, so each is fetched once
per process and kept. This is the one adapter piece that does I/O: the adapters take
it as their `schema_resolver` (a plain callable), so they stay pure and the tests can
hand them any resolver. A lookup that fails raises `RegistryError`, which the Avro
adapter turns into a dead letter naming the schema id: an unreachable registry never
stops the worker.
"""

from __future__ import annotations

import base64
import threading
import urllib.error
import urllib.request
from typing import Any

import orjson

ACCEPT = "application/vnd.schemaregistry.v1+json, application/json"


class RegistryError(RuntimeError):
    """A schema the registry could not give; the message names the id, never credentials."""


class SchemaRegistry:
    def __init__(self, url: str, credentials: str | None = None, timeout_s: float = 5.0) -> None:
        self.url = url.rstrip("/")
        self.timeout_s = timeout_s
        self._auth = (
            "Basic " + base64.b64encode(credentials.encode()).decode() if credentials else None
        )
        self._schemas: dict[int, Any] = {}
        self._lock = threading.Lock()
        self.fetches = 0
        """Requests sent, for the tests and the curious: one per schema id at most."""

    def __call__(self, schema_id: int) -> Any:
        with self._lock:
            if schema_id not in self._schemas:
                self._schemas[schema_id] = self._fetch(schema_id)
            return self._schemas[schema_id]

    def _fetch(self, schema_id: int) -> Any:
        request = urllib.request.Request(f"{self.url}/schemas/ids/{schema_id}")
        request.add_header("Accept", ACCEPT)
        if self._auth is not None:
            request.add_header("Authorization", self._auth)
        self.fetches += 1
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                body = orjson.loads(response.read())
        except urllib.error.HTTPError as exc:
            raise RegistryError(
                f"the registry answered {exc.code} for schema id {schema_id}"
            ) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise RegistryError(
                f"the registry could not be reached for schema id {schema_id}: {reason}"
            ) from None
        except orjson.JSONDecodeError:
            raise RegistryError(
                f"the registry's answer for schema id {schema_id} is not JSON"
            ) from None
        schema_type = body.get("schemaType", "AVRO") if isinstance(body, dict) else None
        if schema_type != "AVRO" or not isinstance(body.get("schema"), str):
            raise RegistryError(f"schema id {schema_id} is not an Avro schema ({schema_type})")
        return orjson.loads(body["schema"])
