"""The ClaimVerdict JSON written without a model is the JSON its model writes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from streams.contract.encoding import claim_verdict
from streams.contract.models import Category, ClaimVerdict, Disposition, Finding, Severity

# Any text pydantic and orjson both take: control characters, quotes, backslashes,
# non-ASCII and the line separators JSON leaves alone (no lone surrogates: neither
# writes those).
text = st.text(st.characters(exclude_categories=["Cs"]), max_size=40)
findings = st.builds(
    Finding,
    code=text,
    category=st.sampled_from(Category),
    severity=st.sampled_from(Severity),
    message=text,
    field=st.none() | text,
    suggestion=st.none() | text,
)
refs = st.lists(st.tuples(st.integers(1, 10_000), st.sampled_from(Disposition), text), max_size=4)
stamps = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)


verdicts = st.fixed_dictionaries(
    {
        "claim_id": text,
        "disposition": st.sampled_from(Disposition),
        "complete": st.booleans(),
        "total_lines": st.none() | st.integers(1, 10_000),
        "lines": refs,
        "findings": st.lists(findings, max_size=3),
        "ruleset_version": text,
        "reference_data_version": text,
        "validated_at": stamps,
    }
)


@given(verdicts)
def test_the_written_claim_verdict_is_the_model_s_json(fields: dict[str, Any]) -> None:
    written = claim_verdict(**fields)
    refs = [{"line_number": n, "disposition": d, "verdict_id": v} for n, d, v in fields["lines"]]
    model = ClaimVerdict(**{**fields, "lines": refs})
    assert written.json == model.model_dump_json()
    assert written.model() == model
    assert (written.disposition, written.complete, written.findings) == (
        fields["disposition"],
        fields["complete"],
        fields["findings"],
    )
