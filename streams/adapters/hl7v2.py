"""HL7 v2 DFT^P03 (2.3 to 2.8) -> one event per FT1 charge; credits become reversals.

python-hl7 parses the message (separators from MSH, repetitions, components); which field
holds what differs by site, so every event field is read through a mapping profile: a
list of field paths (`FT1-25.1`, first non-empty wins) or a constant (`{const: 11}`). A
site's YAML profile overrides any entry of `DEFAULT_PROFILE`.

python-hl7 rather than hl7apy: the mapping reads fields by position and tolerates the
site variations a validating parser would reject, and it is several times faster.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import hl7
import yaml
from hl7.containers import Repetition

from streams.adapters.model import (
    Adapted,
    Collector,
    Event,
    Format,
    Framing,
    Options,
    Reversal,
    digest_of,
    draft,
    finish,
    icd10,
    iso_date,
    iso_datetime,
    pseudonym,
)
from streams.contract.models import DeadLetterReason

#: Where each event field comes from in a DFT^P03 by default (HL7 v2.5 positions).
DEFAULT_PROFILE: dict[str, Any] = {
    "claim_id": ["PID-18.1", "PV1-19.1"],
    "claim_type": {"const": "professional"},
    "place_of_service": [],
    "type_of_bill": [],
    "patient_id": ["PID-3.1", "PID-2.1"],
    "payer_id": ["IN1-3.1", "IN1-2.1"],
    "plan_type": ["IN1-15.1"],
    "diagnoses": ["DG1-3.1", "FT1-19.1"],
    "line_number": ["FT1-1"],
    "transaction_type": ["FT1-6"],
    "hcpcs": ["FT1-25.1", "FT1-7.1"],
    "modifiers": ["FT1-26.1"],
    "units": ["FT1-10"],
    "service_date": ["FT1-4.1", "FT1-5.1"],
    "charge_amount": ["FT1-11.1"],
    "revenue_code": [],
    "ndc_code": ["FT1-29.1"],
    "ndc_quantity": [],
    "ndc_unit": [],
    "event_time": ["EVN-2.1", "MSH-7.1"],
    "credit_types": ["CD"],
    "charge_types": ["CG"],
    #: IN1-15 plan type (user table 0086) -> contract plan type.
    "plan_types": {
        "MCR": "medicare",
        "MEDICARE": "medicare",
        "MA": "medicare",
        "MB": "medicare",
        "MCA": "medicare_advantage",
        "MAPD": "medicare_advantage",
        "MCD": "medicaid",
        "MEDICAID": "medicaid",
        "MC": "medicaid",
        "COM": "commercial",
        "CI": "commercial",
        "HMO": "commercial",
        "PPO": "commercial",
        "BC": "commercial",
    },
}
_LOINC_BSA, _LOINC_HEIGHT, _LOINC_WEIGHT = "8277-6", "8302-2", "29463-7"
_PATH = re.compile(r"^([A-Z][A-Z0-9]{2})-(\d+)(?:\.(\d+))?(?:\.(\d+))?$")
_PER_CHARGE = {
    "line_number",
    "transaction_type",
    "hcpcs",
    "modifiers",
    "units",
    "service_date",
    "charge_amount",
    "revenue_code",
    "ndc_code",
    "ndc_quantity",
    "ndc_unit",
}
_LINE_FIELDS = ("line_number", "hcpcs", "modifiers", "units", "service_date", "charge_amount")


class ProfileError(ValueError):
    """A mapping profile that names an unknown key or a malformed field path."""


def load_profile(path: Path) -> dict[str, Any]:
    """A site profile from YAML, merged over the default; refused with the key at fault."""
    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ProfileError(f"{path}: {exc}") from exc
    return merge_profile(loaded, str(path))


def merge_profile(overrides: Mapping[str, Any], origin: str = "profile") -> dict[str, Any]:
    if not isinstance(overrides, Mapping):
        raise ProfileError(f"{origin}: a profile is a mapping of event fields to paths")
    profile = dict(DEFAULT_PROFILE)
    for key, value in overrides.items():
        if key not in DEFAULT_PROFILE:
            raise ProfileError(f"{origin}: unknown key {key!r}")
        if key in ("plan_types",):
            profile[key] = {**DEFAULT_PROFILE[key], **dict(value)}
            continue
        if key in ("credit_types", "charge_types"):
            profile[key] = [str(v) for v in value]
            continue
        paths = [value] if isinstance(value, str) else value
        if isinstance(paths, list):
            for p in paths:
                m = _PATH.match(str(p))
                if not m:
                    raise ProfileError(f"{origin}: {key}: {p!r} is not a field path like FT1-10")
                if key in _PER_CHARGE and m[1] != "FT1":
                    raise ProfileError(f"{origin}: {key}: {p!r}: a charge's fields are in its FT1")
        elif not (isinstance(paths, Mapping) and set(paths) == {"const"}):
            raise ProfileError(f"{origin}: {key}: a list of field paths or {{const: value}}")
        profile[key] = paths
    return profile


def unframe(data: bytes) -> tuple[list[bytes], bool]:
    """MLLP frames (0x0B ... 0x1C 0x0D) or one plain message; segment ends normalized to CR."""
    framed = data.lstrip(b" \t\r\n").startswith(b"\x0b")
    bodies = [b.split(b"\x1c", 1)[0] for b in data.split(b"\x0b")[1:]] if framed else [data]
    out = []
    for body in bodies:
        text = body.replace(b"\r\n", b"\r").replace(b"\n", b"\r").strip(b"\r \t")
        if text:
            out.append(text)
    return out, framed


def adapt_hl7(data: bytes, options: Options) -> Adapted:
    out = Collector(Format.HL7V2_DFT)
    profile = merge_profile(options.hl7_profile or {})
    messages, framed = unframe(data)
    digest = digest_of(data)
    if not messages:
        out.fail("MSH", "no HL7 message in the record", reason=DeadLetterReason.INVALID_JSON)
    for index, raw in enumerate(messages):
        _message(
            raw,
            index=index,
            count=len(messages),
            profile=profile,
            digest=digest,
            options=options,
            out=out,
        )
    result = out.result()
    return result.framed(Framing.MLLP) if framed else result


def _message(
    raw: bytes,
    *,
    index: int,
    count: int,
    profile: Mapping[str, Any],
    digest: bytes,
    options: Options,
    out: Collector,
) -> None:
    prefix = f"message {index + 1} " if count > 1 else ""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    if not text.startswith("MSH") or len(text) < 8:
        out.fail(f"{prefix}MSH", "an HL7 v2 message starts with MSH", reason=_INVALID)
        return
    try:
        msg = hl7.parse(text)
    except Exception as exc:  # python-hl7 raises ParseException, IndexError, ValueError
        out.fail(f"{prefix}MSH", f"HL7 unreadable: {exc}", reason=_INVALID)
        return
    view = _View(msg)
    kind = view.get("MSH-9.1"), view.get("MSH-9.2")
    if kind[0] != "DFT":
        out.fail(f"{prefix}MSH-9", f"message type {kind[0]}^{kind[1]} is not a DFT^P03")
        return
    charges = view.all("FT1")
    if not charges:
        out.fail(f"{prefix}FT1", "DFT message without an FT1 segment")
        return
    claim, where_claim = _claim(view, profile, options, prefix)
    claim["total_lines"] = (
        sum(
            1
            for ft1 in charges
            if _get(ft1, profile["transaction_type"]) not in profile["credit_types"]
        )
        or None
    )
    event_time = iso_datetime(view.first(profile["event_time"]))
    sender = view.get("MSH-3.1")
    source = f"{Format.HL7V2_DFT.value}:{sender}" if sender else None
    posted: list[tuple[Event, int]] = []
    for position, ft1 in enumerate(charges):
        at = f"{prefix}FT1[{position + 1}]"
        line, where = _line(ft1, profile, at)
        kind_code = _get(ft1, profile["transaction_type"])
        if kind_code in profile["credit_types"]:
            _reverse(out, claim, line, posted, at)
            continue
        event = draft(
            fmt=Format.HL7V2_DFT,
            digest=digest,
            source=source,
            event_time=event_time,
            claim=claim,
            line=line,
            position=index * 10_000 + position,
        )
        if finish(out, event, {**where_claim, **where}, at):
            posted.append((event, position))


_INVALID = DeadLetterReason.INVALID_JSON


def _claim(
    view: _View, profile: Mapping[str, Any], options: Options, prefix: str
) -> tuple[dict[str, Any], dict[str, str]]:
    patient_raw = view.first(profile["patient_id"])
    plan_code = (view.first(profile["plan_type"]) or "").upper()
    patient: dict[str, Any] = {
        "patient_id": pseudonym(options.patient_key, "hl7", patient_raw) if patient_raw else None
    }
    patient.update(_body_size(view))
    diagnoses: list[str] = []
    for path in _paths(profile["diagnoses"]):
        for value in view.every(path):
            code = icd10(value)
            if code and code not in diagnoses:
                diagnoses.append(code)
    claim = {
        "claim_id": view.first(profile["claim_id"]),
        "claim_type": view.first(profile["claim_type"]),
        "payer": {
            "payer_id": view.first(profile["payer_id"]),
            "plan_type": profile["plan_types"].get(plan_code, "other"),
        },
        "patient": patient,
        "diagnosis_codes": diagnoses,
        "place_of_service": view.first(profile["place_of_service"]),
        "type_of_bill": view.first(profile["type_of_bill"]),
    }
    where = {
        f"claim.{name}": prefix + _describe(profile[key])
        for name, key in (
            ("claim_id", "claim_id"),
            ("claim_type", "claim_type"),
            ("payer.payer_id", "payer_id"),
            ("payer", "payer_id"),
            ("patient.patient_id", "patient_id"),
            ("patient", "patient_id"),
            ("diagnosis_codes", "diagnoses"),
            ("place_of_service", "place_of_service"),
            ("type_of_bill", "type_of_bill"),
        )
    }
    where["claim.patient.bsa_m2"] = f"{prefix}OBX {_LOINC_BSA}"
    where["claim.patient.height_cm"] = f"{prefix}OBX {_LOINC_HEIGHT}"
    where["claim.patient.weight_kg"] = f"{prefix}OBX {_LOINC_WEIGHT}"
    return claim, where


def _body_size(view: _View) -> dict[str, Any]:
    """BSA, height and weight from OBX by LOINC code, in the contract's units."""
    found: dict[str, Any] = {}
    for obx in view.all("OBX"):
        code = _value(obx, 3, 1)
        value = _value(obx, 5, 1)
        unit = (_value(obx, 6, 1) or "").lower()
        if not value:
            continue
        if code == _LOINC_BSA:
            found["bsa_m2"] = value
        elif code == _LOINC_HEIGHT:
            found["height_cm"] = _scaled(value, 2.54 if unit in ("in", "[in_i]") else 1)
        elif code == _LOINC_WEIGHT:
            found["weight_kg"] = _scaled(value, 0.45359237 if unit in ("lb", "[lb_av]") else 1)
    return found


