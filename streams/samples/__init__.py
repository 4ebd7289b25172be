"""Builders for realistic claim-line events, and the demo sample made with them.

`python -m streams.samples` rewrites `demo-claims.jsonl`; a test checks the
bundled file matches this code.
"""

from __future__ import annotations

import uuid
from copy import deepcopy
from pathlib import Path
from typing import Any

import orjson

SYNRIBO = "63459-0177-14"
OPDIVO_100 = "00003-3774-12"
GAZYVA = "50242-0070-01"
CARBO_450 = "61703-0339-50"

_IDS = uuid.UUID("0c9a3f55-1d2e-4b7a-8e61-9262a1b2c3d4")

BASE: dict[str, Any] = {
    "schema": "claim-line-event/v1",
    "event_time": "2026-11-20T14:03:11Z",
    "source": "integration-engine-01",
    "claim": {
        "claim_type": "professional",
        "total_lines": 1,
        "payer": {"payer_id": "MCR-JE", "plan_type": "medicare"},
        "patient": {"patient_id": "P-0001", "weight_kg": 72.5, "height_cm": 170.0},
        "diagnosis_codes": ["C92.10"],
        "place_of_service": "11",
        "prior_authorization": {"number": "PA-5512", "status": "approved"},
    },
    "line": {
        "line_number": 1,
        "hcpcs": "J9262",
        "modifiers": ["JZ"],
        "units": 350,
        "service_date": "2026-11-20",
        "charge_amount": "4125.00",
        "ndc": {"code": SYNRIBO, "quantity": 1, "unit": "UN"},
        "administered_mg": 3.5,
        "route": "subcutaneous",
        "drug_source": "buy_and_bill",
    },
    "documentation": {
        "bcr_abl_confirmed": True,
        "prior_tkis": ["imatinib", "dasatinib"],
        "tki_resistance_or_intolerance": True,
        "dose_calculation": True,
        "administration_record": True,
        "lot_number": "L7731",
        "waste_record": False,
    },
}


def _merge(target: dict[str, Any], changes: dict[str, Any]) -> None:
    """Deep merge; a None value removes the key."""
    for key, value in changes.items():
        if value is None:
            target.pop(key, None)
        elif isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge(target[key], value)
        else:
            target[key] = value


def event(name: str, **sections: dict[str, Any] | str | None) -> dict[str, Any]:
    """A clean Medicare J9262 line, changed by `claim=`, `line=`, `documentation=`...

    `name` seeds the event_id and claim_id, so the same call builds the same event.
    A value of None, at any depth, removes that key.
    """
    doc = deepcopy(BASE)
    doc["event_id"] = str(uuid.uuid5(_IDS, name))
    doc["claim"]["claim_id"] = f"CLM-{uuid.uuid5(_IDS, 'claim:' + name).hex[:10].upper()}"
    doc["claim"]["patient"]["patient_id"] = f"P-{uuid.uuid5(_IDS, 'pt:' + name).hex[:6]}"
    _merge(doc, sections)
    return doc


def claim(name: str, *lines: dict[str, Any], **sections: Any) -> list[dict[str, Any]]:
    """The events of one claim: each entry of `lines` changes line 1 of the base event;
    line numbers, event ids and total_lines are filled in."""
    docs = []
    for number, changes in enumerate(lines, start=1):
        doc = event(name, **sections)
        _merge(
            doc, {"claim": {"total_lines": len(lines)}, "line": {**changes, "line_number": number}}
        )
        doc["event_id"] = str(uuid.uuid5(_IDS, f"{name}:{number}"))
        docs.append(doc)
    return docs


ADMIN_96401: dict[str, Any] = {
    "hcpcs": "96401",
    "units": 1,
    "modifiers": [],
    "ndc": None,
    "administered_mg": None,
}


def encode(doc: dict[str, Any]) -> bytes:
    return orjson.dumps(doc)


PAYERS = {
    "medicare": ("MCR-JE", "medicare"),
    "medicare_advantage": ("MA-HUMANA", "medicare_advantage"),
    "medicaid": ("MCD-CA", "medicaid"),
    "commercial": ("AETNA", "commercial"),
    "other": ("TRICARE", "other"),
}


def _iv_line(hcpcs: str, ndc: dict[str, Any] | None, units: float, **more: Any) -> dict[str, Any]:
    """A look-alike drug's line: given IV, with no Synribo dose on it."""
    line = {
        "hcpcs": hcpcs,
        "units": units,
        "ndc": ndc,
        "route": "intravenous",
        "administered_mg": None,
    }
    return line | more


