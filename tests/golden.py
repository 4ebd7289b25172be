"""The golden corpus: realistic lines, each with its disposition and exact finding codes.

Every case starts from the clean Medicare J9262 line of `streams.samples.event`
(350 units = one 3.5 mg vial, JZ, Synribo NDC, CML, BSA 1.85 m2 from 170 cm and
72.5 kg, so a label maximum of 463 units a day) and changes what it names. Both
`j9262 validate` and the stream run it (tests/test_golden.py and
tests/integration/test_golden_stream.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from streams.samples import ADMIN_96401, CARBO_450, GAZYVA, OPDIVO_100, PAYERS, claim, event
from streams.validation.rules import CATALOG
from streams.validation.rules.history import CODES as HISTORY_CODES

OPDIVO_240 = "00003-3734-13"


@dataclass(frozen=True)
class Case:
    name: str
    disposition: str
    codes: list[str]
    sections: dict[str, Any] = field(default_factory=dict)
    source: str = ""
    """The public source the expected verdict follows (the scenarios written for issue 30)."""

    def doc(self) -> dict[str, Any]:
        return event(f"golden-{self.name}", **self.sections)


@dataclass(frozen=True)
class ClaimCase:
    """A whole claim: its lines (changes of the base line, as `streams.samples.claim`), the
    claim verdict's disposition and the claim-level finding codes, and the source."""

    name: str
    disposition: str
    codes: list[str]
    lines: list[dict[str, Any]]
    source: str
    sections: dict[str, Any] = field(default_factory=dict)

    def docs(self) -> list[dict[str, Any]]:
        return claim(f"golden-claim-{self.name}", *self.lines, **self.sections)


def payer(plan: str, payer_id: str | None = None) -> dict[str, Any]:
    pid, plan_type = PAYERS[plan]
    return {"payer": {"payer_id": payer_id or pid, "plan_type": plan_type}}


def drug_line(
    hcpcs: str, ndc: str | dict[str, Any] | None, units: float, **more: Any
) -> dict[str, Any]:
    """A look-alike line: IV, no Synribo dose; `ndc` is a code (one vial) or a full NDC."""
    if isinstance(ndc, str):
        ndc = {"code": ndc, "quantity": 1, "unit": "UN"}
    line: dict[str, Any] = {
        "hcpcs": hcpcs,
        "units": units,
        "route": "intravenous",
        "administered_mg": None,
        "ndc": ndc,
    }
    return line | more


INSTITUTIONAL = {"claim_type": "institutional", "place_of_service": None, "type_of_bill": "131"}
MBPM_INCIDENT_TO = "Medicare Benefit Policy Manual ch. 15 s. 50.2-50.3 (incident-to drugs)"
MBPM_HOPD = "Medicare Benefit Policy Manual ch. 15 s. 60.1B (hospital outpatient drugs)"
UB04 = "NUBC UB-04 revenue code 0636 and type of bill 13x/85x; X12 837I SV201"
BAGGING = "Claim context: white bagging and brown bagging (nominal charge, double billing)"
NDC_BY_PAYER = (
    "Deficit Reduction Act 2005 s. 6002 (Medicaid NDC); Medicare needs no NDC on a "
    "HCPCS code that names the drug"
)
TF_MEDICARE = "42 CFR 424.44; Medicare Claims Processing Manual ch. 1 s. 70.1"
TF_MEDICAID = "42 CFR 447.45(d) (12 months)"
JWJZ = "CMS JW/JZ modifier policy FAQ (JZ from 2023-01-01, required 2023-07-01)"
LABEL = "Synribo prescribing information (BSA dosing, one 3.5 mg vial)"
ICD = "ICD-10-CM: Z85.6 personal history; C93.1 CMML (Excludes1 of C92.1)"
ICD10_FROM = "ICD-10-CM C92.10 is valid from 2015-10-01 (45 CFR 162.1002)"

WASTE_PAIR = {"claim": {"total_lines": 2}, "documentation": {"waste_record": True}}
BARE_PATIENT = {"patient": {"height_cm": None, "weight_kg": None}}

