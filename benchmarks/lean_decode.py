"""Decoding claim-line-event/v1 with msgspec exactly as pydantic does, and what it costs.

    .venv/bin/python benchmarks/lean_decode.py [--lines 20000] [--repeats 5]

The lean path (docs/performance/lean-path.md) starts by decoding lines with msgspec and
leaving to pydantic only what msgspec cannot read exactly as pydantic would. Decoded
values feed the verdict id (a hash of the event's JSON as pydantic writes it), so
"exactly" means the same JSON, byte for byte. `decode_plain` below gives a `LineEvent`
only for a record it reads as pydantic would, and None for every other record, which
pydantic would then decide and explain:

- strings: the contract's lengths and patterns, and no surrounding whitespace (pydantic
  strips it; a padded string is left to pydantic);
- codes (HCPCS, modifiers): upper case as sent (pydantic upper-cases them);
- numbers the contract keeps as Decimal: a JSON string of plain digits, an integer, or
  a JSON number of at most 15 significant digits, which pydantic reads as the float's
  shortest text (`170.0` is `Decimal('170')`, `1e2` is `Decimal('100')`; with more
  digits pydantic's float parsing can differ from Python's in the last digit); the
  contract's bounds checked here;
- integers, booleans and enum values: exactly their JSON type and text;
- a record with more than six digits of fraction anywhere: pydantic's, which
  truncates a timestamp's fraction where msgspec rounds it.

The script checks that agreement on the benchmark mix and on edge values (every
record `decode_plain` reads gives pydantic's JSON), then times, on the CPU clock with
the collector off, interleaved: pydantic's `validate_json`; `decode_plain` with its
string checks as msgspec patterns and as one pass after decoding; msgspec untyped (the
floor under any typed decoding); and writing the event's JSON, pydantic's against
msgspec's. It exits 1 if any record is read otherwise than pydantic reads it.
"""

import argparse
import gc
import re
import sys
import time
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

import msgspec
from msgspec import Meta, Struct

sys.path.insert(0, str(Path(__file__).parent))

from bench import mix

from streams.contract.models import (
    ClaimFrequency,
    ClaimLineEvent,
    ClaimType,
    DrugSource,
    NdcUnit,
    PlanType,
    PriorAuthStatus,
    Route,
)

UNPADDED = r"\A(?:\S(?:[\s\S]*\S)?)?\Z"
"""Empty, or neither starting nor ending with whitespace (Python's `\\s` covers every
character pydantic's strip removes)."""


class Bounded(Decimal):
    """A Decimal field of the contract, read by `decimal_hook` as pydantic reads it.

    msgspec hands a custom type's JSON value to the decoder's hook and wants that type
    back, so each field's bounds (pydantic's `gt`, `ge`, `le`, `decimal_places`) ride
    on a subclass; its values equal pydantic's Decimals."""

    __slots__ = ()
    gt: ClassVar[Decimal | None] = Decimal(0)
    ge: ClassVar[Decimal | None] = None
    le: ClassVar[Decimal | None] = None
    places: ClassVar[int | None] = None


class Units(Bounded):
    __slots__ = ()
    le = Decimal(10_000_000)
    places = 4


class Weight(Bounded):
    __slots__ = ()
    le = Decimal(1000)


class Height(Bounded):
    __slots__ = ()
    le = Decimal(300)


class Bsa(Bounded):
    __slots__ = ()
    le = Decimal(5)


class Quantity(Bounded):
    __slots__ = ()
    le = Decimal(1_000_000)


class Milligrams(Bounded):
    __slots__ = ()
    gt = None
    ge = Decimal(0)
    le = Decimal(1_000_000)


class Amount(Bounded):
    __slots__ = ()
    gt = None
    ge = Decimal(0)


class FloatText(str):
    """A JSON number with a fraction or exponent, as written (msgspec's float_hook)."""

    __slots__ = ()


class NotPlain(ValueError):
    """A value pydantic may read otherwise: the record goes to pydantic."""


PLAIN_DIGITS = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")
SIGNIFICANT = re.compile(r"[1-9](?:[0-9]*[1-9])?")
MAX_INT = 2**53


