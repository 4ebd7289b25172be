"""Claim state: what the claims table keeps, and reading older changelogs."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from pydantic import BaseModel

from streams.contract.models import ClaimType, PlanType
from streams.validation.rollup import ClaimLine, ClaimState
from streams.validation.validator import Validator
from tests.conftest import claim_with_line, make_event


def test_a_stored_line_gives_back_the_verdict_the_topic_carried(validator: Validator) -> None:
    event = make_event("stored", line={"units": 3.5})
    verdict = validator.validate(event)
    line = ClaimLine.of(event, verdict)
    assert line.verdict() == json.loads(verdict.model_dump_json())
    assert (line.verdict_id, line.disposition) == (verdict.verdict_id, verdict.disposition)


def test_a_stored_line_holds_no_tree_of_objects_whatever_its_findings(
    validator: Validator,
) -> None:
    """The claims table parses a state on every access: a verdict's tree would be
    built and dropped each time."""
    event = make_event("heavy", line={"units": 3.5, "modifiers": ["JW"]})
    verdict = validator.validate(event)
    assert len(verdict.findings) >= 2
    line = ClaimLine.of(event, verdict)
    assert not [v for v in vars(line).values() if isinstance(v, BaseModel | list | dict)]


def test_claim_state_written_with_the_verdict_itself_still_reads(validator: Validator) -> None:
    """Changelog records from before the text form carry the LineVerdict as an object."""
    event = make_event("older")
    verdict = validator.validate(event)
    older = {
        "claim_id": event.claim.claim_id,
        "claim_type": ClaimType.PROFESSIONAL.value,
        "plan_type": PlanType.MEDICARE.value,
        "total_lines": 1,
        "first_seen": datetime(2026, 11, 20, tzinfo=UTC).isoformat(),
        "lines": {
            "1": {
                "line_number": 1,
                "event_id": event.event_id,
                "hcpcs": event.line.hcpcs,
                "modifiers": [],
                "units": 1.0,
                "service_date": event.line.service_date.isoformat(),
                "verdict": json.loads(verdict.model_dump_json()),
            }
        },
    }
    state = ClaimState.model_validate_json(json.dumps(older))
    line = state.lines[1]
    assert line.verdict_id == verdict.verdict_id
    assert line.verdict() == json.loads(verdict.model_dump_json())
    claim_verdict = validator.answer_claim(state).model()
    assert claim_verdict.lines[0].verdict_id == verdict.verdict_id

    older["verdict"] = json.loads(claim_verdict.model_dump_json())
    state = ClaimState.model_validate_json(json.dumps(older))
    assert state.verdict() == json.loads(claim_verdict.model_dump_json())
    assert state.verdict_at == claim_verdict.validated_at
    assert state.verdict_complete
    assert not state.due(datetime.now(UTC), 0)


def test_a_claim_with_its_verdict_holds_no_tree_of_objects(validator: Validator) -> None:
    event = make_event("whole", claim={"total_lines": 1}, line={"units": 3.5})
    state = claim_with_line(validator, event)
    state = state.with_verdict(validator.answer_claim(state))
    assert state.verdict() is not None
    held = [v for k, v in vars(state).items() if k != "lines"]
    assert not [v for v in held if isinstance(v, BaseModel | list | dict)]


def test_the_roll_up_s_models_are_the_validated_ones(validator: Validator) -> None:
    """ClaimLine and ClaimState are built without validation (`trusted`): each equals,
    and serializes like, the model validated from its own JSON; the ClaimVerdict's JSON,
    written without a model, is the one its model writes."""
    events = [
        make_event("trust", claim={"total_lines": 2}, line={"units": 3.5, "modifiers": ["JW"]}),
        make_event(
            "trust",
            claim={"total_lines": 2},
            line={"line_number": 2, "ndc": {"code": "63459-0177-10", "quantity": 1, "unit": "UN"}},
        ),
    ]
    state = None
    for event in events:
        line = ClaimLine.of(event, validator.validate(event))
        assert line == ClaimLine.model_validate_json(line.model_dump_json())
        if state is None:
            state = ClaimState.first(
                line,
                claim_id=event.claim.claim_id,
                claim_type=event.claim.claim_type,
                plan_type=event.claim.payer.plan_type,
                total_lines=event.claim.total_lines,
                first_seen=datetime.now(UTC),
                partition=None,
            )
        else:
            state = state.with_line(line, event.claim.total_lines)
    assert state is not None
    verdict = validator.answer_claim(state)
    assert verdict.json == verdict.model().model_dump_json()
    state = state.with_verdict(verdict)
    again = ClaimState.model_validate_json(state.model_dump_json())
    assert state == again
    assert state.model_dump_json() == again.model_dump_json()
