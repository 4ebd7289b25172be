"""The public contract (`docs/contract.md`) as pydantic models.

These models are the source of truth: `schemas/` holds their exported JSON
Schemas. Inputs ignore unknown fields so producers can add optional fields
without a new schema version; outputs are closed.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, PlainSerializer

EVENT_SCHEMA = "claim-line-event/v1"
LINE_VERDICT_SCHEMA = "claim-line-verdict/v1"
CLAIM_VERDICT_SCHEMA = "claim-verdict/v1"
DEAD_LETTER_SCHEMA = "dead-letter/v1"


def _json_number(value: float) -> int | float:
    """Whole numbers serialize as JSON integers (350, not 350.0), as in the contract."""
    return int(value) if float(value).is_integer() else float(value)


Number = Annotated[float, PlainSerializer(_json_number, when_used="json")]


class ClaimType(StrEnum):
    PROFESSIONAL = "professional"
    INSTITUTIONAL = "institutional"


class PlanType(StrEnum):
    MEDICARE = "medicare"
    MEDICARE_ADVANTAGE = "medicare_advantage"
    MEDICAID = "medicaid"
    COMMERCIAL = "commercial"
    OTHER = "other"


class NdcUnit(StrEnum):
    """837 CTP05-1 unit of measure."""

    UN = "UN"
    ML = "ML"
    ME = "ME"
    GR = "GR"
    F2 = "F2"


class PriorAuthStatus(StrEnum):
    APPROVED = "approved"
    PENDING = "pending"
    DENIED = "denied"


class Route(StrEnum):
    SUBCUTANEOUS = "subcutaneous"
    INTRAVENOUS = "intravenous"
    INTRAMUSCULAR = "intramuscular"
    OTHER = "other"


class DrugSource(StrEnum):
    BUY_AND_BILL = "buy_and_bill"
    WHITE_BAG = "white_bag"
    BROWN_BAG = "brown_bag"
    SPECIALTY_PHARMACY = "specialty_pharmacy"


class ClaimFrequency(StrEnum):
    """CLM05-3 / the type of bill's last digit: 1 original, 7 replacement, 8 void."""

    ORIGINAL = "original"
    REPLACEMENT = "replacement"
    VOID = "void"


class Disposition(StrEnum):
    PASS = "pass"
    WARN = "warn"
    FAIL = "fail"
    OUT_OF_SCOPE = "out_of_scope"


class Category(StrEnum):
    CODING = "coding"
    NDC = "ndc"
    UNITS = "units"
    DOSING = "dosing"
    MODIFIER = "modifier"
    DIAGNOSIS = "diagnosis"
    DOCUMENTATION = "documentation"
    PAYER_POLICY = "payer_policy"
    DUPLICATE = "duplicate"
    CLAIM = "claim"


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


class DeadLetterReason(StrEnum):
    INVALID_JSON = "invalid_json"
    SCHEMA_VIOLATION = "schema_violation"
    TOO_LARGE = "too_large"
    BAD_ENCODING = "bad_encoding"
    INTERNAL_ERROR = "internal_error"


# --- input ------------------------------------------------------------------

_In = ConfigDict(extra="ignore", frozen=True, str_strip_whitespace=True)
Positive = Annotated[Decimal, Field(gt=0, allow_inf_nan=False)]
Code = Annotated[str, Field(min_length=1, max_length=16)]
Hcpcs = Annotated[str, Field(pattern=r"^[A-Za-z0-9]{5}$"), AfterValidator(str.upper)]
Modifier = Annotated[str, Field(pattern=r"^[A-Za-z0-9]{2}$"), AfterValidator(str.upper)]


class Payer(BaseModel):
    model_config = _In
    payer_id: Annotated[str, Field(min_length=1, max_length=64)]
    plan_type: PlanType


class Patient(BaseModel):
    """Pseudonymous patient; `patient_id` is PHI-adjacent and never logged."""

    model_config = _In
    patient_id: Annotated[str, Field(min_length=1, max_length=128)]
    weight_kg: Annotated[Decimal | None, Field(gt=0, le=1000, allow_inf_nan=False)] = None
    height_cm: Annotated[Decimal | None, Field(gt=0, le=300, allow_inf_nan=False)] = None
    bsa_m2: Annotated[Decimal | None, Field(gt=0, le=5, allow_inf_nan=False)] = None


class PriorAuthorization(BaseModel):
    model_config = _In
    number: Annotated[str | None, Field(max_length=64)] = None
    status: PriorAuthStatus


class Claim(BaseModel):
    model_config = _In
    claim_id: Annotated[str, Field(min_length=1, max_length=128)]
    claim_type: ClaimType
    total_lines: Annotated[int | None, Field(ge=1, le=10_000)] = None
    payer: Payer
    patient: Patient
    diagnosis_codes: Annotated[list[Code], Field(max_length=50)]
    place_of_service: Annotated[str | None, Field(max_length=8)] = None
    type_of_bill: Annotated[str | None, Field(max_length=8)] = None
    prior_authorization: PriorAuthorization | None = None
    received_date: date | None = Field(
        default=None, description="The day the payer received the claim (timely filing)."
    )
    frequency: ClaimFrequency | None = Field(
        default=None, description="Original, replacement or void (CLM05-3, TOB last digit)."
    )
    original_claim_id: Annotated[
        str | None,
        Field(max_length=128, description="The claim a replacement or void supersedes."),
    ] = None