CASES: list[Case] = [
    # --- clean lines, per payer type and form -----------------------------------
    *[Case(f"clean-{plan}", "pass", [], {"claim": payer(plan)}) for plan in PAYERS],
    Case(
        "clean-bsa-given",
        "pass",
        [],
        {"claim": {"patient": {"bsa_m2": 2.0, "height_cm": None, "weight_kg": None}}},
    ),
    Case("clean-dx-without-dot", "pass", [], {"claim": {"diagnosis_codes": ["C9211"]}}),
    Case("clean-dx-relapse", "pass", [], {"claim": {"diagnosis_codes": ["C92.12"]}}),
    Case("clean-dx-secondary", "pass", [], {"claim": {"diagnosis_codes": ["Z51.11", "C92.10"]}}),
    Case(
        "clean-administered-line-of-jw-pair",
        "pass",
        [],
        {
            "claim": {"total_lines": 2},
            "line": {"modifiers": [], "units": 250, "administered_mg": 2.5},
        },
    ),
    Case(
        "clean-jw-line",
        "pass",
        [],
        WASTE_PAIR | {"line": {"modifiers": ["JW"], "units": 100, "administered_mg": None}},
    ),
    Case(
        "clean-before-jz-required",
        "pass",
        [],
        {
            "line": {"modifiers": [], "service_date": "2023-06-15"},
            "event_time": "2023-06-16T09:00:00Z",
        },
    ),
    Case("clean-me-unit", "pass", [], {"line": {"ndc": {"quantity": 3.5, "unit": "ME"}}}),
    Case("clean-gr-unit", "pass", [], {"line": {"ndc": {"quantity": 0.0035, "unit": "GR"}}}),
    Case("clean-5-3-2-ndc", "pass", [], {"line": {"ndc": {"code": "63459-177-14"}}}),
    Case("clean-11-digit-ndc", "pass", [], {"line": {"ndc": {"code": "63459017714"}}}),
    Case("clean-new-package-code", "pass", [], {"line": {"ndc": {"code": "63459-0177-99"}}}),
    Case("clean-tb-340b", "pass", [], {"line": {"modifiers": ["JZ", "TB"]}}),
    Case("clean-jg-340b", "pass", [], {"line": {"modifiers": ["JZ", "JG"]}}),
    Case("clean-kx", "pass", [], {"line": {"modifiers": ["JZ", "KX"]}}),
    Case(
        "clean-institutional",
        "pass",
        [],
        {
            "claim": {
                "claim_type": "institutional",
                "place_of_service": "22",
                "type_of_bill": "131",
            },
            "line": {"revenue_code": "0636"},
        },
    ),
    Case(
        "clean-payer-covers-atypical-cml",
        "pass",
        [],
        {"claim": payer("commercial", "QUALCHOICE") | {"diagnosis_codes": ["C92.20"]}},
    ),
    Case(
        "clean-white-bag-drug",
        "pass",
        [],
        {
            "claim": payer("commercial", "EXAMPLE-WHITEBAG"),
            "line": {"drug_source": "white_bag", "charge_amount": "0.01"},
        },
    ),
    Case("clean-medicare-needs-no-pa", "pass", [], {"claim": {"prior_authorization": None}}),
    Case(
        "clean-multi-line-medicare-without-jz",
        "pass",
        [],
        {"claim": {"total_lines": 3}, "line": {"modifiers": []}},
    ),
    Case(
        "clean-commercial-without-jz",
        "pass",
        [],
        {"claim": payer("commercial"), "line": {"modifiers": []}},
    ),
    Case(
        "clean-jw-line-is-waste-not-dose",
        "pass",
        [],
        WASTE_PAIR
        | {
            # 300 discarded units are above a BSA of 0.5 m2's 125-unit day: waste, not dose
            "claim": {"total_lines": 2, "patient": {"bsa_m2": 0.5}},
            "line": {"modifiers": ["JW"], "units": 300, "administered_mg": None},
        },
    ),
    # --- look-alike codes billed for their own drug pass ------------------------------
    Case("clean-nivolumab", "pass", [], {"line": drug_line("J9299", OPDIVO_100, 100)}),
    Case("clean-nivolumab-240", "pass", [], {"line": drug_line("J9299", OPDIVO_240, 240)}),
    Case(
        "clean-nivolumab-four-vials",
        "pass",
        [],
        {"line": drug_line("J9299", {"code": OPDIVO_100, "quantity": 4, "unit": "UN"}, 400)},
    ),
    Case(
        "clean-obinutuzumab",
        "pass",
        [],
        {"line": drug_line("J9301", {"code": GAZYVA, "quantity": 40, "unit": "ML"}, 100)},
    ),
    Case(
        "clean-carboplatin",
        "pass",
        [],
        {
            "line": drug_line(
                "J9045", {"code": CARBO_450, "quantity": 45, "unit": "ML"}, 9, modifiers=[]
            )
        },
    ),
    # --- out of scope ----------------------------------------------------------------
    *[
        Case(
            f"out-of-scope-{code}",
            "out_of_scope",
            [],
            {
                "line": {
                    "hcpcs": code,
                    "units": 1,
                    "modifiers": [],
                    "ndc": None,
                    "administered_mg": None,
                }
            },
        )
        for code in ("96401", "J1100", "99213", "J9035")
    ],
    # --- coding ------------------------------------------------------------------------
    Case("retired-c9297", "fail", ["CODING_RETIRED_CODE"], {"line": {"hcpcs": "C9297"}}),
    Case(
        "service-year-typo",
        "fail",
        ["SERVICE_DATE_IN_FUTURE"],
        {"line": {"service_date": "2062-11-20"}},
    ),
    Case(
        "filed-after-a-year-medicare",
        "fail",
        ["PAYER_TIMELY_FILING"],
        {"line": {"service_date": "2025-11-19"}},
    ),
    Case("filed-on-the-last-day-medicare", "pass", [], {"line": {"service_date": "2025-11-20"}}),
    Case(
        "filed-after-90-days-commercial",
        "fail",
        ["PAYER_TIMELY_FILING"],
        {"claim": payer("commercial"), "line": {"service_date": "2026-08-21"}},
    ),
    Case(
        "service-next-day-local-time",
        "pass",
        [],
        {"line": {"service_date": "2026-11-21"}},
    ),
    *[
        Case(f"typo-{code}", "fail", ["CODING_TYPO"], {"line": {"hcpcs": code}})
        for code in ("J9226", "J9622", "J9626", "J9263", "J9266")
    ],
    Case(
        "lookalike-opdivo-ndc-on-j9262",
        "fail",
        ["CODING_LOOKALIKE_NDC"],
        {"line": {"ndc": {"code": OPDIVO_100}, "units": 100, "administered_mg": 100}},
    ),
    Case(
        "lookalike-gazyva-ndc-on-j9262",
        "fail",
        ["CODING_LOOKALIKE_NDC"],
        {"line": {"ndc": {"code": GAZYVA}, "units": 100, "administered_mg": None}},
    ),
    Case(
        "lookalike-carboplatin-ndc-on-j9262",
        "fail",
        ["CODING_LOOKALIKE_NDC"],
        {"line": {"ndc": {"code": CARBO_450}, "units": 9, "administered_mg": None}},
    ),
    *[
        Case(
            f"lookalike-synribo-ndc-on-{code}",
            "fail",
            ["CODING_LOOKALIKE_NDC"],
            {"line": {"hcpcs": code}},
        )
        for code in ("J9299", "J9301", "J9045")
    ],
    Case(
        # Medicare J9301 is a single-dose vial: without JW/JZ it is returned (issue 30 item 3)
        "lookalike-units-j9301",
        "fail",
        ["CODING_LOOKALIKE_UNITS", "NDC_MISSING", "MODIFIER_JZ_JW_REQUIRED"],
        {"line": drug_line("J9301", None, 350, modifiers=[])},
    ),
    Case(
        "lookalike-units-j9299",
        "fail",
        ["CODING_LOOKALIKE_UNITS", "NDC_MISSING", "MODIFIER_JZ_JW_REQUIRED"],
        {"line": drug_line("J9299", None, 700, modifiers=[])},
    ),
    # --- ndc ---------------------------------------------------------------------------
    Case("ndc-missing-medicare", "pass", ["NDC_MISSING"], {"line": {"ndc": None}}),
    Case(
        "ndc-missing-other-plan-warns",
        "warn",
        ["NDC_MISSING"],
        {"claim": payer("other"), "line": {"ndc": None}},
    ),
    Case("ndc-ambiguous", "fail", ["NDC_AMBIGUOUS"], {"line": {"ndc": {"code": "6345901771"}}}),
    Case(
        "ndc-malformed-letters",
        "fail",
        ["NDC_MALFORMED"],
        {"line": {"ndc": {"code": "63459-01X7-14"}}},
    ),
    Case("ndc-malformed-short", "fail", ["NDC_MALFORMED"], {"line": {"ndc": {"code": "12345"}}}),
    Case(
        # J9262 is single-source: another NDC is another drug or a slip (issue 30 item 4)
        "ndc-unknown",
        "fail",
        ["NDC_NOT_SINGLE_SOURCE"],
        {"line": {"ndc": {"code": "12345-6789-01"}}},
    ),
    Case("ndc-of-another-code", "fail", ["NDC_HCPCS_MISMATCH"], {"line": {"hcpcs": "J9035"}}),
    Case(
        "ndc-quantity-missing",
        "warn",
        ["NDC_QUANTITY_MISSING"],
        {"line": {"ndc": {"quantity": None}}},
    ),
    Case("ndc-unit-missing", "warn", ["NDC_QUANTITY_MISSING"], {"line": {"ndc": {"unit": None}}}),
    Case("ndc-unit-f2", "warn", ["NDC_UNIT_INVALID"], {"line": {"ndc": {"unit": "F2"}}}),
    Case("ndc-ml-for-a-powder", "warn", ["NDC_UNIT_INVALID"], {"line": {"ndc": {"unit": "ML"}}}),
    # --- units -------------------------------------------------------------------------
    Case("units-in-mg", "fail", ["UNITS_NDC_SCALE"], {"line": {"units": 3.5}}),
    Case(
        "units-in-mg-without-ndc",
        "fail",
        ["NDC_MISSING", "UNITS_NDC_SCALE"],
        {"line": {"units": 3.5, "ndc": None}},
    ),
    Case("units-one-per-vial", "fail", ["UNITS_PER_VIAL"], {"line": {"units": 1}}),
    Case(
        "units-one-per-vial-two-vials",
        "fail",
        ["UNITS_PER_VIAL"],
        {"line": {"units": 2, "ndc": {"quantity": 2}}},
    ),
    Case(
        "units-more-vials-than-units",
        "fail",
        ["UNITS_NDC_MISMATCH"],
        {"line": {"ndc": {"quantity": 3}}},
    ),
    Case(
        "units-mg-quantity-mismatch",
        "fail",
        ["UNITS_NDC_MISMATCH"],
        {"line": {"units": 500, "administered_mg": 5, "ndc": {"quantity": 3.5, "unit": "ME"}}},
    ),
    Case(
        "units-above-mue",
        "fail",
        ["UNITS_ABOVE_MUE", "MODIFIER_JZ_PARTIAL_VIAL"],
        {
            "claim": {"patient": {"bsa_m2": 3.0}},
            "line": {"units": 800, "administered_mg": 8, "ndc": {"quantity": 3}},
        },
    ),
    Case(
        "units-fractional",
        "fail",
        ["UNITS_FRACTIONAL", "MODIFIER_JZ_PARTIAL_VIAL"],
        {"line": {"units": 350.5, "administered_mg": 3.505, "ndc": {"quantity": 2}}},
    ),
    Case(
        "units-not-the-administered-dose",
        "warn",
        ["UNITS_DOSE_MISMATCH"],
        {"line": {"administered_mg": 2.5}},
    ),
    # --- dosing ------------------------------------------------------------------------
    Case(
        "dosing-above-label",
        "fail",
        ["DOSING_ABOVE_LABEL_MAX", "MODIFIER_JZ_PARTIAL_VIAL"],
        {"line": {"units": 600, "administered_mg": 6, "ndc": {"quantity": 2}}},
    ),
    Case(
        "dosing-within-tolerance",
        "pass",
        ["MODIFIER_JZ_PARTIAL_VIAL"],
        {"claim": {"patient": {"bsa_m2": 1.0}}, "line": {"units": 270, "administered_mg": 2.7}},
    ),
    Case("dosing-bsa-unknown", "pass", ["DOSING_BSA_UNKNOWN"], {"claim": BARE_PATIENT}),
    Case("dosing-route-intravenous", "warn", ["DOSING_ROUTE"], {"line": {"route": "intravenous"}}),
    Case(
        "dosing-route-intramuscular", "warn", ["DOSING_ROUTE"], {"line": {"route": "intramuscular"}}
    ),
    # --- modifiers ---------------------------------------------------------------------
    Case(
        "mod-jw-and-jz",
        "fail",
        ["MODIFIER_JW_JZ_BOTH"],
        WASTE_PAIR | {"line": {"modifiers": ["JW", "JZ"], "units": 100}},
    ),
    Case(
        "mod-medicare-single-line-without-jz",
        "fail",
        ["MODIFIER_JZ_JW_REQUIRED"],
        {"line": {"modifiers": []}},
    ),
    Case(
        "mod-jw-fraction-of-a-unit",
        "fail",
        ["UNITS_FRACTIONAL", "MODIFIER_JW_UNITS"],
        WASTE_PAIR | {"line": {"modifiers": ["JW"], "units": 0.5}},
    ),
    Case(
        "mod-jz-partial-vial",
        "pass",
        ["MODIFIER_JZ_PARTIAL_VIAL"],
        {"line": {"units": 300, "administered_mg": 3}},
    ),
    Case(
        "mod-jz-on-multi-dose",
        "warn",
        ["MODIFIER_WASTE_MULTI_DOSE"],
        {
            "line": drug_line(
                "J9045", {"code": CARBO_450, "quantity": 45, "unit": "ML"}, 9, modifiers=["JZ"]
            )
        },
    ),
    Case(
        "mod-jg-and-tb",
        "fail",
        ["MODIFIER_JG_TB_BOTH"],
        {"line": {"modifiers": ["JZ", "JG", "TB"]}},
    ),
    Case("mod-59", "warn", ["MODIFIER_DISTINCT_ON_DRUG"], {"line": {"modifiers": ["JZ", "59"]}}),
    Case("mod-xs", "warn", ["MODIFIER_DISTINCT_ON_DRUG"], {"line": {"modifiers": ["JZ", "XS"]}}),
    Case("mod-unknown", "warn", ["MODIFIER_UNKNOWN"], {"line": {"modifiers": ["JZ", "Q9"]}}),
    # --- diagnosis ---------------------------------------------------------------------
    Case("dx-missing", "fail", ["DX_MISSING"], {"claim": {"diagnosis_codes": []}}),
    Case("dx-not-cml", "fail", ["DX_NOT_SUPPORTING"], {"claim": {"diagnosis_codes": ["C50.911"]}}),
    Case("dx-category-c92-1", "fail", ["DX_INCOMPLETE"], {"claim": {"diagnosis_codes": ["C92.1"]}}),
    Case(
        "dx-category-without-dot",
        "fail",
        ["DX_INCOMPLETE"],
        {"claim": {"diagnosis_codes": ["C921"]}},
    ),
    Case(
        "dx-atypical-cml", "warn", ["DX_ATYPICAL_CML"], {"claim": {"diagnosis_codes": ["C92.20"]}}
    ),
    # --- documentation -----------------------------------------------------------------
    Case(
        "doc-none-attested",
        "warn",
        [
            "DOC_BCR_ABL",
            "DOC_TKI_HISTORY",
            "DOC_DOSE_CALCULATION",
            "DOC_ADMINISTRATION_RECORD",
            "DOC_LOT_NUMBER",
        ],
        {"documentation": None},
    ),
    Case("doc-bcr-abl", "warn", ["DOC_BCR_ABL"], {"documentation": {"bcr_abl_confirmed": False}}),
    Case(
        "doc-one-tki", "warn", ["DOC_TKI_HISTORY"], {"documentation": {"prior_tkis": ["imatinib"]}}
    ),
    Case("doc-no-lot", "pass", ["DOC_LOT_NUMBER"], {"documentation": {"lot_number": None}}),
    Case(
        "doc-dose-calculation",
        "warn",
        ["DOC_DOSE_CALCULATION"],
        {"documentation": {"dose_calculation": False}},
    ),
    Case(
        "doc-administration-record",
        "warn",
        ["DOC_ADMINISTRATION_RECORD"],
        {"documentation": {"administration_record": None}},
    ),
    Case(
        "doc-waste-record",
        "warn",
        ["DOC_WASTE_RECORD"],
        {"claim": {"total_lines": 2}, "line": {"modifiers": ["JW"], "units": 100}},
    ),
    # --- payer policy ------------------------------------------------------------------
    Case(
        "payer-pa-missing-commercial",
        "fail",
        ["PAYER_PA_MISSING"],
        {"claim": payer("commercial") | {"prior_authorization": None}},
    ),
    Case(
        "payer-pa-denied-medicare-advantage",
        "fail",
        ["PAYER_PA_DENIED"],
        {"claim": payer("medicare_advantage") | {"prior_authorization": {"status": "denied"}}},
    ),
    Case(
        "payer-pa-pending-medicaid",
        "warn",
        ["PAYER_PA_PENDING"],
        {"claim": payer("medicaid") | {"prior_authorization": {"status": "pending"}}},
    ),
    Case(
        "payer-step-therapy",
        "fail",
        ["PAYER_STEP_THERAPY"],
        {"claim": payer("commercial"), "documentation": {"prior_tkis": ["imatinib"]}},
    ),
    Case(
        "payer-white-bag-required",
        "fail",
        ["PAYER_WHITE_BAG"],
        {"claim": payer("commercial", "EXAMPLE-WHITEBAG")},
    ),
    Case(
        "payer-drug-excluded",
        "fail",
        ["PAYER_DRUG_EXCLUDED"],
        {"claim": payer("commercial", "EXAMPLE-EXCLUDES")},
    ),
    # --- several problems on one line --------------------------------------------------
    Case(
        "many-problems",
        "fail",
        [
            "NDC_MISSING",
            "UNITS_NDC_SCALE",
            "DOSING_ROUTE",
            "MODIFIER_JZ_JW_REQUIRED",
            "DX_NOT_SUPPORTING",
            "DOC_LOT_NUMBER",
        ],
        {
            "claim": {"diagnosis_codes": ["D47.1"]},
            "line": {"ndc": None, "units": 3.5, "modifiers": [], "route": "intravenous"},
            "documentation": {"lot_number": None},
        },
    ),
]


