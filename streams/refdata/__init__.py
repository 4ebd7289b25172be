"""Reference data: codes, NDCs and their provenance, loaded from data files.

The bundled files live in `data/`; a directory given by `J9262_REFDATA_DIR`
(or `load(path)`) overrides them file by file, so a user can drop in the
current CMS quarter without touching the rest.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from pathlib import Path
from typing import Any

from streams.refdata.folder import BUNDLED, FILES, Folder, resolve_file, stamp
from streams.refdata.schema import (
    CROSSWALK_SOURCE,
    AdministrationRow,
    DrugSpec,
    HcpcsRow,
    Icd10Row,
    ModifierRow,
    MueRow,
    NdcRow,
    PolicyFile,
    RefdataError,
    TkiRow,
    icd10_key,
)

__all__ = [
    "BUNDLED",
    "FILES",
    "RefdataError",
    "ReferenceData",
    "icd10_key",
    "load",
    "resolve_file",
    "stamp",
]


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


@dataclass(frozen=True, slots=True)
class Diagnosis:
    code: str
    description: str
    support: str  # supports | payer_dependent | incomplete | history_of | excludes1
    reason: str | None = None
    """Why a code near CML does not support it (history_of, excludes1)."""
    effective_date: date | None = None
    termination_date: date | None = None


@dataclass(frozen=True, slots=True)
class Modifier:
    code: str
    kind: str  # waste | no_waste | 340b | distinct | other
    description: str
    effective_date: date | None
    termination_date: date | None = None


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
    maintenance_dosing_days_per_28: int | None = None
    cycle_reduction_days: int = 0
    dose_tolerance: float = 0.0
    vial_units: float | None = None
    max_single_dose_mg: float | None = None
    discontinued_date: date | None = None
    plausible_bsa_m2: tuple[float, float] | None = None
    plausible_height_cm: tuple[float, float] | None = None
    plausible_weight_kg: tuple[float, float] | None = None
    single_source: bool = False


@dataclass(frozen=True, slots=True)
class PayerPolicy:
    basis: str
    prior_auth_required: bool
    step_therapy_min_tkis: int
    white_bag_required: bool
    drug_excluded: bool
    ndc_required: bool
    atypical_cml_covered: bool
    timely_filing_days: int = 0
    """0 when not checked; policy files written before the limit existed leave it out."""
    timely_filing_months: int = 0
    """Calendar months after the date of service (Medicare: 12, one calendar year); when
    set it takes the place of `timely_filing_days`."""
    severities: dict[str, str] = field(default_factory=dict)
    """Edit code -> severity for this payer, over the catalog's plan-type severity."""


@dataclass(frozen=True)
class PayerPolicies:
    plan_types: dict[str, dict[str, Any]]
    payers: dict[str, dict[str, Any]]
    _built: dict[tuple[str, str], PayerPolicy] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    """Each policy built once, by (payer_id with an override or "", plan type): every
    line asks. The terms were checked against the schema when the file was loaded."""

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
            severities = terms.get("severities", {}) | override.get("severities", {})
            terms = terms | override | {"severities": severities}
            if "timely_filing_days" in override and "timely_filing_months" not in override:
                terms["timely_filing_months"] = 0  # the payer's own limit is in days
            basis = f"payer {payer_id} policy"
        terms = dict(terms)
        legacy = terms.pop("ndc_missing_severity", None)
        if legacy is not None:  # files written before per-edit severities
            terms["severities"] = {"NDC_MISSING": legacy} | terms.get("severities", {})
        try:
            return PayerPolicy(basis=basis, **terms)
        except TypeError as exc:  # only when built by hand: a loaded file has every term
            where = f"payer {payer_id}" if payer_id else f"plan type {plan_type}"
            raise ValueError(f"payer_policies.yaml, {where}: {exc}") from None


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
    tkis: dict[str, str] = field(default_factory=dict)
    """Every TKI name (generic or brand, lower case) -> its generic name (tkis.csv)."""
    crosswalk_codes: frozenset[str] = frozenset()
    """HCPCS codes whose NDC rows came from an imported CMS crosswalk: for them an NDC
    outside the rows is news, for the rest it is only outside the bundled sample."""

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

    def products_of(self, hcpcs: str) -> list[NdcProduct]:
        """The NDC packages that crosswalk to a HCPCS code."""
        return self.by_code.get(hcpcs, [])

    @cached_property
    def by_code(self) -> dict[str, list[NdcProduct]]:
        rows: dict[str, list[NdcProduct]] = {}
        for row in self.ndcs.values():
            rows.setdefault(row.hcpcs, []).append(row)
        return rows

    @cached_property
    def modifier_kinds(self) -> dict[str, frozenset[str]]:
        """Modifiers by kind (waste: JW, no_waste: JZ, 340b: JG/TB...), from modifiers.csv."""
        kinds: dict[str, set[str]] = {}
        for mod in self.modifiers.values():
            kinds.setdefault(mod.kind, set()).add(mod.code)
        return {kind: frozenset(codes) for kind, codes in kinds.items()}

    def of_kind(self, kind: str) -> frozenset[str]:
        return self.modifier_kinds.get(kind, frozenset())

    def codes_of_drug(self, drug: str) -> frozenset[str]:
        """Every HCPCS code of one drug (J9262 and its retired predecessor C9297)."""
        return self._codes_by_drug.get(drug, frozenset())

    @cached_property
    def _codes_by_drug(self) -> dict[str, frozenset[str]]:
        """Built once: the cross-line rules ask for a drug's codes at every line."""
        codes: dict[str, set[str]] = {}
        for c in self.hcpcs.values():
            codes.setdefault(c.drug, set()).add(c.code)
        return {drug: frozenset(found) for drug, found in codes.items()}

    @cached_property
    def target_code(self) -> str | None:
        """The code the claim's administration edits are about (the `tracked` row, J9262).

        Cached, as the lookups below: the roll-up asks at every claim."""
        return next((c.code for c in self.hcpcs.values() if c.role == "tracked"), None)

    @cached_property
    def administration_codes(self) -> frozenset[str]:
        return frozenset(self.administration)

    @cached_property
    def administration_by_route(self) -> dict[str, frozenset[str]]:
        routes: dict[str, set[str]] = {}
        for code, route in self.administration.items():
            routes.setdefault(route, set()).add(code)
        return {route: frozenset(codes) for route, codes in routes.items()}

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


