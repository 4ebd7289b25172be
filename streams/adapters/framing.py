"""Our own event as JSON or JSON Lines, and the envelopes around any format.

Confluent schema-registry framing is magic byte 0 and a 4-byte big-endian schema id before
a JSON or Avro body. Avro needs the writer schema, which a registry holds: `adapt` takes a
resolver callable so the registry lookup (and its cache) stays a wiring concern. CloudEvents
come as `ce_*` Kafka headers (binary mode) or as one JSON envelope (structured mode).
"""

from __future__ import annotations

import base64
import binascii
import io
from collections.abc import Mapping
from typing import Any

import fastavro
import orjson

from streams.adapters.model import Adapted, Collector, Format, Options, finish
from streams.contract.models import DeadLetterReason

CONFLUENT_MAGIC = 0


def adapt_json_event(doc: Any, fmt: Format = Format.CLAIM_LINE_EVENT) -> Adapted:
    """One ClaimLineEvent already parsed from JSON (or Avro): checked, passed on as is."""
    out = Collector(fmt)
    if not isinstance(doc, dict):
        out.fail("$", "a claim-line event is a JSON object", reason=DeadLetterReason.INVALID_JSON)
    else:
        finish(out, doc, {}, "$")
    return out.result()


def adapt_json_lines(data: bytes) -> Adapted:
    """JSON Lines of ClaimLineEvents; a bad line fails alone, naming its line number."""
    out = Collector(Format.JSON_LINES)
    for number, raw in enumerate(data.splitlines(), start=1):
        if not raw.strip():
            continue
        where = f"line {number}"
        try:
            doc = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            out.fail(where, f"not JSON: {exc}", reason=DeadLetterReason.INVALID_JSON)
            continue
        if not isinstance(doc, dict):
            out.fail(where, "not a JSON object", reason=DeadLetterReason.INVALID_JSON)
            continue
        finish(out, doc, {"": where}, where)
    return out.result()


def unframe_confluent(data: bytes) -> tuple[int, bytes]:
    return int.from_bytes(data[1:5], "big"), data[5:]


def adapt_avro(body: bytes, schema_id: int, options: Options) -> Adapted:
    """A schemaless Avro record of our event, read with the writer schema for `schema_id`."""
    out = Collector(Format.CLAIM_LINE_EVENT)
    if options.schema_resolver is None:
        out.fail(
            f"schema id {schema_id}",
            "an Avro body needs the writer schema, and no schema resolver is configured",
            reason=DeadLetterReason.BAD_ENCODING,
        )
        return out.result()
    try:
        schema = options.schema_resolver(schema_id)
        if isinstance(schema, str | bytes):
            schema = orjson.loads(schema)
        parsed = fastavro.parse_schema(schema)
        record = fastavro.schemaless_reader(io.BytesIO(body), parsed)
    except Exception as exc:  # the resolver and fastavro raise many kinds; all mean "unreadable"
        out.fail(
            f"schema id {schema_id}",
            f"Avro body unreadable: {type(exc).__name__}: {exc}",
            reason=DeadLetterReason.BAD_ENCODING,
        )
        return out.result()
    return adapt_json_event(_plain(record))


def _plain(value: Any) -> Any:
    """Avro logical types (date, decimal, timestamp) back to JSON-like values."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if type(value).__name__ == "Decimal":
        return str(value)
    return value


def header(headers: Mapping[str, bytes] | None, *names: str) -> str | None:
    """A header's text by any of `names`, case-insensitively (Kafka keeps case)."""
    if not headers:
        return None
    lowered = {k.lower(): v for k, v in headers.items()}
    for name in names:
        value = lowered.get(name.lower())
        if value is not None:
            return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
    return None


def structured_cloudevent(doc: Mapping[str, Any]) -> tuple[bytes, str | None, str | None] | None:
    """(data bytes, datacontenttype, type) of a structured-mode CloudEvent, else None."""
    if "specversion" not in doc or not ("data" in doc or "data_base64" in doc):
        return None
    content_type = doc.get("datacontenttype")
    ce_type = doc.get("type")
    if "data_base64" in doc:
        try:
            data = base64.b64decode(str(doc["data_base64"]), validate=True)
        except (binascii.Error, ValueError):
            data = b""
    else:
        inner = doc["data"]
        data = inner.encode() if isinstance(inner, str) else orjson.dumps(inner)
    return (
        data,
        content_type if isinstance(content_type, str) else None,
        ce_type if isinstance(ce_type, str) else None,
    )