def inst(**claim: Any) -> dict[str, Any]:
    """An 837I hospital outpatient claim (TOB 131), drug line under revenue code 0636."""
    return {"claim": INSTITUTIONAL | claim, "line": {"revenue_code": "0636"}}


def filed(service: str, received: str, plan: str = "medicare", pid: str | None = None) -> dict:
    """A line of `service` the payer received on `received` (sent to us the same day)."""
    return {
        "claim": payer(plan, pid) | {"received_date": received},
        "line": {"service_date": service},
        "event_time": f"{received}T12:00:00Z",
    }


NIVOLUMAB_NO_NDC = drug_line("J9299", None, 100, modifiers=[])

# Scenarios written from the public sources for issue 30: each names the source its
# expected verdict follows, for Medicare, Medicare Advantage, Medicaid and commercial
# payers, on professional and institutional claims, clean and flawed.
SOURCED_CASES: list[Case] = [
    # --- site of care (place of service) -------------------------------------------
    Case(
        "src-home-dose-medicare",
        "fail",
        ["SITE_HOME_PART_B"],
        {"line": {"place_of_service": "12"}},
        MBPM_INCIDENT_TO,
    ),
    Case(
        "src-home-dose-claim-pos-ma",
        "fail",
        ["SITE_HOME_PART_B"],
        {"claim": payer("medicare_advantage") | {"place_of_service": "12"}},
        MBPM_INCIDENT_TO,
    ),
    Case(
        "src-home-dose-commercial-own-rules",
        "pass",
        [],
        {"claim": payer("commercial") | {"place_of_service": "12"}},
        MBPM_INCIDENT_TO + " (a Medicare Part B rule; the commercial plan's own terms apply)",
    ),
    Case(
        "src-office-pos-11-medicaid",
        "pass",
        [],
        {"claim": payer("medicaid"), "line": {"place_of_service": "11"}},
        MBPM_INCIDENT_TO,
    ),
    Case(
        "src-professional-pos-19-medicare",
        "fail",
        ["SITE_PROFESSIONAL_IN_HOSPITAL_OUTPATIENT"],
        {"claim": {"place_of_service": "19"}},
        MBPM_HOPD,
    ),
    Case(
        "src-professional-line-pos-22-medicare",
        "fail",
        ["SITE_PROFESSIONAL_IN_HOSPITAL_OUTPATIENT"],
        {"line": {"place_of_service": "22"}},
        MBPM_HOPD,
    ),
    Case(
        "src-professional-pos-22-ma",
        "fail",
        ["SITE_PROFESSIONAL_IN_HOSPITAL_OUTPATIENT"],
        {"claim": payer("medicare_advantage") | {"place_of_service": "22"}},
        MBPM_HOPD,
    ),
    Case(
        "src-professional-pos-22-commercial",
        "warn",
        ["SITE_PROFESSIONAL_IN_HOSPITAL_OUTPATIENT"],
        {"claim": payer("commercial") | {"place_of_service": "22"}},
        MBPM_HOPD,
    ),
    Case(
        "src-professional-pos-19-medicaid",
        "warn",
        ["SITE_PROFESSIONAL_IN_HOSPITAL_OUTPATIENT"],
        {"claim": payer("medicaid") | {"place_of_service": "19"}},
        MBPM_HOPD,
    ),
    # --- institutional claims ------------------------------------------------------
    Case("src-institutional-medicare-131", "pass", [], inst(), UB04),
    Case("src-institutional-cah-851", "pass", [], inst(type_of_bill="851"), UB04),
    Case("src-institutional-tob-0131", "pass", [], inst(type_of_bill="0131"), UB04),
    Case(
        "src-institutional-replacement-137",
        "pass",
        [],
        inst(type_of_bill="137", frequency="replacement", original_claim_id="CLM-1"),
        UB04,
    ),
    Case("src-institutional-medicaid", "pass", [], inst(**payer("medicaid")), UB04),
    Case("src-institutional-ma", "pass", [], inst(**payer("medicare_advantage")), UB04),
    Case("src-institutional-commercial", "pass", [], inst(**payer("commercial")), UB04),
    Case(
        "src-institutional-340b-tb",
        "pass",
        [],
        inst() | {"line": {"revenue_code": "0636", "modifiers": ["JZ", "TB"]}},
        UB04 + "; CMS OPPS 340B modifiers",
    ),
    Case(
        "src-institutional-no-revenue-code",
        "fail",
        ["SITE_REVENUE_CODE_MISSING"],
        inst() | {"line": {}},
        UB04,
    ),
    Case(
        "src-institutional-revenue-0250",
        "warn",
        ["SITE_REVENUE_CODE"],
        inst() | {"line": {"revenue_code": "0250"}},
        UB04,
    ),
    Case(
        "src-institutional-no-type-of-bill",
        "fail",
        ["SITE_TYPE_OF_BILL"],
        inst(type_of_bill=None),
        UB04,
    ),
    Case(
        "src-institutional-inpatient-111",
        "fail",
        ["SITE_TYPE_OF_BILL"],
        inst(type_of_bill="111"),
        UB04,
    ),
    Case(
        "src-institutional-snf-211-medicaid",
        "fail",
        ["SITE_TYPE_OF_BILL"],
        inst(type_of_bill="211", **payer("medicaid")),
        UB04,
    ),
    # --- how the drug reached the patient ------------------------------------------
    Case(
        "src-brown-bag-full-charge",
        "fail",
        ["DRUG_SOURCE_FULL_CHARGE"],
        {"line": {"drug_source": "brown_bag"}},
        BAGGING,
    ),
    Case(
        "src-brown-bag-no-charge",
        "pass",
        [],
        {"line": {"drug_source": "brown_bag", "charge_amount": "0.00"}},
        BAGGING,
    ),
    Case(
        "src-brown-bag-nominal-medicaid",
        "pass",
        [],
        {"claim": payer("medicaid"), "line": {"drug_source": "brown_bag", "charge_amount": "0.01"}},
        BAGGING,
    ),
    Case(
        "src-specialty-pharmacy-full-charge",
        "fail",
        ["DRUG_SOURCE_FULL_CHARGE"],
        {"claim": payer("commercial"), "line": {"drug_source": "specialty_pharmacy"}},
        BAGGING,
    ),
    Case(
        "src-specialty-pharmacy-nominal",
        "pass",
        [],
        {"line": {"drug_source": "specialty_pharmacy", "charge_amount": "0.01"}},
        BAGGING,
    ),
    Case(
        "src-white-bag-full-charge",
        "fail",
        ["DRUG_SOURCE_FULL_CHARGE"],
        {"claim": payer("commercial", "EXAMPLE-WHITEBAG"), "line": {"drug_source": "white_bag"}},
        BAGGING,
    ),
    Case(
        "src-white-bag-nominal-institutional",
        "pass",
        [],
        inst(**payer("commercial", "EXAMPLE-WHITEBAG"))
        | {"line": {"revenue_code": "0636", "drug_source": "white_bag", "charge_amount": "0.01"}},
        BAGGING,
    ),
    # --- the NDC by payer ----------------------------------------------------------
    Case(
        "src-ndc-missing-medicaid",
        "fail",
        ["NDC_MISSING"],
        {"claim": payer("medicaid"), "line": {"ndc": None}},
        NDC_BY_PAYER,
    ),
    Case(
        "src-ndc-missing-commercial",
        "fail",
        ["NDC_MISSING"],
        {"claim": payer("commercial"), "line": {"ndc": None}},
        NDC_BY_PAYER,
    ),
    Case(
        "src-ndc-missing-ma",
        "warn",
        ["NDC_MISSING"],
        {"claim": payer("medicare_advantage"), "line": {"ndc": None}},
        NDC_BY_PAYER,
    ),
    Case(
        "src-ndc-missing-payer-does-not-require",
        "pass",
        ["NDC_MISSING"],
        {"claim": payer("commercial", "EXAMPLE-NDC-OPTIONAL"), "line": {"ndc": None}},
        NDC_BY_PAYER + "; the payer's own terms",
    ),
    Case(
        "src-ndc-missing-institutional-medicare",
        "pass",
        ["NDC_MISSING"],
        inst() | {"line": {"revenue_code": "0636", "ndc": None}},
        NDC_BY_PAYER,
    ),
    Case(
        "src-ndc-missing-nivolumab-medicaid",
        "fail",
        ["NDC_MISSING"],
        {"claim": payer("medicaid"), "line": NIVOLUMAB_NO_NDC},
        NDC_BY_PAYER,
    ),
    Case(
        "src-ndc-quantity-missing-medicaid",
        "fail",
        ["NDC_QUANTITY_MISSING"],
        {"claim": payer("medicaid"), "line": {"ndc": {"quantity": None}}},
        NDC_BY_PAYER + "; NCPDP billing units",
    ),
    # --- timely filing, to the date received ---------------------------------------
    Case(
        "src-medicare-received-within-the-year",
        "pass",
        [],
        filed("2025-11-25", "2026-11-20"),
        TF_MEDICARE,
    ),
    Case(
        "src-medicare-received-a-day-late",
        "fail",
        ["PAYER_TIMELY_FILING"],
        filed("2025-11-10", "2026-11-11"),
        TF_MEDICARE,
    ),
    Case(
        "src-medicare-feb-29-received-feb-28",
        "pass",
        [],
        filed("2024-02-29", "2025-02-28"),
        TF_MEDICARE + " (February 29 rule)",
    ),
    Case(
        "src-medicare-feb-29-received-mar-1",
        "fail",
        ["PAYER_TIMELY_FILING"],
        filed("2024-02-29", "2025-03-01"),
        TF_MEDICARE + " (February 29 rule)",
    ),
    Case(
        "src-medicare-received-in-time-sent-late",
        "pass",
        [],
        filed("2025-11-10", "2026-11-05") | {"event_time": "2026-11-20T12:00:00Z"},
        TF_MEDICARE + " (measured to the date received)",
    ),
    Case(
        "src-medicaid-received-in-12-months",
        "pass",
        [],
        filed("2025-11-21", "2026-11-20", "medicaid"),
        TF_MEDICAID,
    ),
    Case(
        "src-medicaid-received-after-12-months",
        "fail",
        ["PAYER_TIMELY_FILING"],
        filed("2025-10-15", "2026-11-20", "medicaid"),
        TF_MEDICAID,
    ),
    Case(
        "src-commercial-day-90",
        "pass",
        [],
        filed("2026-08-22", "2026-11-20", "commercial"),
        "Payer contract (90 days)",
    ),
    Case(
        "src-commercial-payer-allows-180-days",
        "pass",
        [],
        filed("2026-06-01", "2026-11-20", "commercial", "EXAMPLE-180-DAYS"),
        "Payer contract (180 days, payer_policies.yaml)",
    ),
    # --- modifiers by payer and date -----------------------------------------------
    Case(
        "src-ma-without-jz",
        "pass",
        [],
        {"claim": payer("medicare_advantage"), "line": {"modifiers": []}},
        JWJZ + " (Medicare Part B policy)",
    ),
    Case(
        "src-medicaid-without-jz",
        "pass",
        [],
        {"claim": payer("medicaid"), "line": {"modifiers": []}},
        JWJZ + " (Medicare Part B policy)",
    ),
    Case(
        "src-medicare-no-jz-2023-06-30",
        "pass",
        [],
        {
            "line": {"modifiers": [], "service_date": "2023-06-30"},
            "event_time": "2023-07-05T09:00:00Z",
        },
        JWJZ,
    ),
    Case(
        "src-medicare-no-jz-2023-07-01",
        "fail",
        ["MODIFIER_JZ_JW_REQUIRED"],
        {
            "line": {"modifiers": [], "service_date": "2023-07-01"},
            "event_time": "2023-07-05T09:00:00Z",
        },
        JWJZ,
    ),
    Case(
        "src-jz-valid-before-required",
        "pass",
        [],
        {"line": {"service_date": "2023-03-01"}, "event_time": "2023-03-02T09:00:00Z"},
        JWJZ,
    ),
    Case(
        "src-jz-before-it-existed",
        "fail",
        ["MODIFIER_NOT_IN_EFFECT"],
        {"line": {"service_date": "2022-11-15"}, "event_time": "2022-11-16T09:00:00Z"},
        JWJZ,
    ),
    Case(
        "src-jw-on-multi-dose-carboplatin",
        "fail",
        ["MODIFIER_WASTE_MULTI_DOSE"],
        {
            "line": drug_line(
                "J9045", {"code": CARBO_450, "quantity": 45, "unit": "ML"}, 9, modifiers=["JW"]
            )
        },
        JWJZ + " (never on multi-dose containers)",
    ),
    Case(
        "src-gz-medicare",
        "fail",
        ["MODIFIER_GZ"],
        {"line": {"modifiers": ["JZ", "GZ"]}},
        "CMS CR 7228 (GZ lines denied automatically)",
    ),
    Case(
        "src-ga-medicare",
        "pass",
        ["MODIFIER_GA"],
        {"line": {"modifiers": ["JZ", "GA"]}},
        "CMS HCPCS modifier GA (ABN on file)",
    ),
    Case(
        "src-gy-medicare",
        "fail",
        ["MODIFIER_GY"],
        {"line": {"modifiers": ["JZ", "GY"]}},
        "CMS HCPCS modifier GY (statutorily excluded)",
    ),
    Case(
        "src-c9297-in-2013",
        "fail",
        ["DX_NOT_IN_EFFECT"],
        {
            "line": {"hcpcs": "C9297", "modifiers": [], "service_date": "2013-10-01"},
            "event_time": "2013-10-02T09:00:00Z",
        },
        "CMS HCPCS: C9297 valid 2013-07-01 to 2013-12-31 (QualChoice BI405:00); the claim's "
        + ICD10_FROM,
    ),
    # --- dose and documentation ----------------------------------------------------
    Case(
        "src-bsa-unknown-two-vials",
        "warn",
        ["DOSING_BSA_UNKNOWN"],
        {
            "claim": BARE_PATIENT,
            "line": {"units": 700, "administered_mg": 7, "ndc": {"quantity": 2}},
        },
        LABEL,
    ),
    Case(
        "src-bsa-unknown-one-vial-medicaid",
        "pass",
        ["DOSING_BSA_UNKNOWN"],
        {"claim": BARE_PATIENT | payer("medicaid")},
        LABEL,
    ),
    Case(
        "src-lot-number-missing-commercial",
        "pass",
        ["DOC_LOT_NUMBER"],
        {"claim": payer("commercial"), "documentation": {"lot_number": None}},
        "Severity policy: a lot number cannot change the outcome",
    ),
    # --- diagnoses and step therapy ------------------------------------------------
    Case(
        "src-history-of-leukemia-only",
        "fail",
        ["DX_NOT_SUPPORTING"],
        {"claim": {"diagnosis_codes": ["Z85.6"]}},
        ICD,
    ),
    Case(
        "src-cmml-is-not-cml",
        "fail",
        ["DX_NOT_SUPPORTING"],
        {"claim": {"diagnosis_codes": ["C93.10"]}},
        ICD,
    ),
    Case(
        "src-atypical-cml-medicaid",
        "warn",
        ["DX_ATYPICAL_CML"],
        {"claim": payer("medicaid") | {"diagnosis_codes": ["C92.22"]}},
        "ICD-10-CM C92.2x; QualChoice BI405:00",
    ),
    Case(
        "src-three-tkis-payer-two-documented",
        "fail",
        ["PAYER_STEP_THERAPY"],
        {"claim": payer("commercial", "EXAMPLE-THREE-TKIS")},
        "Payer step therapy (three TKIs, payer_policies.yaml)",
    ),
    Case(
        "src-three-tkis-payer-three-documented",
        "pass",
        [],
        {
            "claim": payer("commercial", "EXAMPLE-THREE-TKIS"),
            "documentation": {"prior_tkis": ["imatinib", "dasatinib", "nilotinib"]},
        },
        "Payer step therapy (three TKIs, payer_policies.yaml)",
    ),
]