def _scaled(value: str, factor: float) -> str:
    if factor == 1:
        return value
    try:
        return f"{float(value) * factor:.2f}"
    except ValueError:
        return value


def _line(ft1: Any, profile: Mapping[str, Any], at: str) -> tuple[dict[str, Any], dict[str, str]]:
    number = _get(ft1, profile["line_number"])
    modifiers: list[str] = []
    for path in _paths(profile["modifiers"]):
        m = _PATH.match(path)
        if m and m[1] == "FT1":
            modifiers.extend(_repeats(ft1, int(m[2]), int(m[3] or 1)))
    line: dict[str, Any] = {
        "line_number": int(number) if number and number.isdigit() else number,
        "hcpcs": _get(ft1, profile["hcpcs"]),
        "modifiers": modifiers,
        "units": _get(ft1, profile["units"]),
        "service_date": iso_date(_get(ft1, profile["service_date"])),
        "charge_amount": _get(ft1, profile["charge_amount"]),
        "revenue_code": _get(ft1, profile["revenue_code"]),
    }
    ndc = _get(ft1, profile["ndc_code"])
    if ndc:
        line["ndc"] = {
            "code": ndc,
            "quantity": _get(ft1, profile["ndc_quantity"]),
            "unit": _get(ft1, profile["ndc_unit"]),
        }
    where = {"line": at}
    for name in (*_LINE_FIELDS, "revenue_code"):
        where[f"line.{name}"] = at + _describe(profile[name]).removeprefix("FT1")
    where["line.ndc"] = at + _describe(profile["ndc_code"]).removeprefix("FT1")
    where["line.ndc.quantity"] = at + _describe(profile["ndc_quantity"]).removeprefix("FT1")
    where["line.ndc.unit"] = at + _describe(profile["ndc_unit"]).removeprefix("FT1")
    return line, where


