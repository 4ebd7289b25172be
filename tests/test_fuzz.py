"""Property: any record, however mangled, ends as exactly one verdict or dead letter."""

from __future__ import annotations

import base64

from hypothesis import HealthCheck, given, settings

from streams import refdata
from streams.events import DeadLetter, LineVerdict
from streams.offline import results
from streams.verdicts import Validator
from tests.fuzz import mutated_records

VALIDATOR = Validator(refdata.load())


@settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
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