def demo_sample() -> list[bytes]:
    """About 60 lines: clean claims per payer type, each kind of mistake on lines and
    claims, look-alikes, out-of-scope lines and a few malformed records."""
    commercial = {"payer": {"payer_id": "AETNA", "plan_type": "commercial"}}
    docs: list[dict[str, Any]] = []
    for plan, (pid, ptype) in PAYERS.items():
        docs += claim(
            f"clean-{plan}", {}, ADMIN_96401, claim={"payer": {"payer_id": pid, "plan_type": ptype}}
        )
    twice = {"patient": {"patient_id": "P-billed-twice"}}
    docs += [
        # the same administration on two claims
        event("billed-once", claim=twice),
        event("billed-again", claim=twice),
        # claim-level mistakes
        *claim(
            "jw-line-alone",
            {"modifiers": ["JW"], "units": 100},
            ADMIN_96401,
            documentation={"waste_record": True},
        ),
        *claim("iv-infusion-code", {}, ADMIN_96401 | {"hcpcs": "96413"}),
        # coding
        event("retired-c9297", line={"hcpcs": "C9297"}),
        event("service-year-typo", line={"service_date": "2062-11-20"}),
        event("typo-j9226", line={"hcpcs": "J9226"}),
        event(
            "opdivo-ndc-on-j9262",
            line={"ndc": {"code": OPDIVO_100}, "units": 100, "administered_mg": None},
        ),
        event("synribo-ndc-on-j9299", line={"hcpcs": "J9299"}),
        event("synribo-ndc-on-j9301", line={"hcpcs": "J9301"}),
        event("j9301-units-of-a-synribo-vial", line=_iv_line("J9301", None, 350, modifiers=[])),
        # look-alikes billed right
        event(
            "opdivo-clean",
            line=_iv_line("J9299", {"code": OPDIVO_100, "quantity": 1, "unit": "UN"}, 100),
        ),
        event(
            "gazyva-clean",
            line=_iv_line("J9301", {"code": GAZYVA, "quantity": 40, "unit": "ML"}, 100),
        ),
        event(
            "carboplatin-clean",
            line=_iv_line(
                "J9045", {"code": CARBO_450, "quantity": 45, "unit": "ML"}, 9, modifiers=[]
            ),
        ),
        # ndc
        event("ndc-missing", line={"ndc": None}),
        event("ndc-ten-digits", line={"ndc": {"code": "6345901771"}}),
        event("ndc-letters", line={"ndc": {"code": "63459-01X7-14"}}),
        event("ndc-no-quantity", line={"ndc": {"quantity": None}}),
        # units
        event("units-in-mg", line={"units": 3.5}),
        event("units-one-per-vial", line={"units": 1}),
        event("units-three-vials-one-billed", line={"ndc": {"quantity": 3}}),
        event(
            "units-above-mue",
            claim={"patient": {"bsa_m2": 3.0}},
            line={"units": 800, "administered_mg": 8, "ndc": {"quantity": 3}},
        ),
        event("units-not-the-dose", line={"administered_mg": 2.5}),
        # dosing
        event(
            "dose-above-label", line={"units": 600, "administered_mg": 6, "ndc": {"quantity": 2}}
        ),
        event("route-iv", line={"route": "intravenous"}),
        event("no-bsa", claim={"patient": {"height_cm": None, "weight_kg": None}}),
        # modifiers
        event(
            "jw-and-jz",
            claim={"total_lines": 2},
            line={"modifiers": ["JW", "JZ"], "units": 100},
            documentation={"waste_record": True},
        ),
        event("medicare-no-jz", line={"modifiers": []}),
        event("jg-and-tb", line={"modifiers": ["JZ", "JG", "TB"]}),
        event("jz-partial-vial", line={"units": 300, "administered_mg": 3}),
        # diagnosis
        event("dx-missing", claim={"diagnosis_codes": []}),
        event("dx-c92-1", claim={"diagnosis_codes": ["C92.1"]}),
        event("dx-atypical", claim={"diagnosis_codes": ["C92.20"]}),
        # documentation
        event("doc-none", documentation=None),
        event(
            "jw-without-waste-record",
            claim={"total_lines": 2},
            line={"modifiers": ["JW"], "units": 100},
        ),
        # payer policy
        event("pa-missing", claim=commercial | {"prior_authorization": None}),
        event(
            "pa-pending",
            claim={
                "payer": {"payer_id": "MCD-CA", "plan_type": "medicaid"},
                "prior_authorization": {"status": "pending"},
            },
        ),
        event("step-therapy", claim=commercial, documentation={"prior_tkis": ["imatinib"]}),
        event("filed-after-a-year", line={"service_date": "2025-10-01"}),
        event(
            "white-bag",
            claim={"payer": {"payer_id": "EXAMPLE-WHITEBAG", "plan_type": "commercial"}},
        ),
    ]
    for i, code in enumerate(("96401", "J1100", "99213", "J9035")):
        docs.append(
            event(
                f"out-of-scope-{i}",
                line={
                    "hcpcs": code,
                    "units": 1,
                    "modifiers": [],
                    "ndc": None,
                    "administered_mg": None,
                },
            )
        )
    # The drug with its waste on a JW line, and the administration.
    docs += claim(
        "jw-pair",
        {"modifiers": [], "units": 250, "administered_mg": 2.5},
        {"modifiers": ["JW"], "units": 100, "administered_mg": None},
        ADMIN_96401,
        documentation={"waste_record": True},
    )

    records = [encode(d) for d in docs]
    records += [
        b'{"schema": "claim-line-event/v1", "event_id": "truncated-1", "claim": {',
        encode(event("wrong-schema", schema="claim-line-event/v0")),
        encode(event("negative-units", line={"units": -350})),
        encode(event("no-such-date", line={"service_date": "2026-02-30"})),
        b"not json at all",
        '{"event_id": "latin-1 \xe9"}'.encode("latin-1"),
    ]
    return records


SAMPLE_PATH = Path(__file__).with_name("demo-claims.jsonl")


def write_sample(path: Path = SAMPLE_PATH) -> Path:
    path.write_bytes(b"\n".join(demo_sample()) + b"\n")
    return path