def _reverse(
    out: Collector,
    claim: Mapping[str, Any],
    line: Mapping[str, Any],
    posted: list[tuple[Event, int]],
    at: str,
) -> None:
    """A credit reverses the latest posted charge with the same code, date and units."""
    units = str(line.get("units") or "").lstrip("-")
    match = None
    for event, _position in reversed(posted):
        charged = event["line"]
        if (
            charged.get("hcpcs") == line.get("hcpcs")
            and charged.get("service_date") == line.get("service_date")
            and _same_amount(str(charged.get("units")), units)
        ):
            match = event
            break
    if match is not None:
        posted[:] = [p for p in posted if p[0] is not match]
    number = line.get("line_number")
    out.reversals.append(
        Reversal(
            format=Format.HL7V2_DFT,
            location=at,
            claim_id=str(claim.get("claim_id") or ""),
            hcpcs=str(line.get("hcpcs") or ""),
            service_date=str(line.get("service_date") or ""),
            units=units,
            credit_line=number if isinstance(number, int) else None,
            reverses_line=match["line"]["line_number"] if match else None,
            reverses_event_id=match["event_id"] if match else None,
        )
    )


def _same_amount(a: str, b: str) -> bool:
    try:
        return float(a) == float(b)
    except ValueError:
        return a == b


