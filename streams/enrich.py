"""Enrichment: what the reference data says about a line, computed once per line.

`Facts` is what the rules read; `Facts.to_model()` is the `enrichment` block
of the verdict.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from streams.events import ClaimLineEvent, Enrichment, NdcInfo, NdcUnit, SimilarCode
from streams.refdata import HcpcsCode, NdcProduct, ReferenceData
from streams.refdata.ndc import NormalizedNdc, normalize_ndc


@dataclass(frozen=True, slots=True)
class Facts:
    billed: HcpcsCode | None
    ndc: NormalizedNdc | None
    product: NdcProduct | None
    ndc_code: HcpcsCode | None
    ndc_mg: float | None
    expected_units: float | None
    dose_mg: float | None
    in_scope: bool
    similar_codes: list[SimilarCode] = field(default_factory=list)

    def to_model(self) -> Enrichment:
        ndc_info = None
        if self.product is not None and self.ndc is not None and self.ndc.ndc11:
            ndc_info = NdcInfo(
                ndc11=self.ndc.ndc11,
                drug=self.product.drug,
                hcpcs=self.product.hcpcs,
                billing_units_per_package=self.product.billing_units_per_package,
                single_dose=self.product.single_dose,
                labeler=self.product.labeler,
                package_description=self.product.package_description,
                status=self.product.status,
            )
        return Enrichment(
            ndc=ndc_info,
            expected_units=_round(self.expected_units),
            dose_mg=_round(self.dose_mg),
            similar_codes=self.similar_codes,
        )


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


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


def enrich(event: ClaimLineEvent, refdata: ReferenceData) -> Facts:
    line = event.line
    scope = refdata.tracked_codes
    billed = refdata.hcpcs.get(line.hcpcs) if line.hcpcs in scope else None

    normalized = normalize_ndc(line.ndc.code) if line.ndc is not None else None
    product = refdata.ndc(normalized.ndc11) if normalized and normalized.ndc11 else None
    ndc_code = refdata.hcpcs.get(product.hcpcs) if product is not None else None

    ndc_mg = None
    if product is not None and line.ndc and line.ndc.quantity and line.ndc.unit:
        ndc_mg = ndc_milligrams(product, float(line.ndc.quantity), line.ndc.unit)
    expected = None
    if ndc_mg is not None and ndc_code is not None and ndc_code.billing_unit_mg:
        expected = ndc_mg / ndc_code.billing_unit_mg
    dose_mg = None
    if billed is not None and billed.billing_unit_mg:
        dose_mg = float(line.units) * billed.billing_unit_mg

    similar: list[SimilarCode] = []
    if product is not None and product.hcpcs != line.hcpcs:
        similar.append(
            SimilarCode(
                code=product.hcpcs,
                reason=f"NDC {normalized.ndc11 if normalized else ''} is {product.drug}, "
                f"billed as {product.hcpcs}",
            )
        )
    return Facts(
        billed=billed,
        ndc=normalized,
        product=product,
        ndc_code=ndc_code,
        ndc_mg=ndc_mg,
        expected_units=expected,
        dose_mg=dose_mg,
        in_scope=billed is not None or (ndc_code is not None and ndc_code.code in scope),
        similar_codes=similar,
    )
