"""Code similarity: which code a line may have been meant as, and on what evidence.

Three kinds of evidence, strongest first: the NDC names another code's drug;
the billed code is a digit typo or transposition of J9262 and the NDC is
Synribo; the units are implausible in the billed code's unit but a whole
number of vials in another's.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from streams.contract.models import Line
from streams.refdata import HcpcsCode, NdcProduct, ReferenceData
from streams.refdata.ndc import format_ndc11

TARGET = "J9262"


class Evidence(IntEnum):
    UNITS = 1
    TYPO_AND_NDC = 2
    NDC = 3


@dataclass(frozen=True, slots=True)
class Candidate:
    code: str
    reason: str
    evidence: Evidence

    @property
    def strong(self) -> bool:
        return self.evidence >= Evidence.TYPO_AND_NDC


def typo_kind(billed: str, target: str = TARGET) -> str | None:
    """'typo' when one character differs from `target`; 'transposition' when the
    differences all swap one pair of characters (J9226, J9622, J9626 for J9262)."""
    if len(billed) != len(target):
        return None
    diffs = {(b, t) for b, t in zip(billed, target, strict=True) if b != t}
    if not diffs:
        return None
    if len(diffs) == 1 and sum(b != t for b, t in zip(billed, target, strict=True)) == 1:
        return "typo"
    swapped = len(diffs) == 2 and len({frozenset(d) for d in diffs}) == 1
    return "transposition" if swapped else None


def _fmt(value: float) -> str:
    return f"{value:,.4f}".rstrip("0").rstrip(".")


def max_units(code: HcpcsCode, refdata: ReferenceData) -> float | None:
    """The most units of `code` one line can plausibly carry: its MUE, else the label's
    largest single dose."""
    mue = refdata.mue.get(code.code)
    if mue is not None:
        return mue.units
    drug = refdata.drugs.get(code.drug)
    if drug and drug.max_single_dose_mg and code.billing_unit_mg:
        return drug.max_single_dose_mg / code.billing_unit_mg
    return None


def _whole_vials(code: str, units: float, refdata: ReferenceData) -> tuple[int, float] | None:
    """(vials, units per vial) when `units` is a whole number of one package of `code`."""
    for size in refdata.package_units.get(code, ()):
        vials = units / size
        if vials.is_integer() and 1 <= vials <= 4:
            return int(vials), size
    return None


def candidates(
    line: Line,
    billed: HcpcsCode | None,
    product: NdcProduct | None,
    ndc11: str | None,
    refdata: ReferenceData,
) -> list[Candidate]:
    found: list[Candidate] = []
    if product is not None and product.hcpcs != line.hcpcs:
        kind = typo_kind(line.hcpcs) if product.hcpcs == TARGET else None
        ndc_text = f"NDC {format_ndc11(ndc11)}" if ndc11 else "the NDC"
        if kind:
            found.append(
                Candidate(
                    TARGET,
                    f"{line.hcpcs} is a digit {kind} of {TARGET} and {ndc_text} is "
                    f"{product.drug} ({TARGET})",
                    Evidence.TYPO_AND_NDC,
                )
            )
        else:
            found.append(
                Candidate(
                    product.hcpcs,
                    f"{ndc_text} is {product.drug}, billed as {product.hcpcs}",
                    Evidence.NDC,
                )
            )
    if billed is not None and (product is None or product.hcpcs != line.hcpcs):
        found += _units_candidates(line, billed, refdata)
    if len(found) < 2:  # most lines: nothing to rank
        return found
    best: dict[str, Candidate] = {}
    for candidate in sorted(found, key=lambda c: -c.evidence):
        best.setdefault(candidate.code, candidate)
    return list(best.values())


def _units_candidates(line: Line, billed: HcpcsCode, refdata: ReferenceData) -> list[Candidate]:
    units = float(line.units)
    limit = max_units(billed, refdata)
    if limit is None or units <= limit * 1.1 or not billed.billing_unit_mg:
        return []
    as_billed = units * billed.billing_unit_mg
    found = []
    for other in refdata.hcpcs.values():
        if other.code == billed.code or other.role not in ("tracked", "lookalike"):
            continue
        other_limit = max_units(other, refdata)
        vials = _whole_vials(other.code, units, refdata)
        if vials is None or (other_limit is not None and units > other_limit):
            continue
        count, size = vials
        found.append(
            Candidate(
                other.code,
                f"{_fmt(units)} units of {billed.code} would be {_fmt(as_billed)} mg of "
                f"{billed.drug}, above the {_fmt(limit)}-unit maximum; as {other.code} they are "
                f"exactly {count} vial(s) of {_fmt(size)} units of {other.drug}",
                Evidence.UNITS,
            )
        )
    return found


def _osa_distance(a: str, b: str) -> int:
    """Edits (substitution, insertion, deletion, swap of neighbours) from `a` to `b`: the
    slips of a person keying an NDC."""
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = a[i - 1] != b[j - 1]
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        prev2, prev = prev, cur
    return prev[len(b)]


def _slip(typed: str, known: str) -> str:
    """Which segment of the NDC the slip is in, for the message."""
    labeler = "labeler" if typed[:5] != known[:5] else None
    product = "product" if typed[5:9] != known[5:9] else None
    where = " and ".join(p for p in (labeler, product) if p) or "package"
    swapped = sorted(typed) == sorted(known) and _osa_distance(typed, known) == 1
    return f"{where} digits {'swapped' if swapped else 'mistyped'}"


def nearest_ndcs(ndc11: str, code: str, refdata: ReferenceData, most: int = 2) -> list[str]:
    """The NDCs of `code` one or two keying slips away from `ndc11` (labeler or product
    part; a new package code is no slip), nearest first, each with the slip in words."""
    known = {row.product9: row.ndc11 for row in refdata.products_of(code)}
    scored = sorted(
        (_osa_distance(ndc11[:9], product9), ndc11_known) for product9, ndc11_known in known.items()
    )
    return [
        f"{format_ndc11(ndc)} ({_slip(ndc11[:9], ndc[:9])})"
        for distance, ndc in scored[:most]
        if 0 < distance <= 2
    ]
