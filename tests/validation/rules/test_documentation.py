"""Documentation edits: what a line without documentation reads."""

from __future__ import annotations

from streams.contract.models import Documentation
from streams.validation.rules.documentation import NOT_DOCUMENTED


def test_a_line_without_documentation_shares_one_that_attests_nothing() -> None:
    """Not built again a line; frozen, so no rule can change what another reads."""
    assert Documentation() == NOT_DOCUMENTED
    assert NOT_DOCUMENTED.model_config.get("frozen")
