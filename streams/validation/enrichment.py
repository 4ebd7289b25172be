"""Enrichment: what the reference data says about a line, computed once per line.

`Facts` is what the rules read; `Facts.to_model()` is the `enrichment` block
of the verdict.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from streams.contract.models import (
    ClaimLineEvent,
    Enrichment,
    NdcInfo,
    NdcUnit,
    Patient,
    SimilarCode,
)
from streams.refdata import Drug, HcpcsCode, NdcProduct, PayerPolicy, ReferenceData
from streams.refdata.ndc import NormalizedNdc, normalize_ndc
from streams.validation.similarity import TARGET, Candidate, candidates, typo_kind
from streams.validation.trusted import trusted

OMACETAXINE = "omacetaxine mepesuccinate"


@dataclass(slots=True)
class Facts:
    """Not frozen, though nothing changes it after `enrich`: a frozen dataclass sets each
    of its 17 fields through `object.__setattr__`, about 2 us more a line."""

    billed: HcpcsCode | None
    ndc: NormalizedNdc | None
    product: NdcProduct | None
    ndc_code: HcpcsCode | None
    ndc_mg: float | None
    expected_units: float | None
    dose_mg: float | None
    drug: Drug | None
    policy: PayerPolicy
    bsa_m2: float | None
    max_daily_units: float | None
    in_scope: bool
    ndc_conflict: str | None = None
    candidates: tuple[Candidate, ...] = ()
    waste: bool = False
    """The line reports discarded drug (JW, per modifiers.csv kind 'waste')."""
    body_size_problem: str | None = None
    """The patient's BSA, height or weight lies outside what the drug's patients have: then
    `bsa_m2` and `max_daily_units` are None, as no dose ceiling can rest on it."""
    no_waste: bool = False
    """The line says nothing was discarded (JZ, kind 'no_waste')."""
    units: float = 0.0
    """`float(line.units)`: the unit, dosing and modifier rules read it some ten times a
    line, each once converting the Decimal again."""

    @property
    def omacetaxine(self) -> bool:
        """The line bills J9262 (or its retired predecessor C9297)."""
        return self.billed is not None and self.billed.drug == OMACETAXINE

    def to_model(self) -> Enrichment:
        """The verdict's `enrichment` block, built from reference data and floats
        without validating them again (`trusted`)."""
        ndc_info = None
        product = self.product
        if product is not None and self.ndc is not None and self.ndc.ndc11:
            units = product.billing_units_per_package
            ndc_info = trusted(
                NdcInfo,
                {
                    "ndc11": self.ndc.ndc11,
                    "drug": product.drug,
                    "hcpcs": product.hcpcs,
                    "billing_units_per_package": None if units is None else float(units),
                    "single_dose": bool(product.single_dose),
                    "labeler": product.labeler,
                    "package_description": product.package_description,
                    "status": product.status,
                },
            )
        return trusted(
            Enrichment,
            {
                "ndc": ndc_info,
                "expected_units": _round(self.expected_units),
                "dose_mg": _round(self.dose_mg),
                "bsa_m2": _round(self.bsa_m2),
                "max_daily_units": _round(self.max_daily_units),
                "similar_codes": [
                    trusted(SimilarCode, {"code": c.code, "reason": c.reason})
                    for c in self.candidates
                ],
            },
        )


def _round(value: float | None) -> float | None:
    """Rounded, and a float as the Number field holds it."""
    return None if value is None else round(float(value), 4)


def body_surface_area(patient: Patient) -> float | None:
    """The reported BSA, else Mosteller: sqrt(height_cm x weight_kg / 3600)."""
    if patient.bsa_m2 is not None:
        return float(patient.bsa_m2)
    if patient.height_cm is not None and patient.weight_kg is not None:
        return math.sqrt(float(patient.height_cm) * float(patient.weight_kg) / 3600)
    return None


def _outside(value: float, span: tuple[float, float] | None) -> bool:
    return span is not None and not span[0] <= value <= span[1]


def implausible_body_size(patient: Patient, drug: Drug | None) -> str | None:
    """What in the patient's body size no patient of `drug` has (drugs.yaml plausible_*),
    such as a height in inches: a dose ceiling built on it would mean nothing."""
    if drug is None:
        return None
    measured = (
        ("height", patient.height_cm, "cm", drug.plausible_height_cm),
        ("weight", patient.weight_kg, "kg", drug.plausible_weight_kg),
    )
    if patient.bsa_m2 is None:
        for what, value, unit, span in measured:
            if value is not None and span is not None and _outside(float(value), span):
                return (
                    f"{what} {float(value):g} {unit} is outside {span[0]:g}-{span[1]:g} {unit} "
                    "(wrong units?)"
                )
    bsa = body_surface_area(patient)
    span = drug.plausible_bsa_m2
    if bsa is not None and span is not None and _outside(bsa, span):
        how = "reported" if patient.bsa_m2 is not None else "from height and weight"
        return f"BSA {bsa:.2f} m2 ({how}) is outside {span[0]:g}-{span[1]:g} m2"
    return None


def ndc_milligrams(product: NdcProduct, quantity: float, unit: NdcUnit) -> float | None:
    """The drug amount an NDC quantity represents, when its unit allows knowing it."""
    if unit is NdcUnit.ME:
        return quantity
    if unit is NdcUnit.GR:
        return quantity * 1000
    if unit is NdcUnit.UN and product.package_mg is not None:
        return quantity * product.package_mg
    if unit is NdcUnit.ML and product.mg_per_ml is not None:
        return quantity * product.mg_per_ml
    return None


def daily_maximum_units(
    drug: Drug | None, code: HcpcsCode | None, bsa: float | None
) -> float | None:
    """Label maximum per day for this patient: administrations x mg/m2 x BSA, in units."""
    if drug is None or code is None or bsa is None or not code.billing_unit_mg:
        return None
    if drug.dose_mg_per_m2 is None or drug.max_administrations_per_day is None:
        return None
    return drug.max_administrations_per_day * drug.dose_mg_per_m2 * bsa / code.billing_unit_mg


def ndc_conflict(
    hcpcs: str, billed: HcpcsCode | None, ndc_code: HcpcsCode | None, family: frozenset[str]
) -> str | None:
    """How the NDC's code differs from the billed one, so that one edit reports it:
    'retired' (C9297 for J9262), 'lookalike' (both in the J9262 family), 'typo' (a slip
    of J9262 with a Synribo NDC), 'other', or None when they agree."""
    if ndc_code is None or ndc_code.code == hcpcs:
        return None
    if billed is not None and billed.replaced_by == ndc_code.code:
        return "retired"
    if billed is not None and ndc_code.code in family:
        return "lookalike"
    if ndc_code.code == TARGET and typo_kind(hcpcs):
        return "typo"
    return "other"


def enrich(event: ClaimLineEvent, refdata: ReferenceData) -> Facts:
    line, claim = event.line, event.claim
    scope = refdata.tracked_codes
    billed = refdata.hcpcs.get(line.hcpcs) if line.hcpcs in scope else None

    normalized = normalize_ndc(line.ndc.code) if line.ndc is not None else None
    ndc11 = normalized.ndc11 if normalized else None
    product = refdata.ndc(ndc11) if ndc11 else None
    ndc_code = refdata.hcpcs.get(product.hcpcs) if product is not None else None

    ndc_mg = None
    if product is not None and line.ndc and line.ndc.quantity and line.ndc.unit:
        ndc_mg = ndc_milligrams(product, float(line.ndc.quantity), line.ndc.unit)
    expected = None
    if ndc_mg is not None and ndc_code is not None and ndc_code.billing_unit_mg:
        expected = ndc_mg / ndc_code.billing_unit_mg
    units = float(line.units)
    dose_mg = None
    if billed is not None and billed.billing_unit_mg:
        dose_mg = units * billed.billing_unit_mg

    drug = refdata.drugs.get(billed.drug) if billed is not None else None
    body_problem = implausible_body_size(claim.patient, drug)
    bsa = None if body_problem else body_surface_area(claim.patient)
    return Facts(
        billed=billed,
        ndc=normalized,
        product=product,
        ndc_code=ndc_code,
        ndc_mg=ndc_mg,
        expected_units=expected,
        dose_mg=dose_mg,
        drug=drug,
        # The StrEnum member is its str (a key equal to it); `.value` costs 0.3 us on 3.11.
        policy=refdata.policies.for_payer(claim.payer.payer_id, claim.payer.plan_type),
        bsa_m2=bsa,
        max_daily_units=daily_maximum_units(drug, billed, bsa),
        in_scope=billed is not None or (ndc_code is not None and ndc_code.code in scope),
        ndc_conflict=ndc_conflict(line.hcpcs, billed, ndc_code, scope),
        candidates=tuple(candidates(line, billed, product, ndc11, refdata)),
        waste=bool(set(line.modifiers) & refdata.of_kind("waste")),
        body_size_problem=body_problem,
        no_waste=bool(set(line.modifiers) & refdata.of_kind("no_waste")),
        units=units,
    )
