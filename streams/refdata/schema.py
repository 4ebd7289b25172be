"""The declared schema of every reference file, and the readers that check a file against it.

One pydantic model per CSV row (or YAML entry) declares the columns, their types, ranges and
formats. The readers collect every error of a file, each naming the file, the line as an editor
shows it (the header is line 1) and the column or key, so a bad quarter is fixed in one pass.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, TypeVar

import yaml
from annotated_types import Ge, Gt, Le
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails

from streams.contract.models import PlanType, Route

CROSSWALK_SOURCE = "CMS ASP NDC-HCPCS crosswalk"
"""How an ndc.csv row imported from the CMS crosswalk names its source."""

MAX_ERRORS_PER_FILE = 20
"""Past this many, a file's errors are counted, not listed: a wrong file gives one per row."""

HCPCS_LEVEL_II = r"^[A-Z]\d{4}$"
ANY_CODE = r"^(?:[A-Z]\d{4}|\d{4}[0-9A-Z])$"
NDC11 = r"^\d{11}$"
ICD10 = r"^[A-Z]\d[0-9A-Z](?:\.?[0-9A-Z]{1,4})?$"
MODIFIER = r"^[0-9A-Z]{2}$"
SHA256 = r"^[0-9a-f]{64}$"
FORMATS = {
    HCPCS_LEVEL_II: "a HCPCS Level II code (a letter and 4 digits, e.g. J9262)",
    ANY_CODE: "a HCPCS code (a letter and 4 digits, e.g. J9262, or a CPT code, e.g. 96401)",
    NDC11: "an 11-digit NDC in the 5-4-2 form without hyphens (e.g. 63459017714)",
    ICD10: "an ICD-10-CM code (e.g. C92.10)",
    MODIFIER: "a 2-character modifier (e.g. JW)",
    SHA256: "a sha256 digest (64 lowercase hex digits)",
}


class RefdataError(ValueError):
    """Reference data is missing, unreadable or breaks its schema: raised when loading, so a
    worker stops at start-up instead of failing every line. `errors` holds one line per
    problem, each naming the file, line and column."""

    def __init__(self, errors: Sequence[str]) -> None:
        self.errors = list(errors)
        super().__init__("\n".join(self.errors))


def icd10_key(code: str) -> str:
    """Diagnosis codes arrive with or without the dot: compare them without it."""
    return code.replace(".", "").strip().upper()


def _blank_is_none(value: Any) -> Any:
    """An empty CSV cell is an absent value, not an empty string to parse."""
    return None if isinstance(value, str) and not value.strip() else value


def _iso_date(value: Any) -> Any:
    """ISO dates only: pydantic's own parsing would also take a Unix timestamp."""
    value = _blank_is_none(value)
    if value is None or isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise ValueError(f"{value!r} is not a date in the form YYYY-MM-DD") from None


Blank = BeforeValidator(_blank_is_none)
Text = Annotated[str, Field(min_length=1)]
OptDate = Annotated[date | None, BeforeValidator(_iso_date)]
OptPositive = Annotated[Annotated[float, Gt(0)] | None, Blank]
Status = Literal["verified", "unconfirmed"]
Level2Code = Annotated[str, Field(pattern=HCPCS_LEVEL_II)]
AnyCode = Annotated[str, Field(pattern=ANY_CODE)]


def _ends_after_start(value: date | None, info: ValidationInfo) -> date | None:
    """A termination date on or after the row's effective date."""
    effective = info.data.get("effective_date")
    if value is not None and effective is not None and value < effective:
        raise ValueError(f"{value} is before effective_date {effective}")
    return value


class Row(BaseModel):
    """One CSV data row; a column the model declares is required in the header.

    Every file's rows say where they come from (`source`) and whether a public source
    confirmed them (`status`: verified or unconfirmed); tests/refdata checks each model."""

    model_config = ConfigDict(
        extra="ignore", str_strip_whitespace=True, allow_inf_nan=False, frozen=True
    )
    key_column: ClassVar[str] = "code"

    def key(self) -> str:
        """The row's identity in its file: two rows with one key are an error."""
        return str(getattr(self, self.key_column))


class HcpcsRow(Row):
    code: Level2Code
    descriptor: Text
    billing_unit_mg: OptPositive
    drug: Text
    container: Literal["", "single_dose", "multi_dose", "implant"]
    role: Literal["tracked", "lookalike", "retired", "neighbour"]
    effective_date: OptDate
    termination_date: OptDate
    replaced_by: Annotated[Level2Code | None, Blank]
    status: Status
    source: Text

    _not_before_effective = field_validator("termination_date")(_ends_after_start)


