"""Stateful steps over a mapping store: a Faust table in the stream, a dict offline.

The patient and claim agents, and `j9262 validate`, call these same functions,
so they keep the same state and give the same verdicts, and the same dead letters,
for lines in the same order.
"""

from __future__ import annotations

from collections.abc import Callable, MutableMapping
from datetime import datetime
from typing import Literal, NamedTuple

from pydantic import BaseModel

from streams.contract.decoding import Rejection
from streams.contract.encoding import PlainClaimVerdict
from streams.contract.models import (
    ClaimLineEvent,
    ClaimType,
    DeadLetterReason,
    LineVerdict,
    PlanType,
)
from streams.validation.history import PatientHistory
from streams.validation.rollup import ClaimLine, ClaimState
from streams.validation.trusted import trusted
from streams.validation.validator import Validator


def validate_for_patient(
    validator: Validator,
    event: ClaimLineEvent,
    histories: MutableMapping[str, PatientHistory],
    duplicate_window_days: int,
) -> LineVerdict:
    """Validate a J9262-family line against its patient's history, then record it."""
    patient = event.claim.patient.patient_id
    before = histories.get(patient) or PatientHistory()
    verdict, after = validator.validate_with_history(event, before, duplicate_window_days)
    if after is not before:
        histories[patient] = after
    return verdict


OnError = Callable[[ClaimLineEvent, Exception], None]
"""Told of an exception a line's validation raised, to log where it was raised."""


def answer_line(
    validator: Validator,
    event: ClaimLineEvent,
    histories: MutableMapping[str, PatientHistory],
    duplicate_window_days: int,
    *,
    on_error: OnError | None = None,
) -> LineVerdict | Rejection:
    """A decoded line's verdict (J9262-family lines against their patient's history),
    or the internal_error rejection that dead-letters it when validation raises.

    The stream's patient agent and `j9262 validate` both answer a line here, so they
    give the same verdict or the same dead letter for it. `on_error` gets the
    exception to log; the rejection carries its type, never its text.
    """
    try:
        if validator.stateful(event):
            return validate_for_patient(validator, event, histories, duplicate_window_days)
        return validator.validate(event)
    except Exception as exc:
        if on_error is not None:
            on_error(event, exc)
        return internal_error(event, exc)


def internal_error(event: ClaimLineEvent, exc: BaseException) -> Rejection:
    """The rejection of a line whose validation raised `exc`: its type and the line's
    event id, not its text (an error about a line or stored state can quote claim
    data, e.g. pydantic's quote the input)."""
    return Rejection(
        DeadLetterReason.INTERNAL_ERROR,
        f"validation raised {type(exc).__name__}; see the log for event_id {event.event_id}",
        event_id=event.event_id,
    )


class ClaimMessage(BaseModel):
    """What the claim agent reads: a line and its verdict, or a deadline tick."""

    kind: Literal["line", "deadline"]
    claim_id: str
    claim_type: ClaimType | None = None
    plan_type: PlanType | None = None
    total_lines: int | None = None
    line: ClaimLine | None = None

    @classmethod
    def for_line(
        cls, event: ClaimLineEvent, verdict: LineVerdict, verdict_json: str | None = None
    ) -> ClaimMessage:
        claim = event.claim
        return trusted(
            cls,
            {
                "kind": "line",
                "claim_id": claim.claim_id,
                "claim_type": claim.claim_type,
                "plan_type": claim.payer.plan_type,
                "total_lines": claim.total_lines,
                "line": ClaimLine.of(event, verdict, verdict_json),
            },
        )


class ClaimUpdate(NamedTuple):
    """A claim's state as now stored (None for a deadline of a claim not held), and
    the ClaimVerdict if one is now due, with the JSON the outputs send."""

    state: ClaimState | None
    verdict: PlainClaimVerdict | None = None


def add_to_claim(
    validator: Validator,
    claims: MutableMapping[str, ClaimState],
    message: ClaimMessage,
    now: datetime,
    wait_s: float,
    *,
    partition: int | None = None,
    keep_answered: bool = True,
) -> ClaimUpdate:
    """Record a line (or a deadline) in its claim's state.

    Without `keep_answered` (`j9262 validate`, which keeps only the ids of answered
    claims) a claim answered complete leaves `claims`; a claim answered at its first
    line is never stored, which spares the store a write and a delete."""
    state = claims.get(message.claim_id)
    held = state is not None
    if message.kind == "line":
        assert message.line is not None and message.claim_type and message.plan_type
        if state is None:
            state = ClaimState.first(
                message.line,
                claim_id=message.claim_id,
                claim_type=message.claim_type,
                plan_type=message.plan_type,
                total_lines=message.total_lines,
                first_seen=now,
                partition=partition,
            )
        else:
            state = state.with_line(message.line, message.total_lines)
    if state is None or not state.due(now, wait_s):
        if state is not None:
            claims[message.claim_id] = state
        return ClaimUpdate(state)
    verdict = validator.answer_claim(state)
    state = state.with_verdict(verdict)
    if keep_answered or not verdict.complete:
        claims[message.claim_id] = state
    elif held:
        del claims[message.claim_id]
    return ClaimUpdate(state, verdict)
