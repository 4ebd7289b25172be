"""The rule engine: plain functions over plain data.

A rule takes a `LineContext` (the event, its enrichment, the reference data
and, when the caller has one, the patient's history) and yields findings. No
Kafka and no I/O, so the stream, `j9262 validate` and the tests run the very
same code. Rules register themselves with `@rule` in the modules imported at
the bottom of this file.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from streams.events import Claim, ClaimLineEvent, Finding, Line
from streams.rules.catalog import CATALOG, finding

if TYPE_CHECKING:
    from streams.enrich import Facts
    from streams.history import HistoryContext
    from streams.refdata import ReferenceData

RULESET_VERSION = "2026.11.1"


@dataclass(frozen=True, slots=True)
class LineContext:
    event: ClaimLineEvent
    facts: Facts
    refdata: ReferenceData
    history: HistoryContext | None = None

    @property
    def line(self) -> Line:
        return self.event.line

    @property
    def claim(self) -> Claim:
        return self.event.claim


Rule = Callable[[LineContext], Iterable[Finding]]
RULES: list[Rule] = []


def rule(fn: Rule) -> Rule:
    RULES.append(fn)
    return fn


def evaluate(ctx: LineContext) -> list[Finding]:
    """Run every rule; the result order is rule order, then emission order."""
    return [f for r in RULES for f in r(ctx)]


# Importing the modules registers their rules; findings follow RULE_MODULES order.
from streams.rules import (  # noqa: E402
    coding,
    diagnosis,
    documentation,
    dosing,
    history,
    modifiers,
    ndc,
    payer,
    units,
)

RULE_MODULES = (
    coding,
    ndc,
    units,
    dosing,
    modifiers,
    diagnosis,
    documentation,
    payer,
    history,
)
_ORDER = {module.__name__: i for i, module in enumerate(RULE_MODULES)}
RULES.sort(key=lambda r: _ORDER[r.__module__])

__all__ = [
    "CATALOG",
    "RULES",
    "RULESET_VERSION",
    "RULE_MODULES",
    "LineContext",
    "evaluate",
    "finding",
    "rule",
]
