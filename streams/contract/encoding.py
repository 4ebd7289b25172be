"""The output models' JSON written from plain values, byte for byte as pydantic writes it.

A claim gets a ClaimVerdict at nearly every line, and nothing downstream reads it as a
model: the outputs send the text. Built as models (one per line reference, one for the
verdict) and then serialized, it cost about 2 us a claim more than one orjson call over
the same values in the contract's field order (docs/performance/lean-path.md).
`ClaimVerdict` stays the definition (`schemas/` comes from it);
tests/contract/test_encoding.py holds this writer to `ClaimVerdict.model_dump_json()`
over generated verdicts.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, NamedTuple

import orjson

from streams.contract.models import CLAIM_VERDICT_SCHEMA, ClaimVerdict, Disposition, Finding

_OPTIONS = orjson.OPT_UTC_Z
"""UTC as `Z`, as pydantic writes an aware datetime at offset zero."""


def _finding_fields(finding: Finding) -> dict[str, Any]:
    """A Finding's fields in the contract's order (its enums write as their text)."""
    return {
        "code": finding.code,
        "category": finding.category,
        "severity": finding.severity,
        "message": finding.message,
        "field": finding.field,
        "suggestion": finding.suggestion,
    }


class PlainClaimVerdict(NamedTuple):
    """A ClaimVerdict as the roll-up gives it: what its readers look at (the metrics,
    the report, the runner) and its JSON, written once, which the outputs send."""

    claim_id: str
    disposition: Disposition
    complete: bool
    findings: list[Finding]
    validated_at: datetime
    json: str

    def model(self) -> ClaimVerdict:
        """The ClaimVerdict model, for a caller that wants one (none on the hot path)."""
        return ClaimVerdict.model_validate_json(self.json)


def claim_verdict(
    *,
    claim_id: str,
    disposition: Disposition,
    complete: bool,
    total_lines: int | None,
    lines: Iterable[tuple[int, Disposition, str]],
    findings: list[Finding],
    ruleset_version: str,
    reference_data_version: str,
    validated_at: datetime,
) -> PlainClaimVerdict:
    """A ClaimVerdict with its JSON; `lines` are (line number, disposition, verdict id)
    in line order."""
    text = orjson.dumps(
        {
            "schema": CLAIM_VERDICT_SCHEMA,
            "claim_id": claim_id,
            "disposition": disposition,
            "complete": complete,
            "total_lines": total_lines,
            "lines": [{"line_number": n, "disposition": d, "verdict_id": v} for n, d, v in lines],
            "findings": [_finding_fields(f) for f in findings],
            "ruleset_version": ruleset_version,
            "reference_data_version": reference_data_version,
            "validated_at": validated_at,
        },
        option=_OPTIONS,
    ).decode()
    return PlainClaimVerdict(claim_id, disposition, complete, findings, validated_at, text)