# --- issue 30 item 3: JW/JZ for every single-dose drug, GA, 340B by facility type ------
JWJZ_ALL = JWJZ + " (every single-dose container drug: nivolumab, obinutuzumab, omacetaxine)"
JW_VIAL = JWJZ + " (discarded amount from the vial opened for the dose)"
TB_CAH = (
    "CMS Part B Inflation Rebate Guidance, revised March 2023 (TB for critical access hospitals)"
)
OPDIVO_100_ML = {"code": OPDIVO_100, "quantity": 10, "unit": "ML"}


def cah(modifier_340b: str) -> dict[str, Any]:
    """A critical access hospital's claim (TOB 851) whose drug line carries a 340B modifier."""
    line = {"revenue_code": "0636", "modifiers": ["JZ", modifier_340b]}
    return {"claim": INSTITUTIONAL | {"type_of_bill": "851"}, "line": line}


NIVOLUMAB_JW = drug_line("J9299", OPDIVO_100, 60, modifiers=["JW"])
SOURCED_CASES += [
    Case(
        "src-medicare-nivolumab-without-jz",
        "fail",
        ["MODIFIER_JZ_JW_REQUIRED"],
        {"line": drug_line("J9299", OPDIVO_100, 100, modifiers=[])},
        JWJZ_ALL,
    ),
    Case(
        "src-medicare-obinutuzumab-without-jz",
        "fail",
        ["MODIFIER_JZ_JW_REQUIRED"],
        {
            "line": drug_line(
                "J9301", {"code": GAZYVA, "quantity": 40, "unit": "ML"}, 100, modifiers=[]
            )
        },
        JWJZ_ALL,
    ),
    Case(
        "src-medicare-nivolumab-without-jz-2023-06-30",
        "pass",
        [],
        {
            "line": drug_line("J9299", OPDIVO_100, 100, modifiers=[], service_date="2023-06-30"),
            "event_time": "2023-07-05T09:00:00Z",
        },
        JWJZ_ALL,
    ),
    Case(
        "src-medicaid-nivolumab-without-jz",
        "pass",
        [],
        {"claim": payer("medicaid"), "line": drug_line("J9299", OPDIVO_100_ML, 100, modifiers=[])},
        JWJZ_ALL + " (Medicare Part B policy)",
    ),
    Case(
        "src-medicare-carboplatin-multi-dose-without-jz",
        "pass",
        [],
        {
            "line": drug_line(
                "J9045", {"code": CARBO_450, "quantity": 45, "unit": "ML"}, 9, modifiers=[]
            )
        },
        JWJZ + " (never on multi-dose containers)",
    ),
    Case(
        "src-jw-two-whole-vials",
        "fail",
        ["MODIFIER_JW_WHOLE_VIAL"],
        WASTE_PAIR
        | {
            "line": {
                "modifiers": ["JW"],
                "units": 700,
                "administered_mg": None,
                "ndc": {"quantity": 2},
            }
        },
        JW_VIAL,
    ),
    Case(
        "src-jw-one-whole-vial",
        "fail",
        ["MODIFIER_JW_WHOLE_VIAL"],
        WASTE_PAIR | {"line": {"modifiers": ["JW"], "units": 350, "administered_mg": None}},
        JW_VIAL,
    ),
    Case(
        "src-jw-whole-nivolumab-vial",
        "fail",
        ["MODIFIER_JW_WHOLE_VIAL"],
        {
            "claim": {"total_lines": 2},
            "line": drug_line("J9299", OPDIVO_100, 100, modifiers=["JW"]),
        },
        JW_VIAL,
    ),
    Case(
        "src-jw-nivolumab-part-of-a-vial",
        "pass",
        [],
        {"claim": {"total_lines": 2}, "line": NIVOLUMAB_JW},
        JW_VIAL,
    ),
    Case(
        "src-ga-commercial",
        "pass",
        [],
        {"claim": payer("commercial"), "line": {"modifiers": ["GA"]}},
        "CMS HCPCS modifier GA (ABN is Medicare's notice)",
    ),
    Case(
        "src-jg-at-critical-access-hospital",
        "warn",
        ["MODIFIER_340B_FACILITY"],
        cah("JG"),
        TB_CAH,
    ),
    Case(
        "src-tb-at-critical-access-hospital",
        "pass",
        [],
        cah("TB"),
        TB_CAH,
    ),
    Case(
        "src-jg-at-critical-access-hospital-2023",
        "pass",
        [],
        {
            "claim": INSTITUTIONAL | {"type_of_bill": "851"},
            "line": {
                "revenue_code": "0636",
                "modifiers": ["JZ", "JG"],
                "service_date": "2023-09-01",
            },
            "event_time": "2023-09-05T09:00:00Z",
        },
        TB_CAH + " (from 2024-01-01)",
    ),
    Case(
        "src-jg-at-opps-hospital",
        "pass",
        [],
        {"claim": INSTITUTIONAL, "line": {"revenue_code": "0636", "modifiers": ["JZ", "JG"]}},
        TB_CAH + " (JG for all other 340B covered entities)",
    ),
]