def load(override: Path | None = None) -> ReferenceData:
    """Every reference file, bundled or overridden, checked against its schema and the manifest.

    RefdataError lists every problem found (up to a limit per file), each naming the file,
    the line and the column; a missing override folder is one too, never a silent fallback.
    """
    folder = Folder(override)
    hcpcs = folder.rows("hcpcs.csv", HcpcsRow)
    ndcs = folder.rows("ndc.csv", NdcRow)
    diagnoses = folder.rows("icd10.csv", Icd10Row)
    modifiers = folder.rows("modifiers.csv", ModifierRow)
    mue = folder.rows("mue.csv", MueRow)
    administration = folder.rows("administration.csv", AdministrationRow)
    tkis = folder.rows("tkis.csv", TkiRow)
    drugs = folder.entries("drugs.yaml", DrugSpec)
    policies = folder.document("payer_policies.yaml", PolicyFile)
    codes = {row.code for _, row in hcpcs}
    hcpcs_report = folder.report(folder.path("hcpcs.csv"))
    for line, row in hcpcs if not hcpcs_report.errors else []:  # else codes lack the bad rows
        if row.replaced_by is not None and row.replaced_by not in codes:
            hcpcs_report.add(
                line, f"column 'replaced_by': {row.replaced_by!r} is not a code of hcpcs.csv"
            )
    folder.raise_errors()
    assert policies is not None  # else raise_errors raised
    return ReferenceData(
        version=folder.version,
        hcpcs={
            row.code: HcpcsCode(**row.model_dump(exclude={"source", "status"})) for _, row in hcpcs
        },
        ndcs={row.ndc11: NdcProduct(**row.model_dump(exclude={"source"})) for _, row in ndcs},
        diagnoses={
            row.key(): Diagnosis(**row.model_dump(exclude={"source", "status"}))
            for _, row in diagnoses
        },
        modifiers={
            row.modifier: Modifier(
                row.modifier,
                row.kind,
                row.description,
                row.effective_date,
                row.termination_date,
            )
            for _, row in modifiers
        },
        tkis={name.lower(): row.generic.lower() for _, row in tkis for name in row.names()},
        mue={row.code: Mue(row.code, row.mue, row.mai, row.rationale, row.basis) for _, row in mue},
        drugs={name: _drug(name, spec) for name, spec in drugs.items()},
        administration={row.code: row.route.value for _, row in administration},
        policies=PayerPolicies(
            plan_types={
                plan.value: terms.model_dump(exclude_none=True)
                for plan, terms in policies.plan_types.items()
            },
            payers={
                payer: terms.model_dump(exclude_none=True)
                for payer, terms in policies.payers.items()
            },
        ),
        sources=folder.sources,
        crosswalk_codes=frozenset(
            row.hcpcs for _, row in ndcs if row.source.startswith(CROSSWALK_SOURCE)
        ),
    )


def _drug(name: str, spec: DrugSpec) -> Drug:
    notes = {"source", "status", "max_single_dose_status", "plausible_status", "route"}
    facts = spec.model_dump(exclude=notes)
    return Drug(name=name, route=spec.route.value if spec.route else None, **facts)
