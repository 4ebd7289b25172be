"""Input adapters: the formats hospitals already send, as contract claim-line events.

`adapt(data, headers)` is the one entry point for the stream and the offline command. It
detects the format (content-type or `ce_type` header when present, else the first bytes),
peels envelopes (CloudEvents, Confluent framing, MLLP), maps the content, and returns the
events (plain dicts that validate as `ClaimLineEvent`) with reasoned failures. It is a pure
function: no I/O, no clock, and it never raises; any byte string ends as events, failures
or reversals.
"""

from __future__ import annotations

from collections.abc import Mapping

import orjson

from streams.adapters.fhir import adapt_fhir, adapt_fhir_ndjson
from streams.adapters.framing import (
    CONFLUENT_MAGIC,
    adapt_avro,
    adapt_json_event,
    adapt_json_lines,
    header,
    structured_cloudevent,
    unframe_confluent,
)
from streams.adapters.hl7v2 import adapt_hl7, load_profile
from streams.adapters.model import (
    FORMAT_ALIASES,
    Adapted,
    Collector,
    Failure,
    Format,
    Framing,
    Options,
    Reversal,
)
from streams.adapters.x12 import adapt_x12
from streams.contract.models import EVENT_SCHEMA, DeadLetterReason

__all__ = [
    "Adapted",
    "Failure",
    "Format",
    "Framing",
    "Options",
    "Reversal",
    "adapt",
    "detect",
    "load_profile",
]

#: Content types (lower case, parameters dropped) -> format; None means "read the bytes".
CONTENT_TYPES: dict[str, Format | None] = {
    "application/edi-x12": Format.X12_837P,
    "application/x12": Format.X12_837P,
    "application/hl7-v2": Format.HL7V2_DFT,
    "application/hl7-v2+er7": Format.HL7V2_DFT,
    "x-application/hl7-v2+er7": Format.HL7V2_DFT,
    "application/fhir+json": Format.FHIR_R4,
    "application/fhir+ndjson": Format.FHIR_R4,
    "application/x-ndjson": None,
    "application/jsonl": Format.JSON_LINES,
    "application/json": None,
}
#: Words in a CloudEvents `type` that name the content format.
CE_TYPE_WORDS: tuple[tuple[str, Format], ...] = (
    (EVENT_SCHEMA, Format.CLAIM_LINE_EVENT),
    ("837", Format.X12_837P),
    ("x12", Format.X12_837P),
    ("dft", Format.HL7V2_DFT),
    ("hl7v2", Format.HL7V2_DFT),
    ("fhir", Format.FHIR_R4),
)
_MLLP_START = b"\x0b"
_INVALID = DeadLetterReason.INVALID_JSON
_MAX_DEPTH = 3


def adapt(
    data: bytes,
    headers: Mapping[str, bytes] | None = None,
    *,
    format: str | None = None,
    options: Options | None = None,
) -> Adapted:
    """The events in one record; `format` (a `Format` value or alias) skips detection."""
    opts = options or Options()
    try:
        forced = _forced(format)
    except ValueError as exc:
        return _failed(Format.UNKNOWN, "format", str(exc), DeadLetterReason.INVALID_JSON)
    if not bytes(data).strip():
        return _failed(forced or Format.UNKNOWN, "byte 0", "empty record", _INVALID)
    try:
        return _adapt(bytes(data), headers, forced, opts, 0)
    except Exception as exc:  # the never-raise promise: a bug becomes a located failure
        return _failed(
            forced or Format.UNKNOWN,
            "$",
            f"adapter error: {type(exc).__name__}: {exc}",
            DeadLetterReason.INTERNAL_ERROR,
        )


def _forced(name: str | None) -> Format | None:
    if name is None:
        return None
    try:
        return FORMAT_ALIASES[name.strip().lower()]
    except KeyError:
        known = ", ".join(sorted(FORMAT_ALIASES))
        raise ValueError(f"unknown format {name!r}; known: {known}") from None