# --- issue 30 item 5: units and dose --------------------------------------------------
SCALE = (
    "CMS HCPCS Level II billing units (J9262 per 0.01 mg, J9301 per 10 mg); X12 837 CTP04/CTP05 "
    "(the NDC quantity); claim context: wrong-scale billing"
)
BODY = "Claim context: units and dose (BSA outside 0.2-3.0 m2, height/weight in wrong units)"
ONE_LINE_PER_DAY = "Claim context: one line per date of service; " + LABEL
SOURCED_CASES += [
    Case(
        "src-units-ten-times-too-few",
        "fail",
        ["UNITS_NDC_SCALE"],
        {"line": {"units": 35, "administered_mg": None}},
        SCALE,
    ),
    Case(
        "src-units-ten-times-too-many-medicaid",
        "fail",
        ["UNITS_NDC_SCALE", "UNITS_ABOVE_MUE"],
        {"claim": payer("medicaid"), "line": {"units": 3500, "administered_mg": None}},
        SCALE,
    ),
    Case(
        "src-obinutuzumab-mg-as-units",
        "fail",
        ["UNITS_NDC_SCALE"],
        {"line": drug_line("J9301", GAZYVA, 1000)},
        SCALE,
    ),
    Case(
        "src-units-per-vial-commercial",
        "fail",
        ["UNITS_PER_VIAL"],
        {"claim": payer("commercial"), "line": {"units": 1}},
        SCALE,
    ),
    Case(
        "src-ten-times-without-ndc-is-a-dose-mismatch",
        "warn",
        ["NDC_MISSING", "UNITS_DOSE_MISMATCH", "MODIFIER_JZ_PARTIAL_VIAL"],
        {"claim": payer("medicare_advantage"), "line": {"units": 35, "ndc": None}},
        SCALE + " (the NDC quantity is the evidence)",
    ),
    Case(
        "src-cycle-on-one-line",
        "fail",
        ["UNITS_ABOVE_MUE", "DOSING_CYCLE_ON_ONE_LINE", "MODIFIER_JZ_PARTIAL_VIAL"],
        {
            "line": {
                "units": 6475,
                "administered_mg": 64.75,
                "ndc": {"quantity": 19},
            }
        },
        ONE_LINE_PER_DAY,
    ),
    Case(
        "src-small-patient-dose-above-own-bsa",
        "fail",
        ["DOSING_ABOVE_LABEL_MAX"],
        {"claim": {"patient": {"bsa_m2": 1.2}}, "line": {"units": 350}},
        LABEL + " (2 x 1.25 mg/m2 x the patient's BSA)",
    ),
    Case(
        "src-bsa-above-human-range",
        "warn",
        ["DOSING_BODY_SIZE_IMPLAUSIBLE"],
        {
            "claim": {"patient": {"bsa_m2": 4.5}},
            "line": {"units": 700, "administered_mg": 7, "ndc": {"quantity": 2}},
        },
        BODY,
    ),
    Case(
        "src-height-in-inches",
        "warn",
        ["DOSING_BODY_SIZE_IMPLAUSIBLE"],
        {
            "claim": payer("commercial") | {"patient": {"height_cm": 67}},
            "line": {"units": 700, "administered_mg": 7, "ndc": {"quantity": 2}},
        },
        BODY,
    ),
    Case(
        "src-implausible-bsa-one-vial",
        "pass",
        ["DOSING_BODY_SIZE_IMPLAUSIBLE"],
        {"claim": {"patient": {"bsa_m2": 0.1}}},
        BODY + "; severity policy (within one vial it cannot change the outcome)",
    ),
]

