"""What every adapter returns, and the steps they share to turn a mapped draft into an event.

An adapter maps its source into a *draft* (a plain dict shaped like a ClaimLineEvent) and a
*where* table (event field -> source location, such as `SV1-04 (segment 25)`). `finish`
validates the draft against the contract model; a violation becomes a `Failure` that names the
source location of the offending field, so a hospital analyst can find it in their own file.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from pydantic import ValidationError

from streams.contract.models import EVENT_SCHEMA, ClaimLineEvent, DeadLetterReason

Event = dict[str, Any]
#: Turns a Confluent schema id into the Avro writer schema (parsed JSON or its text).
SchemaResolver = Callable[[int], Any]

_NAMESPACE = uuid.UUID("0c1f4d5e-9262-4a1d-8a37-7f1e2d3c4b5a")


class Format(StrEnum):
    """The content format a result came from (framing is recorded separately)."""

    CLAIM_LINE_EVENT = "claim-line-event"
    JSON_LINES = "claim-line-event-jsonl"
    X12_837P = "x12-837p"
    X12_837I = "x12-837i"
    HL7V2_DFT = "hl7v2-dft"
    FHIR_R4 = "fhir-r4"
    UNKNOWN = "unknown"


class Framing(StrEnum):
    """Envelopes peeled off before the content format was read."""

    CONFLUENT = "confluent"
    CLOUDEVENTS_BINARY = "cloudevents-binary"
    CLOUDEVENTS_STRUCTURED = "cloudevents-structured"
    MLLP = "mllp"


#: `format=` values `adapt` accepts: the formats above plus short names.
FORMAT_ALIASES: dict[str, Format] = {
    **{f.value: f for f in Format if f is not Format.UNKNOWN},
    "json": Format.CLAIM_LINE_EVENT,
    "jsonl": Format.JSON_LINES,
    "x12": Format.X12_837P,  # 837P or 837I is then read from GS08
    "837": Format.X12_837P,
    "hl7": Format.HL7V2_DFT,
    "fhir": Format.FHIR_R4,
}


@dataclass(frozen=True, slots=True)
class Failure:
    """Part of the input that could not become an event, and where it broke.

    `location` is in the source's own terms: X12 `SV1-04 (segment 25)`, HL7 `FT1[2]-10`,
    FHIR `Claim.item[2].quantity`, JSON Lines `line 3`. `reason` is the dead-letter reason
    the contract already has, so wiring needs no new reason values.
    """

    format: Format
    location: str
    message: str
    reason: DeadLetterReason = DeadLetterReason.SCHEMA_VIOLATION
    claim_id: str | None = None
    line_number: int | None = None
    errors: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Reversal:
    """A credit that reverses an earlier charge: not a new line to validate.

    `reverses_line` and `reverses_event_id` are set when the charge is in the same
    message; otherwise the keys (claim, code, date, units) let a stateful step find it.
    """

    format: Format
    location: str
    claim_id: str
    hcpcs: str
    service_date: str
    units: str
    credit_line: int | None
    reverses_line: int | None = None
    reverses_event_id: str | None = None


@dataclass(frozen=True, slots=True)
class Adapted:
    """The claim-line events one input record holds, and what could not be mapped.

    Every part of the input ends in exactly one of `events`, `failures` or `reversals`.
    """

    format: Format
    framing: tuple[Framing, ...] = ()
    events: tuple[Event, ...] = ()
    failures: tuple[Failure, ...] = ()
    reversals: tuple[Reversal, ...] = ()
    schema_id: int | None = None

    def framed(self, outer: Framing, schema_id: int | None = None) -> Adapted:
        return Adapted(
            self.format,
            (outer, *self.framing),
            self.events,
            self.failures,
            self.reversals,
            schema_id if schema_id is not None else self.schema_id,
        )


@dataclass(frozen=True, slots=True)
class Options:
    """Per-deployment choices; the defaults suit tests and the offline command.

    `patient_key` keys the HMAC that pseudonymizes member ids and MRNs into `patient_id`:
    set it per deployment so ids cannot be recovered by hashing guesses.
    """

    patient_key: bytes = b""
    hl7_profile: Mapping[str, Any] | None = None
    schema_resolver: SchemaResolver | None = None
    source: str | None = None


@dataclass(slots=True)
class Collector:
    """Accumulates one record's results in input order."""

    format: Format
    events: list[Event] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    reversals: list[Reversal] = field(default_factory=list)

    def fail(self, location: str, message: str, **kw: Any) -> None:
        self.failures.append(Failure(self.format, location, message, **kw))

    def result(self) -> Adapted:
        return Adapted(
            self.format,
            events=tuple(self.events),
            failures=tuple(self.failures),
            reversals=tuple(self.reversals),
        )


def event_id(fmt: Format, digest: bytes, *parts: object) -> str:
    """Same bytes, same line: same id, so a redelivered message keeps its event ids."""
    tail = "|".join(str(p) for p in parts)
    return str(uuid.uuid5(_NAMESPACE, f"{fmt.value}|{digest.hex()}|{tail}"))