def shortest(text: str) -> str:
    """A JSON number as pydantic writes its float before making a Decimal of it: the
    shortest digits that read back as the same float, without exponent or `.0`."""
    digits = repr(float(text))
    if "e" in digits:
        digits = format(Decimal(digits), "f")
    return digits[:-2] if digits.endswith(".0") else digits


def decimal_hook(cls: type, value: Any) -> Any:
    """msgspec's dec_hook: a `Bounded` field's value, or NotPlain."""
    if not (isinstance(cls, type) and issubclass(cls, Bounded)):
        raise NotPlain(f"no plain reading of {cls}")
    kind = type(value)
    if kind is int:
        if not -MAX_INT < value < MAX_INT:
            raise NotPlain("integer beyond a float's exact range")
        number = cls(value)
    elif kind is str:
        if PLAIN_DIGITS.fullmatch(value) is None:
            raise NotPlain("not plain digits")
        number = cls(value)
    elif kind is FloatText:
        mantissa = value.lower().partition("e")[0].replace(".", "").lstrip("-")
        significant = SIGNIFICANT.search(mantissa)
        if significant is not None and len(significant.group()) > 15:
            raise NotPlain("more digits than a float keeps")
        number = cls(shortest(value))
    else:
        raise NotPlain("not a number")
    if not number.is_finite():
        raise NotPlain("not finite")
    if (
        (cls.gt is not None and not number > cls.gt)
        or (cls.ge is not None and not number >= cls.ge)
        or (cls.le is not None and not number <= cls.le)
    ):
        raise NotPlain("out of bounds")
    if cls.places is not None:
        exponent = number.as_tuple().exponent
        if not isinstance(exponent, int) or exponent < -cls.places:
            raise NotPlain("more decimal places than allowed")
    return number


def as_text(value: Any) -> str:
    """msgspec's enc_hook: a `Bounded` Decimal as pydantic writes a Decimal (its str)."""
    if isinstance(value, Decimal):
        return str(value)
    raise NotImplementedError(f"cannot write {type(value).__name__}")


def event_type(pattern: str | None) -> type[Struct]:
    """The event's structs, the contract model's fields in its order (kw_only lets a
    default come before a required field), free text checked by `pattern`."""

    def text(min_length: int = 0, max_length: int | None = None) -> Any:
        return Annotated[str, Meta(min_length=min_length, max_length=max_length, pattern=pattern)]

    Id = text(1, 128)
    Code = text(1, 16)
    Upper5 = Annotated[str, Meta(pattern=r"\A[A-Z0-9]{5}\Z")]
    Upper2 = Annotated[str, Meta(pattern=r"\A[A-Z0-9]{2}\Z")]
    Digits4 = Annotated[str, Meta(pattern=r"\A[0-9]{4}\Z")]
    Digits2 = Annotated[str, Meta(pattern=r"\A[0-9]{2}\Z")]
    Count = Annotated[int, Meta(ge=1, le=10_000)]
    Aware = Annotated[datetime, Meta(tz=True)]

    class Payer(Struct, frozen=True, kw_only=True):
        payer_id: text(1, 64)
        plan_type: PlanType

    class Patient(Struct, frozen=True, kw_only=True):
        patient_id: Id
        weight_kg: Weight | None = None
        height_cm: Height | None = None
        bsa_m2: Bsa | None = None

    class PriorAuthorization(Struct, frozen=True, kw_only=True):
        number: text(0, 64) | None = None
        status: PriorAuthStatus

    class Claim(Struct, frozen=True, kw_only=True):
        claim_id: Id
        claim_type: ClaimType
        total_lines: Count | None = None
        payer: Payer
        patient: Patient
        diagnosis_codes: Annotated[list[Code], Meta(max_length=50)]
        place_of_service: text(0, 8) | None = None
        type_of_bill: text(0, 8) | None = None
        prior_authorization: PriorAuthorization | None = None
        received_date: date | None = None
        frequency: ClaimFrequency | None = None
        original_claim_id: text(0, 128) | None = None

    class Ndc(Struct, frozen=True, kw_only=True):
        code: text(1, 32)
        quantity: Quantity | None = None
        unit: NdcUnit | None = None

    class Line(Struct, frozen=True, kw_only=True):
        line_number: Count
        hcpcs: Upper5
        modifiers: Annotated[list[Upper2], Meta(max_length=4)] = []
        units: Units
        service_date: date
        charge_amount: Amount | None = None
        revenue_code: Digits4 | None = None
        ndc: Ndc | None = None
        administered_mg: Milligrams | None = None
        route: Route | None = None
        drug_source: DrugSource | None = None
        place_of_service: Digits2 | None = None

    class Documentation(Struct, frozen=True, kw_only=True):
        bcr_abl_confirmed: bool | None = None
        prior_tkis: Annotated[list[text(0, 64)], Meta(max_length=20)] = []
        tki_resistance_or_intolerance: bool | None = None
        dose_calculation: bool | None = None
        administration_record: bool | None = None
        lot_number: text(0, 64) | None = None
        waste_record: bool | None = None

    class LineEvent(Struct, frozen=True, kw_only=True):
        schema_: Literal["claim-line-event/v1"] = msgspec.field(name="schema")
        event_id: Id
        event_time: Aware
        source: text(0, 128) | None = None
        claim: Claim
        line: Line
        documentation: Documentation | None = None

    return LineEvent