# --- issue 30 item 4: NDCs that know single- from multi-source ------------------------
SINGLE_SOURCE = "CMS ASP NDC-HCPCS crosswalk; claim context: one labeler for a single-source code"
MULTI_SOURCE = (
    "Claim context: multi-source NDCs are informational until the CMS crosswalk is loaded"
)
NCPDP = "NCPDP billing units (UN powder vial, ML liquid); claim context: Medicaid NDC units"
CARBO_OTHER_LABELER = {"code": "00703-4244-01", "quantity": 45, "unit": "ML"}
SOURCED_CASES += [
    Case(
        "src-j9262-labeler-transposed",
        "fail",
        ["NDC_NOT_SINGLE_SOURCE"],
        {"line": {"ndc": {"code": "63495-0177-14"}}},
        SINGLE_SOURCE + " (a transposed labeler)",
    ),
    Case(
        "src-j9262-product-typo-medicaid",
        "fail",
        ["NDC_NOT_SINGLE_SOURCE"],
        {"claim": payer("medicaid"), "line": {"ndc": {"code": "63459-0171-14"}}},
        SINGLE_SOURCE,
    ),
    Case(
        "src-nivolumab-unknown-ndc",
        "fail",
        ["NDC_NOT_SINGLE_SOURCE"],
        {"line": drug_line("J9299", "00003-3775-12", 100)},
        SINGLE_SOURCE + " (Opdivo: BMS only)",
    ),
    Case(
        "src-carboplatin-other-labeler-medicare",
        "pass",
        ["NDC_UNKNOWN"],
        {"line": drug_line("J9045", CARBO_OTHER_LABELER, 9, modifiers=[])},
        MULTI_SOURCE,
    ),
    Case(
        "src-carboplatin-other-labeler-commercial",
        "pass",
        ["NDC_UNKNOWN"],
        {
            "claim": payer("commercial"),
            "line": drug_line("J9045", CARBO_OTHER_LABELER, 9, modifiers=[]),
        },
        MULTI_SOURCE,
    ),
    Case(
        "src-product-code-without-package",
        "fail",
        ["NDC_MALFORMED"],
        {"line": {"ndc": {"code": "63459-0177"}}},
        "FDA NDC format (labeler-product-package); claim context: a product code is malformed",
    ),
    Case(
        "src-medicaid-quantity-in-mg",
        "warn",
        ["NDC_UNIT_NCPDP"],
        {"claim": payer("medicaid"), "line": {"ndc": {"quantity": 3.5, "unit": "ME"}}},
        NCPDP,
    ),
    Case(
        "src-medicaid-liquid-in-vials",
        "warn",
        ["NDC_UNIT_NCPDP"],
        {"claim": payer("medicaid"), "line": drug_line("J9299", OPDIVO_100, 100)},
        NCPDP,
    ),
    Case(
        "src-medicaid-liquid-in-ml",
        "pass",
        [],
        {"claim": payer("medicaid"), "line": drug_line("J9299", OPDIVO_100_ML, 100)},
        NCPDP,
    ),
    Case(
        "src-medicare-quantity-in-mg",
        "pass",
        [],
        {"line": {"ndc": {"quantity": 3.5, "unit": "ME"}}},
        NCPDP + " (a Medicaid convention)",
    ),
    Case(
        "src-opdualag-billed-as-j9299",
        "fail",
        ["CODING_LOOKALIKE_NDC"],
        {"line": drug_line("J9299", "00003-7125-11", 80)},
        "Claim context: nivolumab + relatlimab (Opdualag, J9298) sits next to J9299; DailyMed",
    ),
    Case(
        "src-opdualag-as-j9298",
        "pass",
        [],
        {"line": drug_line("J9298", "00003-7125-11", 80)},
        "DailyMed Opdualag (240 mg nivolumab / 80 mg relatlimab per 20 mL vial); CMS HCPCS J9298",
    ),
]

# --- issue 30 item 4: subcutaneous nivolumab + hyaluronidase (Opdivo Qvantig) ---------
QVANTIG = "00003-3120-01"
QVANTIG_SOURCE = (
    "openFDA NDC directory (Opdivo Qvantig 0003-3120-01, 300 mg/2.5 mL single-dose vial); "
    "claim context: Qvantig has its own code (J9289), billed as J9299 it is a coding error"
)


def qvantig(hcpcs: str, units: float, **more: Any) -> dict[str, Any]:
    """A Qvantig line: given subcutaneously, one 2.5 mL vial."""
    return drug_line(hcpcs, QVANTIG, units, route="subcutaneous") | more


