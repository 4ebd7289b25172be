"""The rule engine: plain functions over plain data.

A rule takes a `LineContext` (the event, its enrichment, the reference data
and, when the caller has one, the patient's history) and yields findings. No
Kafka and no I/O, so the stream, `j9262 validate` and the tests run the very
same code. Rules register themselves with `@rule` in the modules imported at
the bottom of this file.
"""

from __future__ import annotations

# Importing the modules registers their rules; findings follow RULE_MODULES order.
from streams.validation.rules import (
    coding,
    diagnosis,
    documentation,
    dosing,
    history,
    modifiers,
    ndc,
    payer,
    site,
    units,
)
from streams.validation.rules.catalog import CATALOG, finding
from streams.validation.rules.engine import RULES, RULESET_VERSION, LineContext, evaluate, rule

RULE_MODULES = (
    coding,
    ndc,
    units,
    dosing,
    modifiers,
    diagnosis,
    documentation,
    payer,
    site,
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
