"""Properties: any record, however mangled, ends as exactly one verdict or dead letter;
any event the schema accepts ends as a verdict."""

from __future__ import annotations

import base64
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from streams import refdata
from streams.contract.models import DeadLetter, LineVerdict
from streams.offline.runner import results
from streams.samples import encode
from streams.validation.validator import Validator
from tests.conftest import examples, validate_offline
from tests.fuzz import mutated_records, valid_events

VALIDATOR = Validator(refdata.load())


@settings(max_examples=examples(3))  # one record each: cheap
@given(mutated_records())
def test_every_record_ends_as_one_answer(raw: bytes) -> None:
    if not raw.strip() or b"\n" in raw or b"\r" in raw:
        return  # one JSON Lines record per line: the stream test covers these bytes
    answers = [item for _, item in results(VALIDATOR, [raw], "fuzz", 1 << 20)]
    assert len(answers) == 1
    answer = answers[0]
    assert isinstance(answer, LineVerdict | DeadLetter)
    if isinstance(answer, DeadLetter):
        assert base64.b64decode(answer.payload_base64) == raw.rstrip(b"\r\n")
        assert answer.detail


@settings(max_examples=examples(0.3))  # up to 25 events and a claim roll-up each
@given(st.lists(valid_events(), min_size=1, max_size=25))
def test_every_event_the_schema_accepts_gets_a_verdict(docs: list[dict[str, Any]]) -> None:
    """Extreme but valid values (dates at either end of the calendar, a ten-million-unit
    line, a 0.0001 m2 patient) reach the rules, the histories and the claim roll-up
    in one run: none of them may end as an internal error."""
    ran = validate_offline(VALIDATOR, [encode(d) for d in docs])
    assert [(x["reason"], x["detail"], x["errors"]) for x in ran.dead_letters] == []
    assert ran.summary.verdicts == len(docs) == len(ran.verdicts)
    answered = {c["claim_id"] for c in ran.claim_verdicts}
    assert answered == {d["claim"]["claim_id"] for d in docs}