SOURCED_CASES += [
    Case(
        "src-medicare-qvantig-billed-as-j9299",
        "fail",
        ["CODING_LOOKALIKE_NDC"],
        {"line": qvantig("J9299", 300)},
        QVANTIG_SOURCE,
    ),
    Case(
        "src-medicaid-qvantig-billed-as-j9299-institutional",
        "fail",
        ["CODING_LOOKALIKE_NDC"],
        {
            "claim": payer("medicaid") | INSTITUTIONAL,
            "line": qvantig("J9299", 300, revenue_code="0636"),
        },
        QVANTIG_SOURCE,
    ),
    Case(
        "src-commercial-qvantig-as-j9289",
        "pass",
        [],
        {"claim": payer("commercial"), "line": qvantig("J9289", 150)},
        QVANTIG_SOURCE + " (J9289 per 2 mg: 150 units a vial)",
    ),
    Case(
        "src-medicare-advantage-qvantig-as-j9289-institutional",
        "pass",
        [],
        {
            "claim": payer("medicare_advantage") | INSTITUTIONAL,
            "line": qvantig("J9289", 150, revenue_code="0636"),
        },
        QVANTIG_SOURCE + " (J9289 per 2 mg: 150 units a vial)",
    ),
]

# --- issue 30 item 7: a JW amount against the vials its NDC quantity reports ----------
JW_NDC = JW_VIAL + "; X12 837 CTP04/CTP05 (the NDC quantity of the discarded drug)"


def nivolumab_ml(ml: float) -> dict[str, Any]:
    return {"code": OPDIVO_100, "quantity": ml, "unit": "ML"}


def medicaid_jw_of_4_ml(units: float) -> dict[str, Any]:
    """A Medicaid nivolumab JW line reporting 4 mL (40 units) discarded, beside its dose."""
    return {
        "claim": payer("medicaid") | {"total_lines": 2},
        "line": drug_line("J9299", nivolumab_ml(4), units, modifiers=["JW"]),
    }


SOURCED_CASES += [
    Case(
        "src-medicaid-jw-above-its-ndc-quantity",
        "fail",
        ["MODIFIER_JW_ABOVE_NDC_QUANTITY"],
        medicaid_jw_of_4_ml(60),
        JW_NDC,
    ),
    Case("src-medicaid-jw-as-its-ndc-quantity", "pass", [], medicaid_jw_of_4_ml(40), JW_NDC),
    Case(
        "src-medicare-jw-above-its-vial-share-institutional",
        "fail",
        ["MODIFIER_JW_ABOVE_NDC_QUANTITY"],
        {
            "claim": INSTITUTIONAL | {"total_lines": 2},
            "line": {
                "modifiers": ["JW"],
                "units": 150,
                "administered_mg": None,
                "revenue_code": "0636",
                "ndc": {"quantity": 0.2},
            },
            "documentation": {"waste_record": True},
        },
        JW_NDC,
    ),
    Case(
        "src-commercial-jw-without-ndc-quantity-not-judged",
        "warn",
        ["NDC_QUANTITY_MISSING"],
        {
            "claim": payer("commercial") | {"total_lines": 2},
            "line": drug_line(
                "J9299", {"code": OPDIVO_100, "quantity": None, "unit": None}, 60, modifiers=["JW"]
            ),
        },
        JW_NDC + " (no quantity: nothing to judge)",
    ),
]

# --- issue 30 item 6: diagnoses near CML, TKIs counted as drugs, validity spans ------
EXCLUDES1 = (
    "ICD-10-CM C92.1 Excludes1 (C92.2-, C93.1-, D47.1); ICD-10-CM Official Guidelines s. I.A.12.a"
)
TKI_LABEL = (
    "Synribo prescribing information (resistance or intolerance to two or more TKIs); "
    "TKI generic and brand names from their prescribing information"
)
STEP_THREE = "Payer step therapy (three TKIs, payer_policies.yaml EXAMPLE-THREE-TKIS)"
HCPCS_SPAN = "CMS HCPCS 2014: J9262 effective 2014-01-01 (C9297 before it)"


def tkis(*names: str, attested: bool = True) -> dict[str, Any]:
    return {"prior_tkis": list(names), "tki_resistance_or_intolerance": attested}


def on(day: str, **line: Any) -> dict[str, Any]:
    """A line given on `day` and sent the next morning, without JZ (for dates before 2023)."""
    received = date.fromisoformat(day) + timedelta(days=1)
    return {
        "line": {"service_date": day, "modifiers": []} | line,
        "event_time": f"{received}T09:00:00Z",
    }


SOURCED_CASES += [
    Case(
        "src-cmml-beside-cml",
        "warn",
        ["DX_EXCLUDES1_CONFLICT"],
        {"claim": payer("commercial") | {"diagnosis_codes": ["C92.10", "C93.10"]}},
        EXCLUDES1,
    ),
    Case(
        "src-myeloproliferative-disease-not-cml-medicaid",
        "fail",
        ["DX_NOT_SUPPORTING"],
        {"claim": payer("medicaid") | {"diagnosis_codes": ["D47.1"]}},
        EXCLUDES1,
    ),
    Case(
        "src-history-of-leukemia-institutional",
        "fail",
        ["DX_NOT_SUPPORTING"],
        {
            "claim": INSTITUTIONAL | {"diagnosis_codes": ["Z85.6"]},
            "line": {"revenue_code": "0636"},
        },
        ICD,
    ),
    Case(
        "src-cml-in-remission-medicare-advantage",
        "pass",
        [],
        {"claim": payer("medicare_advantage") | {"diagnosis_codes": ["C92.11"]}},
        "ICD-10-CM C92.11; Synribo prescribing information (CML)",
    ),
    Case(
        "src-tki-brand-and-generic-count-once",
        "warn",
        ["DOC_TKI_HISTORY"],
        {"documentation": tkis("Gleevec", "imatinib")},
        TKI_LABEL,
    ),
    Case(
        "src-tki-brand-names-only",
        "pass",
        [],
        {"documentation": tkis("Sprycel", "Tasigna")},
        TKI_LABEL,
    ),
    Case(
        "src-non-tki-counts-none",
        "warn",
        ["DOC_TKI_HISTORY"],
        {"documentation": tkis("imatinib", "hydroxyurea")},
        TKI_LABEL,
    ),
    Case(
        "src-tkis-listed-without-resistance",
        "warn",
        ["DOC_TKI_HISTORY"],
        {"documentation": tkis("imatinib", "dasatinib", attested=False)},
        TKI_LABEL,
    ),
    Case(
        "src-tkis-listed-without-resistance-commercial",
        "fail",
        ["PAYER_STEP_THERAPY"],
        {
            "claim": payer("commercial"),
            "documentation": tkis("nilotinib", "bosutinib", attested=False),
        },
        TKI_LABEL + "; Aetna CPB 0872 (step therapy)",
    ),
    Case(
        "src-three-tkis-payer-brand-and-generic",
        "fail",
        ["PAYER_STEP_THERAPY"],
        {
            "claim": payer("commercial", "EXAMPLE-THREE-TKIS"),
            "documentation": tkis("imatinib", "Gleevec", "dasatinib"),
        },
        STEP_THREE,
    ),
    Case(
        "src-three-tkis-payer-salt-and-brand-names",
        "pass",
        [],
        {
            "claim": payer("commercial", "EXAMPLE-THREE-TKIS"),
            "documentation": tkis("imatinib mesylate", "Sprycel", "Bosulif"),
        },
        STEP_THREE,
    ),
    Case(
        "src-j9262-before-its-effective-date",
        "fail",
        ["CODING_CODE_NOT_IN_EFFECT", "DX_NOT_IN_EFFECT"],
        on("2013-11-15"),
        HCPCS_SPAN + "; " + ICD10_FROM,
    ),
    Case(
        "src-icd10-the-day-before-compliance",
        "fail",
        ["DX_NOT_IN_EFFECT"],
        on("2015-09-30"),
        ICD10_FROM,
    ),
    Case("src-icd10-on-compliance-date", "pass", [], on("2015-10-01"), ICD10_FROM),
]

CASES += SOURCED_CASES

IV_ADMIN = ADMIN_96401 | {"hcpcs": "96413"}
WASTE_RECORD = {"documentation": {"waste_record": True}}

