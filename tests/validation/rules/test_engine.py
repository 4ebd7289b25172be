"""The rule engine's context: what every rule reads."""

from __future__ import annotations

import dataclasses

from streams.validation.enrichment import enrich
from streams.validation.rules import LineContext
from streams.validation.validator import Validator
from tests.conftest import make_event


def test_a_context_s_line_and_claim_are_its_event_s(validator: Validator) -> None:
    """Held as attributes (not properties), and kept in step when the event is replaced."""
    event, other = make_event("ctx"), make_event("ctx-other", line={"line_number": 2})
    ctx = LineContext(event, enrich(event, validator.refdata), validator.refdata)
    assert (ctx.line, ctx.claim) == (event.line, event.claim)
    moved = dataclasses.replace(ctx, event=other)
    assert (moved.line, moved.claim) == (other.line, other.claim)
