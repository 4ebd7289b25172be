"""A claim's lines as they arrive, and when its ClaimVerdict is due.

The stream keeps one `ClaimState` per claim in a Faust table keyed by claim_id;
`j9262 validate` keeps them in a dict. The roll-up's findings come from
`streams.validation.rules.claim`, plain functions over these lines.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, model_validator

from streams.contract.encoding import PlainClaimVerdict
from streams.contract.models import (
    ClaimFrequency,
    ClaimLineEvent,
    ClaimType,
    ClaimVerdict,
    Disposition,
    LineVerdict,
    NdcUnit,
    PlanType,
)
from streams.validation.history import SUPERSEDING, claim_frequency
from streams.validation.trusted import replaced, trusted


class ClaimLine(BaseModel):
    """A line as the roll-up needs it, with its verdict kept as JSON text.

    The roll-up reads only the verdict's id and disposition. As text, the verdict
    is one string each time the claims table parses a state (`streams.stream.tables`),
    not a tree of models and lists to build and throw away.
    """

    model_config = ConfigDict(frozen=True)
    line_number: int
    event_id: str
    hcpcs: str
    modifiers: tuple[str, ...]
    units: float
    service_date: date
    verdict_id: str
    disposition: Disposition
    verdict_json: str
    frequency: ClaimFrequency | None = None
    """The claim's frequency when the line came (absent in older changelogs: original)."""
    ndc: str | None = None
    ndc_quantity: float | None = None
    ndc_unit: NdcUnit | None = None
    """The line's NDC, quantity and unit as sent, for the claim's vial accounting (absent in
    older changelogs: such lines are not judged against their vials)."""

    @model_validator(mode="before")
    @classmethod
    def _from_a_verdict_model(cls, data: Any) -> Any:
        return _from_older_changelog(
            data, lambda verdict: _line_verdict_fields(LineVerdict.model_validate(verdict))
        )

    @property
    def waste(self) -> bool:
        return "JW" in self.modifiers

    @classmethod
    def of(
        cls, event: ClaimLineEvent, verdict: LineVerdict, verdict_json: str | None = None
    ) -> ClaimLine:
        """`verdict_json`, when the caller has serialized the verdict already.

        Built from the validated event and verdict without validating again (`trusted`)."""
        line = event.line
        ndc = line.ndc
        quantity = None if ndc is None or ndc.quantity is None else float(ndc.quantity)
        return trusted(
            cls,
            {
                "line_number": line.line_number,
                "event_id": event.event_id,
                "hcpcs": line.hcpcs,
                "modifiers": tuple(line.modifiers),
                "units": float(line.units),
                "service_date": line.service_date,
                "verdict_id": verdict.verdict_id,
                "disposition": verdict.disposition,
                "verdict_json": verdict.model_dump_json() if verdict_json is None else verdict_json,
                "frequency": claim_frequency(event.claim),
                "ndc": None if ndc is None else ndc.code,
                "ndc_quantity": quantity,
                "ndc_unit": None if ndc is None else ndc.unit,
            },
        )

    def verdict(self) -> dict[str, Any]:
        """The line's verdict as the verdicts topic carried it."""
        return _parsed(self.verdict_json)