# Claims written from the sources: the claim-level edits (the JW/JZ pairs of every drug).
SOURCED_CLAIMS: list[ClaimCase] = [
    ClaimCase(
        "nivolumab-jw-without-its-dose",
        "fail",
        ["CLAIM_JW_WITHOUT_ADMIN"],
        [NIVOLUMAB_JW, IV_ADMIN],
        JWJZ_ALL + " (a JW line needs the administered line of the drug and date)",
    ),
    ClaimCase(
        "nivolumab-dose-and-jw",
        "pass",
        [],
        [drug_line("J9299", OPDIVO_100, 40, modifiers=[]), NIVOLUMAB_JW, IV_ADMIN],
        JWJZ_ALL,
    ),
    ClaimCase(
        "medicare-nivolumab-no-jz-no-jw",
        "fail",
        ["CLAIM_JZ_JW_MISSING"],
        [drug_line("J9299", OPDIVO_100, 100, modifiers=[]), IV_ADMIN],
        JWJZ_ALL,
    ),
    ClaimCase(
        "medicaid-nivolumab-no-jz-no-jw",
        "pass",
        [],
        [drug_line("J9299", OPDIVO_100_ML, 100, modifiers=[]), IV_ADMIN],
        JWJZ_ALL + " (Medicare Part B policy)",
        {"claim": payer("medicaid")},
    ),
    ClaimCase(
        "carboplatin-no-jz",
        "pass",
        [],
        [
            drug_line("J9045", {"code": CARBO_450, "quantity": 45, "unit": "ML"}, 9, modifiers=[]),
            IV_ADMIN,
        ],
        JWJZ + " (never on multi-dose containers)",
    ),
    ClaimCase(
        "j9262-jw-of-another-day",
        "fail",
        ["CLAIM_JZ_JW_MISSING", "CLAIM_JW_WITHOUT_ADMIN"],
        [
            {"modifiers": [], "units": 250, "administered_mg": 2.5, "service_date": "2026-11-19"},
            {"modifiers": ["JW"], "units": 100, "administered_mg": None},
            ADMIN_96401,
        ],
        JW_VIAL + " (same drug and date)",
        WASTE_RECORD,
    ),
    ClaimCase(
        "j9262-jw-beside-another-drug",
        "fail",
        ["CLAIM_JW_WITHOUT_ADMIN"],
        [
            {"modifiers": ["JW"], "units": 100, "administered_mg": None},
            drug_line("J9299", OPDIVO_100, 100),
            IV_ADMIN,
            ADMIN_96401,
        ],
        JW_VIAL + " (same drug and date)",
        WASTE_RECORD,
    ),
    ClaimCase(
        "j9262-dose-and-jw",
        "pass",
        [],
        [
            {"modifiers": [], "units": 250, "administered_mg": 2.5},
            {"modifiers": ["JW"], "units": 100, "administered_mg": None},
            ADMIN_96401,
        ],
        JW_VIAL,
        WASTE_RECORD,
    ),
]

# Claims whose NDC quantities report the vials a dose and its JW line came from.
SOURCED_CLAIMS += [
    ClaimCase(
        "medicare-j9262-dose-and-jw-one-vial-each-line",
        "pass",
        [],
        [
            {"modifiers": [], "units": 250, "administered_mg": 2.5},
            {"modifiers": ["JW"], "units": 100, "administered_mg": None},
            ADMIN_96401,
        ],
        JW_NDC + " (both lines name the vial opened)",
        WASTE_RECORD,
    ),
    ClaimCase(
        "medicare-j9262-jw-more-than-the-vial-left",
        "fail",
        ["CLAIM_JW_ABOVE_NDC_VIALS"],
        [
            {"modifiers": [], "units": 300, "administered_mg": 3.0},
            {"modifiers": ["JW"], "units": 100, "administered_mg": None},
            ADMIN_96401,
        ],
        JW_NDC,
        WASTE_RECORD,
    ),
    ClaimCase(
        "medicare-advantage-j9262-two-vials-part-billed",
        "warn",
        ["CLAIM_NDC_VIALS_UNACCOUNTED"],
        [
            {"modifiers": [], "units": 400, "administered_mg": 4.0, "ndc": {"quantity": 2}},
            {"modifiers": ["JW"], "units": 50, "administered_mg": None, "ndc": {"quantity": 2}},
            ADMIN_96401,
        ],
        JW_NDC + " (two vials opened, 250 units unaccounted)",
        WASTE_RECORD | {"claim": payer("medicare_advantage")},
    ),
    ClaimCase(
        "medicaid-nivolumab-shares-of-one-vial",
        "pass",
        [],
        [
            drug_line("J9299", nivolumab_ml(6), 60, modifiers=[]),
            drug_line("J9299", nivolumab_ml(4), 40, modifiers=["JW"]),
            IV_ADMIN,
        ],
        JW_NDC + " (each line its share of the vial, NCPDP ML)",
        {"claim": payer("medicaid")},
    ),
    ClaimCase(
        "medicaid-nivolumab-jw-beyond-the-shares-institutional",
        "fail",
        ["CLAIM_JW_ABOVE_NDC_VIALS"],
        [
            drug_line("J9299", nivolumab_ml(6), 60, modifiers=[], revenue_code="0636"),
            drug_line("J9299", nivolumab_ml(4), 60, modifiers=["JW"], revenue_code="0636"),
            IV_ADMIN | {"revenue_code": "0335"},
        ],
        JW_NDC + " (6 + 4 mL is one 100 mg vial)",
        {"claim": payer("medicaid") | INSTITUTIONAL},
    ),
    ClaimCase(
        "commercial-nivolumab-jw-without-ndc-quantity",
        "warn",
        [],
        [
            drug_line("J9299", nivolumab_ml(6), 60, modifiers=[]),
            drug_line(
                "J9299", {"code": OPDIVO_100, "quantity": None, "unit": None}, 70, modifiers=["JW"]
            ),
            IV_ADMIN,
        ],
        JW_NDC + " (a line without a quantity is not judged)",
        {"claim": payer("commercial")},
    ),
]


@dataclass(frozen=True)
class PatientCase:
    """One patient's dosing days (offsets from the first), one line a day, each sent the
    evening of its service day: every line but the last passes, the last gets `codes`."""

    name: str
    disposition: str
    codes: list[str]
    days: list[int]
    source: str
    sections: dict[str, Any] = field(default_factory=dict)

    def docs(self, start: date = date(2026, 3, 2)) -> list[dict[str, Any]]:
        docs = []
        for n in self.days:
            day = (start + timedelta(days=n)).isoformat()
            doc = event(f"golden-phase-{self.name}-{n}", **self.sections)
            doc["claim"]["patient"]["patient_id"] = f"P-phase-{self.name}"
            doc["line"]["service_date"] = day
            doc["event_time"] = f"{day}T22:00:00Z"
            docs.append(doc)
        return docs


def run(first: int, length: int) -> list[int]:
    return list(range(first, first + length))


PHASES = (
    "Synribo prescribing information: induction 14 and maintenance 7 consecutive days of a "
    "28-day cycle, 2 days fewer after grade 4 neutropenia or grade 3 thrombocytopenia"
)
INDUCTION, MAINTENANCE = run(0, 14), run(28, 7)

# Patients' treatment phases, read from their history (issue 30, item 7).
PATIENT_CASES: list[PatientCase] = [
    PatientCase(
        "medicare-maintenance-cycles", "pass", [], INDUCTION + MAINTENANCE + run(56, 7), PHASES
    ),
    PatientCase(
        "medicare-maintenance-eighth-day",
        "warn",
        ["DOSING_MAINTENANCE_CYCLE_DAYS"],
        INDUCTION + MAINTENANCE + run(56, 8),
        PHASES + " (a return to induction needs documentation)",
    ),
    PatientCase(
        "medicaid-reduced-maintenance-institutional",
        "pass",
        [],
        INDUCTION + run(28, 5) + run(56, 5),
        PHASES + " (5 days after a reduction)",
        {"claim": payer("medicaid") | INSTITUTIONAL, "line": {"revenue_code": "0636"}},
    ),
    PatientCase(
        "commercial-reduced-induction-then-induction",
        "pass",
        [],
        run(0, 12) + run(28, 14),
        PHASES + " (12 days after a reduction; still induction)",
        {"claim": payer("commercial")},
    ),
    PatientCase(
        "medicare-advantage-after-reduced-maintenance-institutional",
        "warn",
        ["DOSING_MAINTENANCE_CYCLE_DAYS"],
        INDUCTION + run(28, 5) + run(56, 8),
        PHASES + " (a return to induction needs documentation)",
        {
            "claim": payer("medicare_advantage") | INSTITUTIONAL,
            "line": {"revenue_code": "0636"},
        },
    ),
    PatientCase(
        "medicare-induction-fifteenth-day",
        "warn",
        ["DOSING_CYCLE_DAYS"],
        run(0, 15),
        PHASES + " (induction: at most 14 of 28)",
    ),
    PatientCase(
        "commercial-maintenance-with-a-missed-day",
        "pass",
        [],
        INDUCTION + MAINTENANCE + [56, 57, 58, 60, 61, 62, 63],
        PHASES + " (a missed day inside a cycle does not split it)",
        {"claim": payer("commercial")},
    ),
]

# Edits one line cannot show: PRODUCT_DISCONTINUED needs a date set in reference data
# (tests/rules/test_ndc.py); the cross-line and claim edits need other lines
# (tests/test_stateful.py and tests/integration/test_stateful_stream.py).
NOT_IN_GOLDEN = (
    {"PRODUCT_DISCONTINUED"}
    | HISTORY_CODES
    | {code for code in CATALOG if code.startswith("CLAIM_")}
)