LONG_FRACTION = re.compile(rb"\.[0-9]{7}")
PADDED = re.compile(r"(?:\A|\x00)\s|\s(?:\x00|\Z)")


def free_text(event: Any) -> str:
    """Every free-text string of the event, joined by NULs: `PADDED` finds any that
    starts or ends with whitespace (a NUL inside a string only sends it to pydantic)."""
    claim, line, doc = event.claim, event.line, event.documentation
    auth, ndc = claim.prior_authorization, line.ndc
    texts = [
        event.event_id,
        event.source or "",
        claim.claim_id,
        claim.payer.payer_id,
        claim.patient.patient_id,
        *claim.diagnosis_codes,
        claim.place_of_service or "",
        claim.type_of_bill or "",
        claim.original_claim_id or "",
        "" if auth is None else auth.number or "",
        "" if ndc is None else ndc.code,
    ]
    if doc is not None:
        texts += [*doc.prior_tkis, doc.lot_number or ""]
    return "\x00".join(texts)


class Decoder:
    """`decode_plain` over one of the event types (`checked`: free text checked after
    decoding, instead of by a pattern on each string)."""

    def __init__(self, pattern: str | None, *, checked: bool) -> None:
        self.checked = checked
        self.decoder = msgspec.json.Decoder(
            event_type(pattern), dec_hook=decimal_hook, float_hook=FloatText
        )

    def decode_plain(self, raw: bytes) -> Any:
        """The event, when the record is one pydantic reads exactly this way; else None."""
        if LONG_FRACTION.search(raw) is not None:
            return None
        try:
            event = self.decoder.decode(raw)
        except (msgspec.DecodeError, NotPlain, ArithmeticError, ValueError, TypeError):
            return None
        if self.checked and PADDED.search(free_text(event)) is not None:
            return None
        return event


ENCODER = msgspec.json.Encoder(enc_hook=as_text)


def pydantic_json(raw: bytes) -> bytes | None:
    """The event's JSON as pydantic writes it for the verdict id; None if it refuses it."""
    try:
        event = ClaimLineEvent.model_validate_json(raw)
    except ValueError:
        return None
    return event.__pydantic_serializer__.to_json(event, by_alias=True)