class ClaimState(BaseModel):
    """Lines by line number (a resubmitted line replaces the earlier one), and the
    latest ClaimVerdict as JSON text (see ClaimLine) with the two facts the
    wait and the retention read from it."""

    claim_id: str
    claim_type: ClaimType
    plan_type: PlanType
    total_lines: int | None
    lines: dict[int, ClaimLine] = {}
    first_seen: datetime
    partition: int | None = None
    verdict_json: str | None = None
    verdict_complete: bool = False
    verdict_at: datetime | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_a_verdict_model(cls, data: Any) -> Any:
        return _from_older_changelog(
            data, lambda verdict: _older_claim_verdict_fields(ClaimVerdict.model_validate(verdict))
        )

    @classmethod
    def first(
        cls,
        line: ClaimLine,
        *,
        claim_id: str,
        claim_type: ClaimType,
        plan_type: PlanType,
        total_lines: int | None,
        first_seen: datetime,
        partition: int | None,
    ) -> ClaimState:
        """The state of a claim whose first line this is (its parts already valid)."""
        return trusted(
            cls,
            {
                "claim_id": claim_id,
                "claim_type": claim_type,
                "plan_type": plan_type,
                "total_lines": total_lines,
                "lines": {line.line_number: line},
                "first_seen": first_seen,
                "partition": partition,
                "verdict_json": None,
                "verdict_complete": False,
                "verdict_at": None,
            },
        )

    def with_verdict(self, verdict: PlainClaimVerdict) -> ClaimState:
        return replaced(
            self, **_claim_verdict_fields(verdict.json, verdict.complete, verdict.validated_at)
        )

    def verdict(self) -> dict[str, Any] | None:
        """The latest ClaimVerdict as the claim-verdicts topic carried it."""
        return None if self.verdict_json is None else _parsed(self.verdict_json)

    @property
    def complete(self) -> bool:
        return self.total_lines is not None and len(self.lines) >= self.total_lines

    def with_line(self, line: ClaimLine, total_lines: int | None) -> ClaimState:
        """This state with the line added; the same verdict again changes nothing.

        The first line of a replacement or void sent under the claim's own id supersedes
        the lines sent before it: they go, and so does the verdict given on them, so the
        replacement gets a roll-up of its own."""
        known = self.lines.get(line.line_number)
        if known is not None and known.verdict_id == line.verdict_id:
            return self
        if line.frequency in SUPERSEDING and any(
            ln.frequency not in SUPERSEDING for ln in self.lines.values()
        ):
            return replaced(
                self,
                lines={line.line_number: line},
                total_lines=total_lines or self.total_lines,
                verdict_json=None,
                verdict_complete=False,
                verdict_at=None,
            )
        return replaced(
            self,
            lines={**self.lines, line.line_number: line},
            total_lines=total_lines or self.total_lines,
        )

    def due(self, now: datetime, wait_s: float) -> bool:
        """A verdict is due when the claim is complete, or once the wait has run out."""
        if self.verdict_json is not None:
            return not self.verdict_complete and self.complete
        return self.complete or (now - self.first_seen).total_seconds() >= wait_s


class ClaimClock(BaseModel):
    """The fields of a stored ClaimState that say when it next needs a look.

    Rebuilding the deadline index after a rebalance reads every held claim; parsed
    without its lines, a claim costs about half of a full ClaimState. A claim stored
    in the older form (its verdict nested) reads as still waiting: its first check
    parses it in full and notes its real deadline.
    """

    first_seen: datetime
    partition: int | None = None
    verdict_at: datetime | None = None


def _from_older_changelog(data: Any, fields: Callable[[Any], dict[str, Any]]) -> Any:
    """Changelogs written before the text form hold the verdict itself under
    `verdict`; `fields` turns it into the fields kept now."""
    if isinstance(data, dict) and "verdict" in data and "verdict_json" not in data:
        data = dict(data)
        verdict = data.pop("verdict")
        if verdict is not None:
            data |= fields(verdict)
    return data


def _line_verdict_fields(verdict: LineVerdict) -> dict[str, Any]:
    return {
        "verdict_id": verdict.verdict_id,
        "disposition": verdict.disposition,
        "verdict_json": verdict.model_dump_json(),
    }


def _claim_verdict_fields(text: str, complete: bool, at: datetime) -> dict[str, Any]:
    """The three facts a state keeps of its latest ClaimVerdict."""
    return {"verdict_json": text, "verdict_complete": complete, "verdict_at": at}


def _older_claim_verdict_fields(verdict: ClaimVerdict) -> dict[str, Any]:
    return _claim_verdict_fields(verdict.model_dump_json(), verdict.complete, verdict.validated_at)


def _parsed(text: str) -> dict[str, Any]:
    parsed: dict[str, Any] = orjson.loads(text)
    return parsed
