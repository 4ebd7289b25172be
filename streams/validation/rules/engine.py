"""What a rule is and how rules run: the registry the rule modules add to.

Kept apart from the package's `__init__`, which imports every rule module, so a
rule module imports this and nothing imports back.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from streams.contract.models import Claim, ClaimLineEvent, Finding, Line
from streams.validation.rules.catalog import resolve

if TYPE_CHECKING:
    from streams.refdata import ReferenceData
    from streams.validation.enrichment import Facts
    from streams.validation.history import HistoryContext

RULESET_VERSION = "2026.12.3"


@dataclass(slots=True)
class LineContext:
    """Not frozen, though no rule changes it: a frozen dataclass's fields are set through
    `object.__setattr__`, which costs more than the rules' reads save."""

    event: ClaimLineEvent
    facts: Facts
    refdata: ReferenceData
    history: HistoryContext | None = None
    line: Line = field(init=False)
    """The event's line and claim, as attributes: the rules read them about twenty
    times a line, where a property costs a call each time."""
    claim: Claim = field(init=False)
    units_checked: bool = field(default=False, init=False)
    """`units_problem` is computed: up to four rules ask for it on one line
    (`units.ndc_units_problem`), each once built its finding again."""
    units_problem: Finding | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.line = self.event.line
        self.claim = self.event.claim


Rule = Callable[[LineContext], Iterable[Finding]]
RULES: list[Rule] = []


def rule(fn: Rule) -> Rule:
    RULES.append(fn)
    return fn


def evaluate(ctx: LineContext) -> list[Finding]:
    """Run every rule; the result order is rule order, then emission order.

    The catalog then drops what is not in force for the payer type on the date of
    service and grades the rest for that payer (`catalog.resolve`).
    """
    found = [f for r in RULES for f in r(ctx)]
    return resolve(
        found,
        ctx.claim.payer.plan_type,  # a StrEnum is its str: `.value` costs 0.3 us on 3.11
        ctx.line.service_date,
        ctx.facts.policy.severities,
    )