class NdcRow(Row):
    key_column: ClassVar[str] = "ndc11"
    ndc11: Annotated[str, Field(pattern=NDC11)]
    drug: Text
    labeler: str
    hcpcs: AnyCode
    package_description: str
    package_mg: OptPositive
    package_ml: OptPositive
    billing_units_per_package: OptPositive
    single_dose: bool
    status: Status
    source: Text


class Icd10Row(Row):
    """A diagnosis the J9262 edits know: one that supports CML, one that needs a 5th
    character, or one that looks near CML and is not (history of, an Excludes1 neighbour),
    with the reason a reviewer gives."""

    code: Annotated[str, Field(pattern=ICD10)]
    description: Text
    support: Literal["supports", "payer_dependent", "incomplete", "history_of", "excludes1"]
    status: Status
    source: Text
    reason: Annotated[str | None, Blank] = None
    effective_date: OptDate = None
    termination_date: OptDate = None

    _not_before_effective = field_validator("termination_date")(_ends_after_start)

    def key(self) -> str:
        return icd10_key(self.code)


class ModifierRow(Row):
    key_column: ClassVar[str] = "modifier"
    modifier: Annotated[str, Field(pattern=MODIFIER)]
    kind: Literal["waste", "no_waste", "340b", "distinct", "other"]
    description: Text
    effective_date: OptDate
    status: Status
    source: Text
    termination_date: OptDate = None

    _not_before_effective = field_validator("termination_date")(_ends_after_start)


class TkiRow(Row):
    """A tyrosine kinase inhibitor by its generic name, with its brand names: a record that
    lists one drug by both names has tried one TKI, not two."""

    key_column: ClassVar[str] = "generic"
    generic: Text
    brands: str
    """Brand names separated by ';'."""
    status: Status
    source: Text

    def names(self) -> list[str]:
        return [self.generic, *(b.strip() for b in self.brands.split(";") if b.strip())]


class MueRow(Row):
    code: AnyCode
    mue: Annotated[float, Ge(0)]
    mai: Annotated[Annotated[int, Ge(1), Le(3)] | None, Blank]
    rationale: str
    basis: Literal["label_derived", "cms"]
    status: Status
    source: Text


class AdministrationRow(Row):
    code: AnyCode
    route: Route
    description: Text
    status: Status
    source: Text