def _paths(spec: Any) -> list[str]:
    if isinstance(spec, Mapping):
        return []
    return [spec] if isinstance(spec, str) else [str(p) for p in spec]


def _describe(spec: Any) -> str:
    if isinstance(spec, Mapping):
        return "profile constant"
    paths = _paths(spec)
    return "/".join(paths) if paths else "profile (unmapped)"


def _get(segment: Any, spec: Any) -> str | None:
    """The first non-empty value of `spec` within one segment (FT1 paths only)."""
    if isinstance(spec, Mapping):
        return str(spec["const"])
    for path in _paths(spec):
        m = _PATH.match(path)
        if m:
            value = _value(segment, int(m[2]), int(m[3] or 1), int(m[4] or 1))
            if value:
                return value
    return None


def _value(segment: Any, field: int, component: int = 1, sub: int = 1) -> str | None:
    """Field/component/subcomponent of the first repetition, tolerant of short segments."""
    reps = _repeats(segment, field, component, sub)
    return reps[0] if reps else None


def _repeats(segment: Any, field: int, component: int = 1, sub: int = 1) -> list[str]:
    """Every repetition's component: python-hl7 nests repetitions, components, subcomponents."""
    if field >= len(segment):
        return []
    value = segment[field]
    if isinstance(value, str):
        reps: list[Any] = [value]
    elif value and all(isinstance(r, Repetition) for r in value):
        reps = list(value)
    else:
        reps = [value]
    found = []
    for rep in reps:
        part = _pick(rep, component)
        part = _pick(part, sub)
        if isinstance(part, str) and part.strip():
            found.append(part.strip())
    return found


def _pick(value: Any, index: int) -> Any:
    if isinstance(value, str):
        return value if index == 1 else None
    if isinstance(value, list):
        return value[index - 1] if index - 1 < len(value) else None
    return None


class _View:
    """Message-level reads: the first segment of a kind, or every one (DG1, OBX)."""

    def __init__(self, msg: Any) -> None:
        self.by_id: dict[str, list[Any]] = {}
        for seg in msg:
            self.by_id.setdefault(str(seg[0]), []).append(seg)

    def all(self, seg_id: str) -> list[Any]:
        return self.by_id.get(seg_id, [])

    def get(self, path: str) -> str | None:
        return next(self.every(path), None)

    def every(self, path: str) -> Iterator[str]:
        m = _PATH.match(path)
        if not m:
            return
        field = int(m[2])
        for seg in self.all(m[1]):
            yield from _repeats(seg, field, int(m[3] or 1), int(m[4] or 1))

    def first(self, spec: Any) -> str | None:
        if isinstance(spec, Mapping):
            return str(spec["const"])
        for path in _paths(spec):
            value = self.get(path)
            if value:
                return value
        return None
