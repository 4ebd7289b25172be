"""Any byte string given to `adapt` ends as events, failures or reversals; it never raises."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from streams.adapters import adapt
from streams.contract.models import ClaimLineEvent

FIXTURES = Path(__file__).parent / "fixtures"
SEEDS = [p.read_bytes() for p in sorted(FIXTURES.glob("j9262-*"))]
PREFIXES = [
    b"",
    b"ISA*",
    b"MSH|^~\\&|",
    b"\x0bMSH|",
    b'{"resourceType":"Claim",',
    b"\x00\x00\x00\x00\x01",
]


@st.composite
def inputs(draw: st.DrawFn) -> bytes:
    """Random bytes, format-looking prefixes, and fixtures cut or mutated at random."""
    kind = draw(st.integers(0, 2))
    if kind == 0:
        return draw(st.sampled_from(PREFIXES)) + draw(st.binary(max_size=300))
    seed = draw(st.sampled_from(SEEDS))
    if kind == 1:
        return seed[: draw(st.integers(0, len(seed)))]
    at = draw(st.integers(0, len(seed) - 1))
    return seed[:at] + draw(st.binary(min_size=1, max_size=8)) + seed[at + 1 :]


@given(inputs(), st.sampled_from([None, "x12", "hl7", "fhir", "json", "jsonl"]))
def test_any_bytes_end_as_events_or_failures(data: bytes, fmt: str | None) -> None:
    result = adapt(data, format=fmt)
    assert result.events or result.failures or result.reversals
    for event in result.events:
        ClaimLineEvent.model_validate(event)
