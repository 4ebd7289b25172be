"""Coding edits: a service date not yet reached, the retired code, a code outside its
validity span, look-alike mix-ups and typos of J9262."""

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
def code_in_effect(ctx: LineContext) -> Iterator[Finding]:
    """The billed code is valid on the date of service (a retired code's own edit,
    CODING_RETIRED_CODE, names its replacement)."""
    billed, day = ctx.facts.billed, ctx.line.service_date
    if billed is None or billed.role == "retired":
        return
    if billed.effective_date and day < billed.effective_date:
        earlier = sorted(
            c.code
            for c in ctx.refdata.hcpcs.values()
            if c.replaced_by == billed.code
            and (c.effective_date is None or c.effective_date <= day)
        )
        yield finding(
            "CODING_CODE_NOT_IN_EFFECT",
            f"{billed.code} is valid from {billed.effective_date}; the service date is {day}",
            field="line.hcpcs",
            suggestion=f"Bill {earlier[0]}, the code in effect then, or correct the date"
            if earlier
            else "Correct the date of service, or bill the code in effect then",
        )
    elif billed.termination_date and day > billed.termination_date:
        yield finding(
            "CODING_CODE_NOT_IN_EFFECT",
            f"{billed.code} was terminated on {billed.termination_date}; the service date is {day}",
            field="line.hcpcs",
            suggestion="Bill the code in effect on the date of service",
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
