"""Claim-line records for property-based tests (hypothesis): mutated ones, most of
which the schema refuses, and valid ones with extreme values, which it accepts."""

from __future__ import annotations

import copy
import json
from datetime import UTC, date, timedelta, timezone
from decimal import Decimal
from typing import Any

from hypothesis import strategies as st

from streams.samples import CARBO_450, GAZYVA, OPDIVO_100, SYNRIBO, event

BASES = [
    event("fuzz-base"),
    event("fuzz-opdivo", line={"hcpcs": "J9299", "ndc": {"code": OPDIVO_100}, "units": 100}),
    event(
        "fuzz-gazyva",
        line={
            "hcpcs": "J9301",
            "units": 100,
            "ndc": {"code": GAZYVA, "quantity": 40, "unit": "ML"},
        },
    ),
    event("fuzz-jw", claim={"total_lines": 2}, line={"modifiers": ["JW"], "units": 100}),
    event("fuzz-other", line={"hcpcs": "96401", "ndc": None, "units": 1, "modifiers": []}),
]

values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.sampled_from(
        [
            "",
            "J9262",
            "2026-02-30",
            "NaN",
            "1e400",
            "63459-0177-14",
            "C92.10",
            "\x00",
            "medicare",
            "UN",
            "-350",
            "350.55555",
        ]
    ),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)


def _paths(doc: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(doc, dict):
        for k, v in doc.items():
            found += _paths(v, (*prefix, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            found += _paths(v, (*prefix, i))
    return found


@st.composite
def mutated_records(draw: st.DrawFn) -> bytes:
    doc = copy.deepcopy(draw(st.sampled_from(BASES)))
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(_paths(doc)))
        parent = doc
        for part in path[:-1]:
            parent = parent[part]
        if draw(st.booleans()) and isinstance(parent, dict):
            parent.pop(path[-1], None)
        else:
            parent[path[-1]] = draw(values)
    # stdlib json writes huge integers and NaN (not JSON) where orjson refuses them
    raw = json.dumps(doc).encode() if draw(st.integers(0, 9)) else repr(doc).encode()
    mode = draw(st.integers(0, 9))
    if mode == 0:
        raw = raw[: draw(st.integers(0, len(raw)))]
    elif mode == 1:
        at = draw(st.integers(0, len(raw)))
        raw = raw[:at] + draw(st.binary(min_size=1, max_size=4)) + raw[at:]
    return raw


def _amount(low: str, high: str) -> st.SearchStrategy[float]:
    """A positive number the schema allows, with at most 4 decimal places."""
    return st.decimals(Decimal(low), Decimal(high), places=4).filter(bool).map(float)


def _maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), strategy)


_days = st.one_of(
    st.dates(),
    st.dates(date(2025, 1, 1), date(2027, 12, 31)),
    st.sampled_from([date.min, date.max]),
)
_modifiers = st.sampled_from(["JW", "JZ", "JG", "KX", "59", "jw"])
_zones = st.sampled_from([UTC, timezone(timedelta(hours=14)), timezone(timedelta(hours=-12))])


@st.composite
def valid_events(draw: st.DrawFn) -> dict[str, Any]:
    """An event the schema accepts, anywhere in its bounds: whole-calendar dates,
    units from 0.0001 to ten million, any NDC text, a few patients and claims
    shared across draws so histories and claims fill up. None removes a field
    (`streams.samples.event`)."""
    ndc_code = draw(
        _maybe(st.sampled_from([SYNRIBO, OPDIVO_100, GAZYVA, CARBO_450, "63459017714", "x"]))
    )
    ndc = None
    if ndc_code is not None:
        ndc = {"code": ndc_code}
        quantity = draw(_maybe(_amount("0", "1000000")))
        unit = draw(_maybe(st.sampled_from(["UN", "ML", "ME", "GR", "F2"])))
        ndc |= {k: v for k, v in (("quantity", quantity), ("unit", unit)) if v is not None}
    line = {
        "line_number": draw(st.integers(1, 4)),
        "hcpcs": draw(st.sampled_from(["J9262", "J9045", "J9299", "J9301", "96401", "j9999"])),
        "modifiers": draw(st.lists(_modifiers, max_size=4)),
        "units": draw(st.one_of(_amount("0", "10000000"), _amount("0", "2"))),
        "service_date": draw(_days).isoformat(),
        "ndc": ndc,
        "administered_mg": draw(_maybe(st.one_of(st.just(0.0), _amount("0", "1000000")))),
    }
    patient = {
        "patient_id": f"P-{draw(st.integers(0, 3))}",
        "weight_kg": draw(_maybe(_amount("0", "1000"))),
        "height_cm": draw(_maybe(_amount("0", "300"))),
        "bsa_m2": draw(_maybe(_amount("0", "5"))),
    }
    claim = {
        "claim_type": draw(st.sampled_from(["professional", "institutional"])),
        "total_lines": draw(_maybe(st.integers(1, 4))),
        "payer": {
            "payer_id": draw(st.sampled_from(["MCR-JE", "X"])),
            "plan_type": draw(st.sampled_from(["medicare", "medicaid", "commercial", "other"])),
        },
        "patient": patient,
        "diagnosis_codes": draw(
            st.lists(st.sampled_from(["C92.10", "C92.11", "Z00.00"]), max_size=50)
        ),
        "prior_authorization": draw(
            _maybe(st.fixed_dictionaries({"status": st.sampled_from(["approved", "denied"])}))
        ),
    }
    documentation = draw(
        _maybe(
            st.fixed_dictionaries(
                {
                    "prior_tkis": st.lists(
                        st.sampled_from(["imatinib", "dasatinib", ""]), max_size=20
                    )
                },
                optional={k: st.booleans() for k in ("bcr_abl_confirmed", "dose_calculation")},
            )
        )
    )
    doc = event(f"valid-{draw(st.uuids())}", claim=claim, line=line, documentation=documentation)
    doc["claim"]["claim_id"] = f"C-{draw(st.integers(0, 5))}"
    doc["event_time"] = draw(st.datetimes(timezones=_zones)).isoformat()
    return doc
