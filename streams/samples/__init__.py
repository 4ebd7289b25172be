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


def encode(doc: dict[str, Any]) -> bytes:
    return orjson.dumps(doc)


PAYERS = {
    "medicare": ("MCR-JE", "medicare"),
    "medicare_advantage": ("MA-HUMANA", "medicare_advantage"),
    "medicaid": ("MCD-CA", "medicaid"),
    "commercial": ("AETNA", "commercial"),
    "other": ("TRICARE", "other"),
}


def demo_sample() -> list[bytes]:
    """About 50 lines: clean lines per payer type, each kind of mistake, look-alikes,
    out-of-scope lines and a few malformed records."""
    docs: list[dict[str, Any]] = []
    for plan, (payer_id, plan_type) in PAYERS.items():
        for day in (1, 2):
            docs.append(
                event(
                    f"clean-{plan}-{day}",
                    claim={"payer": {"payer_id": payer_id, "plan_type": plan_type}},
                    line={"service_date": f"2026-11-{day + 9:02d}"},
                )
            )
    docs += [
        event("units-mg", line={"units": 3.5}),
        event("units-per-vial", line={"units": 1}),
        event("units-two-vials-billed-one", line={"units": 350, "ndc": {"quantity": 3}}),
        event("units-me-mismatch", line={"units": 500, "ndc": {"quantity": 3.5, "unit": "ME"}}),
        event("units-me-ok", line={"units": 350, "ndc": {"quantity": 3.5, "unit": "ME"}}),
        event("ndc-missing", line={"ndc": None}),
        event("ndc-malformed", line={"ndc": {"code": "6345901771"}}),
        event("ndc-short-form", line={"ndc": {"code": "63459-177-14"}}),
        event("ndc-bad-digits", line={"ndc": {"code": "63459-01X7-14"}}),
        event("ndc-unknown-package", line={"ndc": {"code": "63459-0177-99"}}),
        event("ndc-no-quantity", line={"ndc": {"quantity": None}}),
        event("ndc-f2", line={"ndc": {"unit": "F2"}}),
        event("ndc-opdivo-on-j9262", line={"ndc": {"code": OPDIVO_100}, "units": 100}),
        event("ndc-gazyva-on-j9262", line={"ndc": {"code": GAZYVA}, "units": 100}),
        event("j9299-billed-synribo-ndc", line={"hcpcs": "J9299", "units": 350}),
        event("j9301-billed-synribo-ndc", line={"hcpcs": "J9301", "units": 350}),
        event("j9045-billed-synribo-ndc", line={"hcpcs": "J9045", "units": 350}),
        event(
            "opdivo-clean",
            line={
                "hcpcs": "J9299",
                "units": 100,
                "modifiers": ["JZ"],
                "route": "intravenous",
                "ndc": {"code": OPDIVO_100, "quantity": 1, "unit": "UN"},
                "administered_mg": 100,
            },
        ),
        event(
            "gazyva-clean",
            line={
                "hcpcs": "J9301",
                "units": 100,
                "modifiers": ["JZ"],
                "route": "intravenous",
                "ndc": {"code": GAZYVA, "quantity": 40, "unit": "ML"},
                "administered_mg": 1000,
            },
        ),
        event(
            "carboplatin-clean",
            line={
                "hcpcs": "J9045",
                "units": 9,
                "modifiers": [],
                "route": "intravenous",
                "ndc": {"code": CARBO_450, "quantity": 45, "unit": "ML"},
                "administered_mg": 450,
            },
        ),
        event("jw-waste-line", line={"modifiers": ["JW"], "units": 100}),
        event("synribo-gr", line={"ndc": {"quantity": 0.0035, "unit": "GR"}}),
        event("two-vials", line={"units": 600, "ndc": {"quantity": 2}}),
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
    two_line = [
        event("admin-pair", claim={"total_lines": 2}),
        event(
            "admin-pair",
            claim={"total_lines": 2},
            line={
                "line_number": 2,
                "hcpcs": "96401",
                "units": 1,
                "modifiers": [],
                "ndc": None,
                "administered_mg": None,
            },
        ),
    ]
    two_line[1]["event_id"] = str(uuid.uuid5(_IDS, "admin-pair:2"))
    docs += two_line

    records = [encode(d) for d in docs]
    bad_units = event("bad-units", line={"units": -350})
    records += [
        b'{"schema": "claim-line-event/v1", "event_id": "truncated-1", "claim": {',
        encode(event("wrong-schema", schema="claim-line-event/v0")),
        encode(bad_units),
        encode(event("bad-date", line={"service_date": "2026-02-30"})),
        b"not json at all",
        '{"event_id": "latin-1 \xe9"}'.encode("latin-1"),
    ]
    return records


SAMPLE_PATH = Path(__file__).with_name("demo-claims.jsonl")


def write_sample(path: Path = SAMPLE_PATH) -> Path:
    path.write_bytes(b"\n".join(demo_sample()) + b"\n")
    return path
