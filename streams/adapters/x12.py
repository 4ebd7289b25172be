"""X12 005010X222A1 (837P) and 005010X223A2 (837I) -> one event per loop 2400 service line.

pyx12 reads the interchange (separators from ISA, segments placed in their loops by the
implementation-guide map); this module only maps the loops it hands over to event fields
(see docs/adr/0005-x12-library.md and docs/inputs.md). Implementation-guide errors that
do not stop the mapping are not failures here: the rules judge the billing, not the EDI.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Iterator
from typing import Any

import pyx12.error_handler
import pyx12.errors
import pyx12.map_if
import pyx12.params
import pyx12.x12context

from streams.adapters.model import (
    Adapted,
    Collector,
    Format,
    Options,
    digest_of,
    draft,
    finish,
    icd10,
    iso_date,
    iso_datetime,
    plan_from_x12,
    pseudonym,
)
from streams.contract.models import DeadLetterReason

#: Errata versions pyx12 ships no map for, read with the map of the version they amend.
_ALIASES = {
    "005010X222A2": "837.5010.X222.A1.xml",
    "005010X223A3": "837Q3.I.5010.X223.A1.xml",
}
_PARAMS = pyx12.params.params()
#: HI qualifiers of diagnoses (principal first): ICD-10 ABK/ABF, ICD-9 BK/BF.
_PRINCIPAL = {"ABK", "BK"}
_OTHER = {"ABF", "BF"}


def _cache_maps() -> None:
    """pyx12 parses its ~0.25 s implementation-guide map for every reader; keep one per file.

    Safe because pyx12 keeps loop and segment counts in the reader's walker, never in the
    map objects (checked for pyx12 4.0; see the ADR).
    """
    load = pyx12.map_if.load_map_file
    if getattr(load, "cache_info", None) is not None:
        return

    @functools.lru_cache(maxsize=16)
    def cached(map_file: str, param: Any, map_path: str | None = None) -> Any:
        return load(map_file, param, map_path)

    pyx12.map_if.load_map_file = cached


_cache_maps()


def adapt_x12(data: bytes, options: Options) -> Adapted:
    text = data.decode("latin-1")
    fmt = Format.X12_837I if "X223" in text[:400] else Format.X12_837P
    out = Collector(fmt)
    digest = digest_of(data)
    ctx = _Context()
    reader = None
    try:
        reader = pyx12.x12context.X12ContextReader(
            _PARAMS, pyx12.error_handler.errh_null(), io.StringIO(text)
        )
        for vriic, map_file in _ALIASES.items():
            reader.map_index_if.add_map("00501", vriic, "HC", None, map_file, "837")
        for node in reader.iter_segments("2300"):
            if node.id == "2300":
                _claim(node, ctx, out, digest, options)
            else:
                ctx.see(node, options)
    except (pyx12.errors.X12Error, pyx12.errors.EngineError, ValueError, IndexError) as exc:
        where = f"segment {ctx.last_segment + 1}" if ctx.last_segment else "ISA"
        out.fail(
            where,
            f"X12 could not be read past this point: {exc}",
            reason=DeadLetterReason.INVALID_JSON if not ctx.last_segment else _SCHEMA,
        )
    finally:
        if reader is not None:
            ctx.last_segment = max(ctx.last_segment, reader.src.get_cur_line() or 0)
            reader.close()
    if not ctx.closed and not out.failures:
        # pyx12 yields a claim loop only once a later segment closes it: at a cut-off end
        # the last claim would vanish silently, so the cut itself is the failure.
        out.fail(
            f"segment {ctx.last_segment}",
            "interchange ends without IEA: the claim being read there is not mapped",
        )
    elif not out.events and not out.failures:
        out.fail("ISA", "no 837 claim (loop 2300) in the interchange")
    return out.result()


_SCHEMA = DeadLetterReason.SCHEMA_VIOLATION


class _Context:
    """What the loops above 2300 said: sender, payer, subscriber, patient, creation time."""

    def __init__(self) -> None:
        self.last_segment = 0
        self.closed = False
        self.sender: str | None = None
        self.created: str | None = None
        self.plan: str | None = None
        self.payer: tuple[str | None, str] = (None, "")
        self.member: tuple[str | None, str] = (None, "")
        self.patient: tuple[str | None, str] | None = None

    def see(self, node: Any, options: Options) -> None:
        self.last_segment = getattr(node, "cur_line_number", self.last_segment) or 0
        seg, at = node.id, f"segment {self.last_segment}"
        self.closed = seg == "IEA"
        if seg == "GS":
            self.sender = node.get_value("GS02")
        elif seg == "BHT":
            self.created = iso_datetime(
                (node.get_value("BHT04") or "") + (node.get_value("BHT05") or "")
            )
        elif seg == "HL" and node.get_value("HL03") == "22":
            self.patient = None
        elif seg == "SBR":
            self.plan = node.get_value("SBR09")
        elif seg == "NM1":
            kind, value = node.get_value("NM101"), node.get_value("NM109")
            if kind == "PR":
                self.payer = (value, f"NM1*PR NM109 ({at})")
            elif kind == "IL":
                self.member = (value, f"NM1*IL NM109 ({at})")
            elif kind == "QC":
                # 5010 dropped the patient's own id: a dependent is the subscriber's member
                # id plus the patient's name (pseudonymized together, never sent on).
                name = "|".join(node.get_value(f"NM10{i}") or "" for i in (3, 4))
                raw = value or (f"{self.member[0]}|{name}" if self.member[0] else None)
                self.patient = (raw, f"NM1*QC ({at})")


CLAIM_FREQUENCY = {"1": "original", "7": "replacement", "8": "void"}
"""CLM05-3, the claim frequency type code (the type of bill's last digit on an 837I);
the other codes (late charges, adjustments) leave the field unset."""


def _claim(node: Any, ctx: _Context, out: Collector, digest: bytes, options: Options) -> None:
    fmt = out.format
    at = f"segment {node.cur_line_number}"
    ctx.last_segment = node.cur_line_number
    claim_id = node.get_value("CLM01")
    facility = node.get_value("CLM05-1")
    patient_raw, patient_at = ctx.patient or ctx.member
    payer_id, payer_at = ctx.payer
    diagnoses = list(_diagnoses(node))
    auth = node.get_value("REF[G1]02")
    claim: dict[str, Any] = {
        "claim_id": claim_id,
        "claim_type": "institutional" if fmt is Format.X12_837I else "professional",
        "payer": {"payer_id": payer_id, "plan_type": plan_from_x12(ctx.plan)},
        "patient": {
            "patient_id": pseudonym(options.patient_key, "x12", patient_raw)
            if patient_raw
            else None
        },
        "diagnosis_codes": diagnoses,
        "prior_authorization": {"number": auth, "status": "approved"} if auth else None,
    }
    frequency = node.get_value("CLM05-3") or ""
    if fmt is Format.X12_837I:
        claim["type_of_bill"] = f"{facility}{frequency}" if facility else None
    if frequency in CLAIM_FREQUENCY:
        claim["frequency"] = CLAIM_FREQUENCY[frequency]
        # The payer's control number of the claim a replacement or void takes the place of.
        claim["original_claim_id"] = node.get_value("REF[F8]02")
    claim_date = node.get_value("DTP[472]03") or node.get_value("DTP[434]03")
    lines = list(node.select("2400"))
    claim["total_lines"] = len(lines) or None
    where_claim = {
        "claim.claim_id": f"CLM01 ({at})",
        "claim.payer": payer_at or "loop 2010BB NM1*PR",
        "claim.patient": patient_at or "loop 2010BA/2010CA NM1",
        "claim.diagnosis_codes": f"HI (after {at})",
        "claim.place_of_service": f"CLM05-1 ({at})",
        "claim.type_of_bill": f"CLM05 ({at})",
        "claim.frequency": f"CLM05-3 ({at})",
        "claim.original_claim_id": f"REF*F8 (after {at})",
        "claim.total_lines": f"loop 2400 count ({at})",
    }
    if not lines:
        out.fail(f"CLM ({at})", "claim has no service line (loop 2400)", claim_id=claim_id)
    for position, loop in enumerate(lines):
        line, where = _line(loop, fmt, claim_date)
        line_claim = dict(claim)
        if fmt is Format.X12_837P:
            line_claim["place_of_service"] = loop.get_value("SV105") or facility
        event = draft(
            fmt=fmt,
            digest=digest,
            source=f"{fmt.value}:{ctx.sender}" if ctx.sender else None,
            event_time=ctx.created,
            claim=line_claim,
            line=line,
            position=position,
        )
        finish(out, event, {**where_claim, **where}, where["line"])


def _diagnoses(node: Any) -> Iterator[str]:
    principal: list[str] = []
    other: list[str] = []
    for hi in node.select("HI"):
        for i in range(1, 13):
            qualifier, code = hi.get_value(f"HI{i:02d}-1"), hi.get_value(f"HI{i:02d}-2")
            if not code:
                continue
            if qualifier in _PRINCIPAL:
                principal.append(icd10(code))
            elif qualifier in _OTHER:
                other.append(icd10(code))
    yield from principal
    yield from other


def _line(loop: Any, fmt: Format, claim_date: str | None) -> tuple[dict[str, Any], dict[str, str]]:
    service = "SV2" if fmt is Format.X12_837I else "SV1"
    composite = "SV202" if fmt is Format.X12_837I else "SV101"
    qty = "SV205" if fmt is Format.X12_837I else "SV104"
    charge = "SV203" if fmt is Format.X12_837I else "SV102"
    lx_at = _seg_at(loop, "LX")
    sv_at = _seg_at(loop, service)
    date_at = _seg_at(loop, "DTP")
    number = loop.get_value("LX01")
    line: dict[str, Any] = {
        "line_number": int(number) if number and number.isdigit() else number,
        "hcpcs": loop.get_value(f"{composite}-2"),
        "modifiers": [m for i in range(3, 7) if (m := loop.get_value(f"{composite}-{i}"))],
        "units": loop.get_value(qty),
        "service_date": iso_date(loop.get_value("DTP[472]03") or claim_date),
        "charge_amount": loop.get_value(charge),
    }
    if fmt is Format.X12_837I:
        line["revenue_code"] = loop.get_value("SV201")
    if fmt is Format.X12_837P and loop.get_value("SV105"):
        where_pos = {"claim.place_of_service": f"SV105 ({sv_at})"}
    else:
        where_pos = {}
    ndc = loop.get_value("2410/LIN03")
    ndc_at = _seg_at(loop, "LIN", "2410")
    if ndc:
        line["ndc"] = {
            "code": ndc,
            "quantity": loop.get_value("2410/CTP04"),
            "unit": loop.get_value("2410/CTP05-1"),
        }
    where = {
        "line": f"{service} ({sv_at})",
        "line.line_number": f"LX01 ({lx_at})",
        "line.hcpcs": f"{composite}-2 ({sv_at})",
        "line.modifiers": f"{composite}-3..6 ({sv_at})",
        "line.units": f"{qty} ({sv_at})",
        "line.charge_amount": f"{charge} ({sv_at})",
        "line.revenue_code": f"SV201 ({sv_at})",
        "line.service_date": f"DTP*472 DTP03 ({date_at})" if date_at else "DTP*472 (claim)",
        "line.ndc": f"LIN03 ({ndc_at})",
        "line.ndc.quantity": f"CTP04 ({ndc_at} + 1)",
        "line.ndc.unit": f"CTP05-1 ({ndc_at} + 1)",
        **where_pos,
    }
    return line, where


def _seg_at(loop: Any, seg_id: str, sub: str | None = None) -> str:
    scope = loop
    if sub is not None:
        found = list(loop.select(sub))
        if not found:
            return "loop 2410"
        scope = found[0]
    for seg in scope.select(seg_id):
        return f"segment {seg.cur_line_number}"
    return f"loop {loop.id}"