class Entry(BaseModel):
    """A YAML mapping: an unknown key is an error, as a misspelt one would be ignored."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, frozen=True)


def _low_high(value: tuple[float, float]) -> tuple[float, float]:
    if value[0] >= value[1]:
        raise ValueError(f"{list(value)} is not [low, high] with low below high")
    return value


Range = Annotated[
    tuple[Annotated[float, Gt(0)], Annotated[float, Gt(0)]], AfterValidator(_low_high)
]
"""[low, high], both positive: a plausible span of a measurement."""


class DrugSpec(Entry):
    """One drug of drugs.yaml: label facts used by the dosing and product edits."""

    source: Text
    status: Status
    route: Route | None = None
    dose_mg_per_m2: OptPositive = None
    max_administrations_per_day: Annotated[StrictInt, Ge(1)] | None = None
    max_dosing_days_per_28: Annotated[StrictInt, Ge(1), Le(28)] | None = None
    maintenance_dosing_days_per_28: Annotated[StrictInt, Ge(1), Le(28)] | None = None
    """Dosing days of a maintenance cycle (the induction's are max_dosing_days_per_28)."""
    cycle_reduction_days: Annotated[StrictInt, Ge(0), Le(28)] = 0
    """Dosing days a cycle is cut by after a severe toxicity (the label's reduced cycles)."""
    dose_tolerance: Annotated[float, Ge(0), Le(1)] = 0.0
    vial_units: OptPositive = None
    max_single_dose_mg: OptPositive = None
    max_single_dose_status: Status | None = None
    discontinued_date: OptDate = None
    plausible_bsa_m2: Range | None = None
    """The body surface areas a patient of this drug can have; outside it the BSA is a
    keying error and no dose ceiling is built on it."""
    plausible_height_cm: Range | None = None
    plausible_weight_kg: Range | None = None
    plausible_status: Status | None = None
    single_source: StrictBool = False
    """One labeler makes the drug: any NDC outside its rows is another drug or a typo."""


Count = Annotated[StrictInt, Ge(0)]
Severity = Literal["error", "warning", "info"]
EditCode = Annotated[str, Field(pattern=r"^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+$")]


class PolicyTerms(Entry):
    """A plan type's default terms in payer_policies.yaml: every term is required."""

    prior_auth_required: StrictBool
    step_therapy_min_tkis: Count
    white_bag_required: StrictBool
    drug_excluded: StrictBool
    ndc_required: StrictBool
    ndc_missing_severity: Severity | None = None
    """Older files' way to grade NDC_MISSING; `severities` says it for any edit."""
    atypical_cml_covered: StrictBool
    timely_filing_days: Count = 0
    """0 when not checked; policy files written before the limit existed leave it out."""
    timely_filing_months: Count = 0
    """Calendar months after the date of service; when set, used instead of the days."""
    severities: dict[EditCode, Severity] = Field(default_factory=dict)
    """Edit code -> severity, over the edit catalog's severity for the plan type."""


class PolicyOverride(Entry):
    """A payer's overrides of its plan type's terms: any subset of them."""

    prior_auth_required: StrictBool | None = None
    step_therapy_min_tkis: Count | None = None
    white_bag_required: StrictBool | None = None
    drug_excluded: StrictBool | None = None
    ndc_required: StrictBool | None = None
    ndc_missing_severity: Severity | None = None
    atypical_cml_covered: StrictBool | None = None
    timely_filing_days: Count | None = None
    timely_filing_months: Count | None = None
    severities: dict[EditCode, Severity] | None = None


class PolicyFile(Entry):
    plan_types: dict[PlanType, PolicyTerms]
    payers: dict[str, PolicyOverride] = Field(default_factory=dict)

    @field_validator("plan_types")
    @classmethod
    def _has_other(cls, value: dict[PlanType, PolicyTerms]) -> dict[PlanType, PolicyTerms]:
        if PlanType.OTHER not in value:
            raise ValueError("plan type 'other' is missing: it is the default of every plan type")
        return value

    @model_validator(mode="before")
    @classmethod
    def _payers_may_be_empty(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("payers", {}) is None:
            return {**data, "payers": {}}
        return data


class FileEntry(Entry):
    source: Text
    sha256: Annotated[str, Field(pattern=SHA256)]

    @model_validator(mode="before")
    @classmethod
    def _not_a_bare_source(cls, data: Any) -> Any:
        if isinstance(data, str):
            raise ValueError(
                "has a source but no sha256 (written before checksums existed); "
                "`j9262 refdata stamp FOLDER` adds them"
            )
        return data


class Manifest(Entry):
    """manifest.yaml: the version stamped on verdicts, and each file's source and checksum."""

    model_config = ConfigDict(extra="forbid", coerce_numbers_to_str=True, frozen=True)
    version: Text
    description: str | None = None
    files: dict[str, FileEntry]


def _shown(value: Any) -> str:
    """The bad value as a reader would type it: numbers bare, text quoted, long values cut."""
    if isinstance(value, str):
        try:
            float(value)
        except ValueError:
            return repr(value)
        return value
    text = value.isoformat() if isinstance(value, date) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def describe(error: ErrorDetails) -> str:
    """A pydantic error as a short sentence about the value, for a billing analyst."""
    kind, ctx, value = error["type"], error.get("ctx", {}), _shown(error["input"])
    match kind:
        case "greater_than_equal":
            return f"{value} is below {ctx['ge']:g}"
        case "greater_than":
            return f"{value} is not above {ctx['gt']:g}"
        case "less_than_equal":
            return f"{value} is above {ctx['le']:g}"
        case "string_pattern_mismatch":
            return f"{value} is not {FORMATS.get(ctx['pattern'], 'in the expected format')}"
        case "literal_error" | "enum":
            return f"{value} is not one of {ctx['expected']}"
        case "string_too_short":
            return "is empty"
        case "missing":
            return "is missing"
        case "extra_forbidden":
            return "is not a known key"
        case "value_error":
            return str(ctx["error"])
    wanted = next((w for prefix, w in _WANTED if kind.startswith(prefix)), None)
    return f"{value} is not {wanted}" if wanted else f"{value}: {error['msg']}"


_WANTED = [
    ("float", "a number"),
    ("int", "a whole number"),
    ("bool", "true or false"),
    ("finite_number", "a finite number"),
    ("dict", "a mapping of keys to values"),
    ("model", "a mapping of keys to values"),
    ("string", "text"),
    ("date", "a date in the form YYYY-MM-DD"),
]

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's safe loader when PyYAML has it: several times faster on a big policy file."""

R = TypeVar("R", bound=Row)
M = TypeVar("M", bound=Entry)


@dataclass
class Report:
    """The errors of one file, listed up to MAX_ERRORS_PER_FILE and counted past it."""

    path: Path
    errors: list[str] = field(default_factory=list)
    more: int = 0

    def add(self, line: int | None, message: str) -> None:
        if len(self.errors) >= MAX_ERRORS_PER_FILE:
            self.more += 1
            return
        where = f"{self.path}:{line}" if line is not None else str(self.path)
        self.errors.append(f"{where}: {message}")

    def lines(self) -> list[str]:
        tail = [f"{self.path}: {self.more} more error(s) not shown"] if self.more else []
        return [*self.errors, *tail]


def read_csv(path: Path, model: type[R], report: Report) -> list[tuple[int, R]]:
    """The rows of a CSV file with their line numbers; errors go to `report`.

    A column with a default (added after files were written without it) may be absent."""
    columns = [name for name, spec in model.model_fields.items() if spec.is_required()]
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            reader = csv.reader(fh)
            header = [name.strip() for name in next(reader, [])]
            if not header:
                report.add(1, f"the file is empty; its header must name {', '.join(columns)}")
                return []
            missing = [c for c in columns if c not in header]
            for name in missing:
                report.add(1, f"column '{name}' is missing (the header has {', '.join(header)})")
            if missing:
                return []
            rows = _csv_rows(reader, header, model, report)
    except UnicodeDecodeError as exc:
        report.add(None, f"is not UTF-8 text (byte {exc.start}: {exc.reason})")
        return []
    except csv.Error as exc:
        report.add(reader.line_num, f"is not valid CSV: {exc}")
        return []
    if not rows and not report.errors:
        report.add(1, "has a header but no rows")
    return rows


def _csv_rows(
    reader: Any, header: list[str], model: type[R], report: Report
) -> list[tuple[int, R]]:
    rows: list[tuple[int, R]] = []
    first_line: dict[str, int] = {}
    end = reader.line_num
    for fields in reader:
        line, end = end + 1, reader.line_num
        if not any(f.strip() for f in fields):
            continue
        if len(fields) != len(header):
            report.add(line, f"has {len(fields)} fields; the header has {len(header)}")
            continue
        try:
            row = model.model_validate(dict(zip(header, fields, strict=True)))
        except ValidationError as exc:
            for error in exc.errors():
                report.add(line, f"column '{error['loc'][0]}': {describe(error)}")
            continue
        key = row.key()
        if key in first_line:
            report.add(line, f"column '{row.key_column}': {key!r} repeats line {first_line[key]}")
            continue
        first_line[key] = line
        rows.append((line, row))
    return rows


def read_yaml(path: Path, report: Report) -> tuple[Any, dict[tuple[str, ...], int]]:
    """The parsed document and the line of each key path (for errors); None when unreadable."""
    try:
        text = path.read_text(encoding="utf-8")
        node = yaml.compose(text, Loader=_Loader)
        data = yaml.load(text, Loader=_Loader)  # a safe loader
    except UnicodeDecodeError as exc:
        report.add(None, f"is not UTF-8 text (byte {exc.start}: {exc.reason})")
        return None, {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        report.add(line, f"is not valid YAML: {getattr(exc, 'problem', None) or exc}")
        return None, {}
    if not isinstance(data, dict):
        report.add(1, "is empty" if data is None else "is not a mapping of keys to values")
        return None, {}
    lines: dict[tuple[str, ...], int] = {}
    if node is not None:
        _key_lines(node, (), lines)
    return data, lines


def _key_lines(node: yaml.Node, path: tuple[str, ...], lines: dict[tuple[str, ...], int]) -> None:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            here = (*path, str(key.value))
            lines[here] = key.start_mark.line + 1
            _key_lines(value, here, lines)


def yaml_errors(
    exc: ValidationError, lines: dict[tuple[str, ...], int], report: Report, prefix: tuple[str, ...]
) -> None:
    """Each error at the line of the deepest key of its path that the file has."""
    for error in exc.errors():
        path = (*prefix, *(str(p) for p in error["loc"] if p != "[key]"))
        known = next((path[:n] for n in range(len(path), 0, -1) if path[:n] in lines), ())
        report.add(lines.get(known, 1), f"key '{'.'.join(path)}': {describe(error)}")


def read_entries(path: Path, model: type[M], report: Report) -> dict[str, M]:
    """A YAML mapping of names to entries of `model` (drugs.yaml)."""
    data, lines = read_yaml(path, report)
    entries: dict[str, M] = {}
    for name, spec in (data or {}).items():
        try:
            entries[str(name)] = model.model_validate(spec)
        except ValidationError as exc:
            yaml_errors(exc, lines, report, (str(name),))
    return entries


def read_document(
    path: Path, model: type[M], report: Report
) -> tuple[M | None, dict[tuple[str, ...], int]]:
    """A YAML file that is one `model` (payer_policies.yaml, manifest.yaml), and its key lines."""
    data, lines = read_yaml(path, report)
    if data is None:
        return None, lines
    try:
        return model.model_validate(data), lines
    except ValidationError as exc:
        yaml_errors(exc, lines, report, ())
        return None, lines