def digest_of(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def pseudonym(key: bytes, scope: str, raw: str) -> str:
    """A stable pseudonymous patient id: the raw member id or MRN never leaves the adapter."""
    mac = hmac.new(key or b"j9262-adapters", f"{scope}|{raw}".encode(), hashlib.sha256)
    return "P-" + mac.hexdigest()[:24]


_PLAN_BY_X12_SBR09 = {
    "MA": "medicare",
    "MB": "medicare",
    "16": "medicare_advantage",
    "MC": "medicaid",
    "CI": "commercial",
    "BL": "commercial",
    "HM": "commercial",
    "12": "commercial",
    "13": "commercial",
    "14": "commercial",
    "15": "commercial",
    "17": "commercial",
}


def plan_from_x12(code: str | None) -> str:
    """SBR09 claim filing indicator -> plan type (16 is the Medicare HMO/Advantage code)."""
    return _PLAN_BY_X12_SBR09.get((code or "").strip().upper(), "other")


_ICD10 = re.compile(r"^[A-Z][0-9][0-9A-Z][0-9A-Z]{1,4}$")


def icd10(code: str) -> str:
    """X12 and HL7 send ICD-10-CM without its dot (C9210); the contract shows it (C92.10)."""
    code = code.strip().upper()
    if "." in code or not _ICD10.match(code):
        return code
    return f"{code[:3]}.{code[3:]}"


_D8 = re.compile(r"^(\d{4})(\d{2})(\d{2})")


def iso_date(raw: str | None) -> str | None:
    """CCYYMMDD (X12 D8, HL7 TS/DTM, the start of an RD8 range) -> YYYY-MM-DD.

    A value that does not start with eight digits is passed on unchanged, so the contract
    model rejects it and the failure names where it came from.
    """
    if raw is None:
        return None
    m = _D8.match(raw.strip())
    return f"{m[1]}-{m[2]}-{m[3]}" if m else raw.strip() or None


def iso_datetime(raw: str | None) -> str | None:
    """HL7 DTM / X12 date+time (CCYYMMDD[HHMM[SS]]) -> ISO 8601 in UTC when no offset is given."""
    if not raw:
        return None
    m = re.match(r"^(\d{4})(\d{2})(\d{2})(\d{2})?(\d{2})?(\d{2})?", raw.strip())
    if not m:
        return None
    hh, mm, ss = (m[4] or "00"), (m[5] or "00"), (m[6] or "00")
    return f"{m[1]}-{m[2]}-{m[3]}T{hh}:{mm}:{ss}Z"


def prune(value: Any) -> Any:
    """Drop None and empty strings so optional contract fields are absent, not invalid."""
    if isinstance(value, dict):
        out = {k: prune(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if v is not None and v != ""}
    if isinstance(value, list):
        return [prune(v) for v in value if v is not None and v != ""]
    return value


def draft(
    *,
    fmt: Format,
    digest: bytes,
    source: str | None,
    event_time: str | None,
    claim: dict[str, Any],
    line: dict[str, Any],
    position: int,
) -> Event:
    """A ClaimLineEvent-shaped dict; `position` keeps ids apart for repeated line numbers."""
    service_date = line.get("service_date")
    when = event_time or (f"{service_date}T00:00:00Z" if service_date else None)
    event: Event = prune(
        {
            "schema": EVENT_SCHEMA,
            "event_id": event_id(
                fmt, digest, claim.get("claim_id"), line.get("line_number"), position
            ),
            "event_time": when,
            "source": (source or fmt.value)[:128],
            "claim": claim,
            "line": line,
        }
    )
    return event


def finish(
    out: Collector,
    event: Event,
    where: Mapping[str, str],
    default_location: str,
) -> bool:
    """Validate `event`; on success keep it, else record a Failure located in the source."""
    try:
        ClaimLineEvent.model_validate(event)
    except ValidationError as exc:
        errors = tuple(
            (".".join(str(p) for p in e["loc"]), str(e["msg"]))
            for e in exc.errors(include_url=False, include_input=False)
        )
        first = errors[0][0] if errors else ""
        location = locate(first, where) or default_location
        message = "; ".join(f"{where_of(loc, where)}: {msg}" for loc, msg in errors)
        claim = _section(event, "claim")
        number = _section(event, "line").get("line_number")
        out.fail(
            location,
            message,
            claim_id=str(claim["claim_id"]) if claim.get("claim_id") else None,
            line_number=number if isinstance(number, int) else None,
            errors=errors,
        )
        return False
    out.events.append(event)
    return True


def _section(event: Event, name: str) -> dict[str, Any]:
    value = event.get(name)
    return value if isinstance(value, dict) else {}


def locate(loc: str, where: Mapping[str, str]) -> str | None:
    """The source location recorded for an event field, or for its nearest parent."""
    parts = loc.split(".")
    while parts:
        hit = where.get(".".join(parts))
        if hit:
            return hit
        parts.pop()
    return None


def where_of(loc: str, where: Mapping[str, str]) -> str:
    found = locate(loc, where)
    return f"{loc} ({found})" if found else loc
