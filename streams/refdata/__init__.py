"""Reference data: codes, NDCs and their provenance, loaded from data files.

The bundled files live in `data/`; a directory given by `J9262_REFDATA_DIR`
(or `load(path)`) overrides them file by file, so a user can drop in the
current CMS quarter without touching the rest.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

BUNDLED = Path(str(resources.files(__package__).joinpath("data")))


@dataclass(frozen=True, slots=True)
class HcpcsCode:
    code: str
    descriptor: str
    billing_unit_mg: float | None
    drug: str
    container: str
    role: str
    effective_date: date | None
    termination_date: date | None
    replaced_by: str | None

    @property
    def multi_dose(self) -> bool:
        return self.container == "multi_dose"


@dataclass(frozen=True, slots=True)
class NdcProduct:
    ndc11: str
    drug: str
    labeler: str
    hcpcs: str
    package_description: str
    package_mg: float | None
    package_ml: float | None
    billing_units_per_package: float | None
    single_dose: bool
    status: str

    @property
    def product9(self) -> str:
        return self.ndc11[:9]

    @property
    def mg_per_ml(self) -> float | None:
        if self.package_mg and self.package_ml:
            return self.package_mg / self.package_ml
        return None


@dataclass(frozen=True)
class ReferenceData:
    version: str
    hcpcs: dict[str, HcpcsCode]
    ndcs: dict[str, NdcProduct]
    products: dict[str, list[NdcProduct]] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.products:
            for row in self.ndcs.values():
                self.products.setdefault(row.product9, []).append(row)

    def ndc(self, ndc11: str) -> NdcProduct | None:
        """The package row, or failing that the product (labeler + product code).

        Package codes can be new or unconfirmed; the first 9 digits name the drug.
        """
        row = self.ndcs.get(ndc11)
        if row is not None:
            return row
        candidates = self.products.get(ndc11[:9])
        return candidates[0] if candidates else None

    @property
    def tracked_codes(self) -> frozenset[str]:
        """J9262, its retired predecessor and its look-alikes: the lines in scope."""
        return frozenset(
            c.code for c in self.hcpcs.values() if c.role in ("tracked", "lookalike", "retired")
        )

    @property
    def tracked_drugs(self) -> frozenset[str]:
        scope = self.tracked_codes
        return frozenset(c.drug for c in self.hcpcs.values() if c.code in scope)


def _file(name: str, override: Path | None) -> Path:
    if override is not None and (override / name).is_file():
        return override / name
    return BUNDLED / name


def _rows(path: Path) -> Iterator[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        yield from csv.DictReader(fh)


def _opt_float(value: str) -> float | None:
    return float(value) if value.strip() else None


def _opt_date(value: str) -> date | None:
    return date.fromisoformat(value) if value.strip() else None


def load(override: Path | None = None) -> ReferenceData:
    manifest: dict[str, Any] = yaml.safe_load(_file("manifest.yaml", override).read_text())
    hcpcs = {
        r["code"]: HcpcsCode(
            code=r["code"],
            descriptor=r["descriptor"],
            billing_unit_mg=_opt_float(r["billing_unit_mg"]),
            drug=r["drug"],
            container=r["container"],
            role=r["role"],
            effective_date=_opt_date(r["effective_date"]),
            termination_date=_opt_date(r["termination_date"]),
            replaced_by=r["replaced_by"] or None,
        )
        for r in _rows(_file("hcpcs.csv", override))
    }
    ndcs = {
        r["ndc11"]: NdcProduct(
            ndc11=r["ndc11"],
            drug=r["drug"],
            labeler=r["labeler"],
            hcpcs=r["hcpcs"],
            package_description=r["package_description"],
            package_mg=_opt_float(r["package_mg"]),
            package_ml=_opt_float(r["package_ml"]),
            billing_units_per_package=_opt_float(r["billing_units_per_package"]),
            single_dose=r["single_dose"].strip().lower() == "true",
            status=r["status"],
        )
        for r in _rows(_file("ndc.csv", override))
    }
    return ReferenceData(
        version=str(manifest["version"]),
        hcpcs=hcpcs,
        ndcs=ndcs,
        sources=dict(manifest.get("files", {})),
    )
