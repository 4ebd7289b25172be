"""Mutated claim-line records for property-based tests (hypothesis)."""

from __future__ import annotations

import copy
import json
from typing import Any

from hypothesis import strategies as st

from streams.samples import GAZYVA, OPDIVO_100, event

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
