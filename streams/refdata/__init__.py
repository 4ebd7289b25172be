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
from functools import cached_property
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


def icd10_key(code: str) -> str:
    """Diagnosis codes arrive with or without the dot: compare them without it."""
    return code.replace(".", "").strip().upper()


@dataclass(frozen=True, slots=True)
class Diagnosis:
    code: str
    description: str
    support: str  # supports | payer_dependent | incomplete


@dataclass(frozen=True, slots=True)
class Modifier:
    code: str
    kind: str  # waste | no_waste | 340b | distinct | other
    description: str
    effective_date: date | None


@dataclass(frozen=True, slots=True)
class Mue:
    code: str
    units: float
    mai: int | None
    rationale: str
    basis: str  # label_derived | cms


@dataclass(frozen=True, slots=True)
class Drug:
    name: str
    route: str | None = None
    dose_mg_per_m2: float | None = None
    max_administrations_per_day: int | None = None
    max_dosing_days_per_28: int | None = None
    dose_tolerance: float = 0.0
    vial_units: float | None = None
    max_single_dose_mg: float | None = None
    discontinued_date: date | None = None


@dataclass(frozen=True, slots=True)
class PayerPolicy:
    basis: str
    prior_auth_required: bool
    step_therapy_min_tkis: int
    white_bag_required: bool
    drug_excluded: bool
    ndc_required: bool
    ndc_missing_severity: str
    atypical_cml_covered: bool
    timely_filing_days: int = 0
    """0 when not checked; policy files written before the limit existed leave it out."""

    def __post_init__(self) -> None:
        """Types checked here: a YAML `ninety` or `yes please` would otherwise fail
        every line that reads it."""
        flags = ("prior_auth_required", "white_bag_required", "drug_excluded")
        for name in (*flags, "ndc_required", "atypical_cml_covered"):
            _expect(self, name, isinstance(getattr(self, name), bool), "true or false")
        for name in ("step_therapy_min_tkis", "timely_filing_days"):
            value = getattr(self, name)
            ok = isinstance(value, int) and not isinstance(value, bool) and value >= 0
            _expect(self, name, ok, "a whole number, 0 or more")
        known = self.ndc_missing_severity in ("error", "warning", "info")
        _expect(self, "ndc_missing_severity", known, "error, warning or info")


def _expect(policy: PayerPolicy, name: str, ok: bool, wanted: str) -> None:
    if not ok:
        raise ValueError(
            f"payer_policies.yaml, {policy.basis}: {name} is {getattr(policy, name)!r}, "
            f"expected {wanted}"
        )


@dataclass(frozen=True)
class PayerPolicies:
    plan_types: dict[str, dict[str, Any]]
    payers: dict[str, dict[str, Any]]
    _built: dict[tuple[str, str], PayerPolicy] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    """Each policy built once, by (payer_id with an override or "", plan type): every
    line asks, and building one checks its terms."""

    def for_payer(self, payer_id: str, plan_type: str) -> PayerPolicy:
        key = (payer_id if payer_id in self.payers else "", plan_type)
        policy = self._built.get(key)
        if policy is None:
            policy = self._built[key] = self._build(*key)
        return policy

    def _build(self, payer_id: str, plan_type: str) -> PayerPolicy:
        terms = self.plan_types.get(plan_type, self.plan_types.get("other", {}))
        override = self.payers.get(payer_id)
        basis = f"{plan_type} plan-type default"
        if override:
            terms = terms | override
            basis = f"payer {payer_id} policy"
        try:
            return PayerPolicy(basis=basis, **terms)
        except TypeError as exc:  # a key missing or unknown
            where = f"payer {payer_id}" if payer_id else f"plan type {plan_type}"
            raise ValueError(f"payer_policies.yaml, {where}: {exc}") from None

    def check(self) -> None:
        """Build every policy once, so a bad file stops the worker at start-up with
        the key at fault, not every line later with an internal error."""
        for plan in {*self.plan_types, "other"}:
            for payer_id in ["", *self.payers]:
                self.for_payer(payer_id, plan)