class Ndc(BaseModel):
    """The NDC as reported in loop 2410; the code is checked by the rules, not here."""

    model_config = _In
    code: Annotated[str, Field(min_length=1, max_length=32)]
    quantity: Annotated[Decimal | None, Field(gt=0, le=1_000_000, allow_inf_nan=False)] = None
    unit: NdcUnit | None = None


class Line(BaseModel):
    model_config = _In
    line_number: Annotated[int, Field(ge=1, le=10_000)]
    hcpcs: Hcpcs
    modifiers: Annotated[list[Modifier], Field(max_length=4)] = []
    units: Annotated[Positive, Field(le=10_000_000, decimal_places=4)]
    service_date: date
    charge_amount: Annotated[Decimal | None, Field(ge=0, allow_inf_nan=False)] = None
    revenue_code: Annotated[str | None, Field(pattern=r"^\d{4}$")] = None
    ndc: Ndc | None = None
    # Bounded: a Decimal such as 1e400 is finite, but the dose rules' float of it is not.
    administered_mg: Annotated[
        Decimal | None,
        Field(ge=0, le=1_000_000, allow_inf_nan=False, description="Milligrams given."),
    ] = None
    route: Route | None = None
    drug_source: DrugSource | None = None
    place_of_service: Annotated[
        str | None,
        Field(pattern=r"^\d{2}$", description="SV105: overrides the claim's place of service."),
    ] = None


class Documentation(BaseModel):
    """Attestations; an absent field means "not attested"."""

    model_config = _In
    bcr_abl_confirmed: bool | None = None
    prior_tkis: Annotated[list[Annotated[str, Field(max_length=64)]], Field(max_length=20)] = []
    tki_resistance_or_intolerance: bool | None = None
    dose_calculation: bool | None = None
    administration_record: bool | None = None
    lot_number: Annotated[str | None, Field(max_length=64)] = None
    waste_record: bool | None = None


class ClaimLineEvent(BaseModel):
    """One claim line as published on `claims.lines.v1`."""

    model_config = ConfigDict(
        extra="ignore", frozen=True, str_strip_whitespace=True, title="ClaimLineEvent"
    )
    schema_: Literal["claim-line-event/v1"] = Field(alias="schema")
    event_id: Annotated[str, Field(min_length=1, max_length=128)]
    event_time: AwareDatetime
    source: Annotated[str | None, Field(max_length=128)] = None
    claim: Claim
    line: Line
    documentation: Documentation | None = None


# --- output -----------------------------------------------------------------

_Out = ConfigDict(extra="forbid", populate_by_name=True, serialize_by_alias=True)


class Finding(BaseModel):
    model_config = _Out
    code: str
    category: Category
    severity: Severity
    message: str
    field: str | None = None
    suggestion: str | None = None


class NdcInfo(BaseModel):
    model_config = _Out
    ndc11: str
    drug: str
    hcpcs: str
    billing_units_per_package: Number | None = None
    single_dose: bool | None = None
    labeler: str | None = None
    package_description: str | None = None
    status: str | None = None


class SimilarCode(BaseModel):
    model_config = _Out
    code: str
    reason: str


class Enrichment(BaseModel):
    model_config = _Out
    ndc: NdcInfo | None = None
    expected_units: Number | None = None
    dose_mg: Number | None = None
    bsa_m2: Number | None = None
    max_daily_units: Number | None = None
    similar_codes: list[SimilarCode] = []


class LineVerdict(BaseModel):
    """The explained verdict for one claim line, on `claims.verdicts.v1`."""

    model_config = ConfigDict(**_Out, title="LineVerdict")
    schema_: Literal["claim-line-verdict/v1"] = Field(
        default="claim-line-verdict/v1", alias="schema"
    )
    verdict_id: str
    event_id: str
    claim_id: str
    line_number: int
    hcpcs: str
    disposition: Disposition
    findings: list[Finding]
    enrichment: Enrichment
    ruleset_version: str
    reference_data_version: str
    validated_at: datetime


class ClaimLineRef(BaseModel):
    model_config = _Out
    line_number: int
    disposition: Disposition
    verdict_id: str


class ClaimVerdict(BaseModel):
    """The roll-up of a claim's lines, on `claims.claim-verdicts.v1`."""

    model_config = ConfigDict(**_Out, title="ClaimVerdict")
    schema_: Literal["claim-verdict/v1"] = Field(default="claim-verdict/v1", alias="schema")
    claim_id: str
    disposition: Disposition
    complete: bool
    total_lines: int | None = None
    lines: list[ClaimLineRef]
    findings: list[Finding]
    ruleset_version: str
    reference_data_version: str
    validated_at: datetime


class ValidationIssue(BaseModel):
    model_config = _Out
    loc: str
    msg: str


class RecordSource(BaseModel):
    """Where the rejected record came from; offline, `topic` names the file and
    `offset` is the 1-based line number."""

    model_config = _Out
    topic: str
    partition: int | None
    offset: int | None
    key: str | None
    key_base64: str | None = None


class DeadLetter(BaseModel):
    """A record that could not be validated, with its original bytes."""

    model_config = ConfigDict(**_Out, title="DeadLetter")
    schema_: Literal["dead-letter/v1"] = Field(default="dead-letter/v1", alias="schema")
    reason: DeadLetterReason
    detail: str
    errors: list[ValidationIssue] = []
    payload_base64: str
    source: RecordSource
    received_at: datetime
    event_id: str | None = None