def detect(data: bytes, headers: Mapping[str, bytes] | None = None) -> Format:
    """The content format a record would be read as (envelopes not peeled)."""
    fmt = _hint(headers) or _sniff(data)
    if fmt is Format.CLAIM_LINE_EVENT and b"\n" in data.strip():
        try:
            orjson.loads(data)
        except orjson.JSONDecodeError:
            return Format.JSON_LINES
    return fmt


def _hint(headers: Mapping[str, bytes] | None) -> Format | None:
    ce_type = header(headers, "ce_type", "ce-type")
    if ce_type:
        lowered = ce_type.lower()
        for word, fmt in CE_TYPE_WORDS:
            if word in lowered:
                return fmt
    content_type = header(headers, "content-type", "ce_datacontenttype", "ce-datacontenttype")
    if content_type:
        return CONTENT_TYPES.get(content_type.split(";")[0].strip().lower())
    return None


def _sniff(data: bytes) -> Format:
    head = data.lstrip(b"\xef\xbb\xbf \t\r\n")[:64]
    if head.startswith(b"ISA"):
        return Format.X12_837P
    if head.startswith((b"MSH", _MLLP_START)):
        return Format.HL7V2_DFT
    if head.startswith(b"{"):
        # Cheap on purpose: `_dispatch` parses once and tells one document from lines.
        return Format.FHIR_R4 if b'"resourceType"' in data[:4096] else Format.CLAIM_LINE_EVENT
    return Format.UNKNOWN


def _adapt(
    data: bytes,
    headers: Mapping[str, bytes] | None,
    forced: Format | None,
    opts: Options,
    depth: int,
) -> Adapted:
    if forced is None and len(data) >= 5 and data[0] == CONFLUENT_MAGIC:
        schema_id, body = unframe_confluent(data)
        if body.lstrip()[:1] in (b"{", b"["):
            inner = _adapt(body, None, Format.CLAIM_LINE_EVENT, opts, depth + 1)
        else:
            inner = adapt_avro(body, schema_id, opts)
        return inner.framed(Framing.CONFLUENT, schema_id)
    fmt = forced or _hint(headers)
    binary_ce = header(headers, "ce_specversion", "ce-specversion") is not None
    if fmt is None:
        fmt = _sniff(data)
    result = _dispatch(data, fmt, opts, depth)
    return result.framed(Framing.CLOUDEVENTS_BINARY) if binary_ce else result


def _dispatch(data: bytes, fmt: Format, opts: Options, depth: int) -> Adapted:
    if fmt in (Format.X12_837P, Format.X12_837I):
        return adapt_x12(data, opts)
    if fmt is Format.HL7V2_DFT:
        return adapt_hl7(data, opts)
    if fmt is Format.JSON_LINES:
        return adapt_json_lines(data)
    if fmt is Format.UNKNOWN:
        return _failed(
            fmt,
            "byte 0",
            "not a known format: expected X12 (ISA), HL7 v2 (MSH or MLLP), FHIR JSON, "
            "a claim-line event, JSON Lines, or Confluent framing",
            DeadLetterReason.INVALID_JSON,
        )
    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        if fmt is Format.FHIR_R4:
            return adapt_fhir_ndjson(data, opts)
        if b"\n" in data.strip():
            return adapt_json_lines(data)
        return _failed(fmt, "$", f"not JSON: {exc}", DeadLetterReason.INVALID_JSON)
    if isinstance(doc, dict):
        envelope = structured_cloudevent(doc)
        if envelope is not None and depth < _MAX_DEPTH:
            body, content_type, ce_type = envelope
            hint = {"content-type": (content_type or "").encode()}
            if ce_type:
                hint["ce_type"] = ce_type.encode()
            inner = _adapt(body, hint, None, opts, depth + 1)
            return inner.framed(Framing.CLOUDEVENTS_STRUCTURED)
        if "resourceType" in doc:
            return adapt_fhir(doc, data, opts)
    return adapt_json_event(doc)


def _failed(fmt: Format, where: str, message: str, reason: DeadLetterReason) -> Adapted:
    out = Collector(fmt)
    out.fail(where, message, reason=reason)
    return out.result()
