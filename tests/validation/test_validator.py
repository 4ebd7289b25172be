"""Verdict identity, disposition and scope."""

from __future__ import annotations

import json
import uuid

from hypothesis import given
from hypothesis import strategies as st

from streams.contract.models import ClaimLineEvent, Disposition, Finding, LineVerdict, Severity
from streams.validation.validator import Validator, _uuid5_text, disposition_of
from tests.conftest import make_event


def _finding(severity: Severity) -> Finding:
    return Finding(code="X", category="ndc", severity=severity, message="m")


def test_disposition_is_the_worst_severity() -> None:
    assert disposition_of([]) is Disposition.PASS
    assert disposition_of([_finding(Severity.INFO)]) is Disposition.PASS
    assert disposition_of([_finding(Severity.INFO), _finding(Severity.WARNING)]) is Disposition.WARN
    assert (
        disposition_of([_finding(Severity.WARNING), _finding(Severity.ERROR)]) is Disposition.FAIL
    )


def test_verdict_id_is_deterministic_and_content_bound(validator: Validator) -> None:
    first = validator.validate(make_event("a"))
    again = validator.validate(make_event("a"))
    other = validator.validate(make_event("a", line={"units": 300}))
    assert first.verdict_id == again.verdict_id
    assert first.model_dump(exclude={"validated_at"}) == again.model_dump(exclude={"validated_at"})
    assert other.verdict_id != first.verdict_id


def test_verdict_id_is_the_documented_uuid5_of_the_canonical_event(validator: Validator) -> None:
    """Consumers deduplicate on verdict_id: its derivation must not drift with the code."""
    ev = make_event("derivation")
    name = f"{validator.ruleset_version}|{validator.refdata.version}|"
    name += ev.model_dump_json(by_alias=True)
    documented = str(uuid.uuid5(uuid.UUID("6f2b7a4e-5f3c-4e49-9d2a-2c1e3b0a9262"), name))
    assert validator.verdict_id(ev) == documented
    spaced = json.dumps(ev.model_dump(mode="json", by_alias=True), indent=2)
    assert validator.verdict_id(ClaimLineEvent.model_validate_json(spaced)) == documented


def test_verdict_carries_versions_and_identity(validator: Validator) -> None:
    ev = make_event("ids")
    verdict = validator.validate(ev)
    assert (verdict.event_id, verdict.claim_id, verdict.line_number) == (
        ev.event_id,
        ev.claim.claim_id,
        1,
    )
    assert verdict.ruleset_version == validator.ruleset_version
    assert verdict.reference_data_version == "2026Q4-bundled"


def test_unrelated_lines_are_out_of_scope(validator: Validator) -> None:
    line = {"hcpcs": "96401", "ndc": None, "units": 1, "modifiers": []}
    verdict = validator.validate(make_event(line=line))
    assert verdict.disposition is Disposition.OUT_OF_SCOPE
    assert verdict.findings == []


def test_unrelated_code_with_a_synribo_ndc_is_in_scope(validator: Validator) -> None:
    verdict = validator.validate(make_event(line={"hcpcs": "J1100"}))
    assert verdict.disposition is not Disposition.OUT_OF_SCOPE


def test_claim_roll_up_takes_the_worst_line(validator: Validator) -> None:
    good = validator.validate(make_event("c", claim={"total_lines": 2}))
    bad = validator.validate(
        make_event("c", claim={"total_lines": 2}, line={"line_number": 2, "units": 3.5})
    )
    rolled = validator.roll_up(good.claim_id, [good, bad], total_lines=2)
    assert rolled.complete
    assert rolled.disposition is Disposition.FAIL
    assert [ref.line_number for ref in rolled.model().lines] == [1, 2]
    partial = validator.roll_up(good.claim_id, [good], total_lines=2)
    assert not partial.complete


@given(st.binary(min_size=20, max_size=20))
def test_the_fast_uuid5_text_is_the_uuid_module_s(sha1: bytes) -> None:
    assert _uuid5_text(sha1) == str(uuid.UUID(bytes=sha1[:16], version=5))


def test_verdicts_are_the_models_validation_gives(validator: Validator) -> None:
    """LineVerdict, its findings, enrichment and history line are built without validation
    (`streams.validation.trusted`): over the golden cases (every catalogued edit), each
    verdict equals, and serializes like, the one validated from its own JSON."""
    from streams.validation.history import HistoryLine
    from tests.golden import CASES

    for case in CASES:
        event = ClaimLineEvent.model_validate(case.doc())
        verdict = validator.validate(event)
        again = LineVerdict.model_validate_json(verdict.model_dump_json())
        assert verdict == again, case.name
        assert verdict.model_dump() == again.model_dump(), case.name
        assert verdict.model_dump_json() == again.model_dump_json(), case.name
        line = HistoryLine.of(event)
        assert line == HistoryLine.model_validate_json(line.model_dump_json()), case.name
