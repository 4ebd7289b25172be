"""Coding edits: a service date not yet reached, the retired code, look-alike
mix-ups and typos of J9262."""

from __future__ import annotations

from collections.abc import Iterator

from streams.contract.models import Finding
from streams.validation.history import latest_service_day
from streams.validation.rules.catalog import finding
from streams.validation.rules.engine import LineContext, rule
from streams.validation.similarity import Evidence


@rule
def service_date_in_future(ctx: LineContext) -> Iterator[Finding]:
    latest = latest_service_day(ctx.event.event_time)
    if ctx.line.service_date > latest:
        yield finding(
            "SERVICE_DATE_IN_FUTURE",
            f"Service date {ctx.line.service_date} is after the line was sent "
            f"({ctx.event.event_time.date()})",
            field="line.service_date",
            suggestion="Correct the date of service to the day the drug was given",
        )


@rule
def retired_code(ctx: LineContext) -> Iterator[Finding]:
    billed = ctx.facts.billed
    if billed is not None and billed.role == "retired":
        yield finding(
            "CODING_RETIRED_CODE",
            f"{billed.code} was retired on {billed.termination_date}; "
            f"{billed.replaced_by} replaced it",
            field="line.hcpcs",
            suggestion=f"Bill {billed.replaced_by}",
        )


@rule
def lookalike_or_typo(ctx: LineContext) -> Iterator[Finding]:
    facts, line = ctx.facts, ctx.line
    for candidate in facts.candidates:
        if candidate.evidence is Evidence.TYPO_AND_NDC and facts.ndc_conflict == "typo":
            yield finding(
                "CODING_TYPO",
                f"{line.hcpcs} billed: {candidate.reason}",
                field="line.hcpcs",
                suggestion=f"Did you mean {candidate.code}?",
            )
            return
        if candidate.evidence is Evidence.NDC and facts.ndc_conflict == "lookalike":
            yield finding(
                "CODING_LOOKALIKE_NDC",
                f"{line.hcpcs} billed, but {candidate.reason}",
                field="line.hcpcs",
                suggestion=f"Did you mean {candidate.code}? Bill it with units in its unit",
            )
            return
        if candidate.evidence is Evidence.UNITS and facts.product is None:
            yield finding(
                "CODING_LOOKALIKE_UNITS",
                candidate.reason,
                field="line.hcpcs",
                suggestion=f"Did you mean {candidate.code}? Check the drug given; report its NDC",
            )
            return