def edge_records(base: bytes) -> list[bytes]:
    """`base` with one value changed to each form pydantic and msgspec may read apart."""
    doc = msgspec.json.decode(base)
    changes: list[tuple[tuple[str, ...], Any]] = []
    for value in (
        170.0,
        72.5,
        1e2,
        0.1,
        3.141592653589793,
        1234.56789,
        12345678901234567.0,
        "170.0",
        "0072.50",
        " 72.5",
        "7.25e1",
        "NaN",
        "-0",
        0,
        1001,
        True,
    ):
        changes.append((("claim", "patient", "weight_kg"), value))
    for value in (350, 350.0, 3.5e2, "350.00", 0.00001, "1.00000", 1.12345, 10_000_001):
        changes.append((("line", "units"), value))
    for value in ("j9262", " J9262", "J9262 ", "J9262\n", "J926"):
        changes.append((("line", "hcpcs"), value))
    for value in ("P-1 ", "\u00a0P-1", "P\u00a01", "", " ", "\tP"):
        changes.append((("claim", "patient", "patient_id"), value))
    for value in (
        "2026-11-20T14:03:11.5Z",
        "2026-11-20T14:03:11.1234567Z",
        "2026-11-20T14:03:11.9999995Z",
        "2026-11-20T14:03:11+05:30",
        "2026-11-20T14:03:11-00:00",
        "2026-11-20t14:03:11z",
        "2026-11-20 14:03:11Z",
        "2026-11-20T14:03Z",
        "2026-11-20T14:03:11",
        "2026-11-20T23:59:60Z",
    ):
        changes.append((("event_time",), value))
    for value in (1.0, "1", 0, 10_001, True):
        changes.append((("line", "line_number"), value))
    for value in ("true", 1, None):
        changes.append((("documentation", "bcr_abl_confirmed"), value))
    for value in ("Medicare", "medicare ", "medicare"):
        changes.append((("claim", "payer", "plan_type"), value))
    out = []
    for path, value in changes:
        changed = msgspec.json.decode(msgspec.json.encode(doc))
        target = changed
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
        out.append(msgspec.json.encode(changed))
    return out


def agreement(decode: Callable[[bytes], Any], records: list[bytes]) -> dict[str, int]:
    """How many records `decode` read, left to pydantic (and of those, how many pydantic
    accepts), and read otherwise than pydantic (a different JSON, or accepted where
    pydantic refuses): the last must be 0."""
    read = left = accepted = differ = 0
    for raw in records:
        event = decode(raw)
        if event is None:
            left += 1
            accepted += pydantic_json(raw) is not None
            continue
        read += 1
        if ENCODER.encode(event) != pydantic_json(raw):
            differ += 1
            print(f"differs from pydantic: {raw[:160]!r}", file=sys.stderr)
    return {"read": read, "left_to_pydantic": left, "which_it_accepts": accepted, "differ": differ}


def cpu_per_record(fn: Callable[[Any], Any], items: list[Any], repeats: int) -> list[float]:
    """Microseconds of CPU per item, once per repeat."""
    runs = []
    for _ in range(repeats):
        start = time.process_time_ns()
        for item in items:
            fn(item)
        runs.append((time.process_time_ns() - start) / len(items) / 1000)
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lines", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    records = mix(args.lines)
    variants = {
        "patterns": Decoder(UNPADDED, checked=False),
        "checked after": Decoder(None, checked=True),
    }
    differ = 0
    for name, variant in variants.items():
        for label, items in (("mix", records), ("edge values", edge_records(records[0]))):
            counts = agreement(variant.decode_plain, items)
            differ += counts["differ"]
            print(f"{name:14s} {label}: {counts}")
    if differ:
        sys.exit(f"{differ} record(s) read otherwise than pydantic reads them")
    plain = [r for r in records if variants["patterns"].decode_plain(r) is not None]
    events = [variants["patterns"].decode_plain(r) for r in plain]
    models = [ClaimLineEvent.model_validate_json(r) for r in plain]
    steps: dict[str, tuple[Callable[[Any], Any], list[Any]]] = {
        "decode: pydantic validate_json": (ClaimLineEvent.model_validate_json, plain),
        "decode: msgspec, string patterns": (variants["patterns"].decode_plain, plain),
        "decode: msgspec, checked after": (variants["checked after"].decode_plain, plain),
        "decode: msgspec untyped (floor)": (msgspec.json.decode, plain),
        "event JSON: pydantic to_json": (
            lambda m: m.__pydantic_serializer__.to_json(m, by_alias=True),
            models,
        ),
        "event JSON: msgspec": (ENCODER.encode, events),
    }
    runs: dict[str, list[float]] = {name: [] for name in steps}
    gc.collect()
    gc.disable()
    for i in range(args.repeats):
        names = list(steps) if i % 2 == 0 else list(steps)[::-1]
        for name in names:
            fn, items = steps[name]
            runs[name] += cpu_per_record(fn, items, 1)
    gc.enable()
    print(
        f"\n{len(plain)} records read plainly, {args.repeats} interleaved runs, "
        "us of CPU a record (best, median):"
    )
    for name, values in runs.items():
        values.sort()
        print(f"  {name:34s} {values[0]:6.1f} {values[len(values) // 2]:6.1f}")


if __name__ == "__main__":
    main()