@dataclass(frozen=True)
class ReferenceData:
    version: str
    hcpcs: dict[str, HcpcsCode]
    ndcs: dict[str, NdcProduct]
    diagnoses: dict[str, Diagnosis] = field(default_factory=dict)
    modifiers: dict[str, Modifier] = field(default_factory=dict)
    mue: dict[str, Mue] = field(default_factory=dict)
    drugs: dict[str, Drug] = field(default_factory=dict)
    policies: PayerPolicies = field(default_factory=lambda: PayerPolicies({}, {}))
    administration: dict[str, str] = field(default_factory=dict)
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

    @cached_property
    def package_units(self) -> dict[str, tuple[float, ...]]:
        """Per HCPCS code, the billing units of its NDC packages, smallest first.

        Cached: the similarity check asks per line, and a full crosswalk has
        thousands of rows.
        """
        sizes: dict[str, set[float]] = {}
        for row in self.ndcs.values():
            if row.billing_units_per_package:
                sizes.setdefault(row.hcpcs, set()).add(row.billing_units_per_package)
        return {code: tuple(sorted(units)) for code, units in sizes.items()}

    @cached_property
    def tracked_codes(self) -> frozenset[str]:
        """J9262, its retired predecessor and its look-alikes: the lines in scope.

        Cached: every line asks, and reference data does not change once loaded.
        """
        return frozenset(
            c.code for c in self.hcpcs.values() if c.role in ("tracked", "lookalike", "retired")
        )


def resolve_file(name: str, override: Path | None) -> Path:
    """The override directory's copy of a file when it has one, else the bundled file."""
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


def _yaml(name: str, override: Path | None) -> Any:
    return yaml.safe_load(resolve_file(name, override).read_text(encoding="utf-8"))


def _drug(name: str, spec: dict[str, Any]) -> Drug:
    fields = {k: v for k, v in spec.items() if k in Drug.__dataclass_fields__}
    return Drug(name=name, **fields)


class RefdataError(ValueError):
    """A reference file is missing, unreadable or malformed: raised when loading, so a
    worker stops at start-up instead of failing every line."""


def load(override: Path | None = None) -> ReferenceData:
    """Every reference file, bundled or overridden; RefdataError on a malformed file."""
    try:
        return _load(override)
    except (ValueError, KeyError, TypeError, OSError, yaml.YAMLError) as exc:
        where = override or "the bundled data"
        raise RefdataError(f"reference data in {where}: {type(exc).__name__}: {exc}") from exc


def _load(override: Path | None) -> ReferenceData:
    manifest: dict[str, Any] = _yaml("manifest.yaml", override)
    policies: dict[str, Any] = _yaml("payer_policies.yaml", override)
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
        for r in _rows(resolve_file("hcpcs.csv", override))
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
        for r in _rows(resolve_file("ndc.csv", override))
    }
    data = ReferenceData(
        version=str(manifest["version"]),
        hcpcs=hcpcs,
        ndcs=ndcs,
        diagnoses={
            icd10_key(r["code"]): Diagnosis(r["code"], r["description"], r["support"])
            for r in _rows(resolve_file("icd10.csv", override))
        },
        modifiers={
            r["modifier"]: Modifier(
                r["modifier"], r["kind"], r["description"], _opt_date(r["effective_date"])
            )
            for r in _rows(resolve_file("modifiers.csv", override))
        },
        mue={
            r["code"]: Mue(
                r["code"],
                float(r["mue"]),
                int(r["mai"]) if r["mai"].strip() else None,
                r["rationale"],
                r["basis"],
            )
            for r in _rows(resolve_file("mue.csv", override))
        },
        drugs={name: _drug(name, spec) for name, spec in _yaml("drugs.yaml", override).items()},
        administration={
            r["code"]: r["route"] for r in _rows(resolve_file("administration.csv", override))
        },
        policies=PayerPolicies(
            plan_types=policies.get("plan_types") or {}, payers=policies.get("payers") or {}
        ),
        sources=dict(manifest.get("files", {})),
    )
    data.policies.check()
    return data
