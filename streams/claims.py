"""A claim's lines as they arrive, and when its ClaimVerdict is due.

The stream keeps one `ClaimState` per claim in a Faust table keyed by claim_id;
`j9262 validate` keeps them in a dict. The roll-up's findings come from
`streams.rules.claim`, plain functions over these lines.
"""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict

from streams.events import ClaimLineEvent, ClaimType, ClaimVerdict, LineVerdict, PlanType


class ClaimLine(BaseModel):
    model_config = ConfigDict(frozen=True)
    line_number: int
    event_id: str
    hcpcs: str
    modifiers: tuple[str, ...]
    units: float
    service_date: date
    verdict: LineVerdict

    @property
    def waste(self) -> bool:
        return "JW" in self.modifiers

    @classmethod
    def of(cls, event: ClaimLineEvent, verdict: LineVerdict) -> ClaimLine:
        return cls(
            line_number=event.line.line_number,
            event_id=event.event_id,
            hcpcs=event.line.hcpcs,
            modifiers=tuple(event.line.modifiers),
            units=float(event.line.units),
            service_date=event.line.service_date,
            verdict=verdict,
        )


class ClaimState(BaseModel):
    """Lines by line number (a resubmitted line replaces the earlier one)."""

    claim_id: str
    claim_type: ClaimType
    plan_type: PlanType
    total_lines: int | None
    lines: dict[int, ClaimLine] = {}
    first_seen: datetime
    partition: int | None = None
    verdict: ClaimVerdict | None = None

    @property
    def complete(self) -> bool:
        return self.total_lines is not None and len(self.lines) >= self.total_lines

    def with_line(self, line: ClaimLine, total_lines: int | None) -> ClaimState:
        """This state with the line added; the same verdict again changes nothing."""
        known = self.lines.get(line.line_number)
        if known is not None and known.verdict.verdict_id == line.verdict.verdict_id:
            return self
        return self.model_copy(
            update={
                "lines": {**self.lines, line.line_number: line},
                "total_lines": total_lines or self.total_lines,
            }
        )

    def due(self, now: datetime, wait_s: float) -> bool:
        """A verdict is due when the claim is complete, or once the wait has run out."""
        if self.verdict is not None:
            return not self.verdict.complete and self.complete
        return self.complete or (now - self.first_seen).total_seconds() >= wait_s
