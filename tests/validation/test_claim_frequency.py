"""Claim frequency (CLM05-3): a replacement takes the place of the original's lines and
gets its own roll-up; a void withdraws them; neither is a duplicate of the original."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from streams.contract.models import ClaimLineEvent
from streams.samples import ADMIN_96401, claim, encode
from streams.validation.rollup import ClaimLine
from streams.validation.validator import Validator
from tests.conftest import claim_with_line, validate_offline

DOSE = {"modifiers": [], "units": 250, "administered_mg": 2.5}


def resent(name: str, frequency: str, *lines: dict[str, Any], **claim_part: Any) -> list[dict]:
    """The claim `name` sent again as a replacement or void, under its own id unless
    `claim_part` names another."""
    docs = original(name, *lines, events=f"{name}-{frequency}")
    for doc in docs:
        doc["claim"] |= {"frequency": frequency} | claim_part
    return docs


def original(name: str, *lines: dict[str, Any], events: str | None = None) -> list[dict]:
    """Claim `name` of patient `name`; `events` names its event ids (default: `name`)."""
    docs = claim(events or name, *lines)
    for doc in docs:
        doc["claim"]["claim_id"] = f"golden-{name}"
        doc["claim"]["patient"]["patient_id"] = f"P-{name}"
    return docs


def run(validator: Validator, docs: list[dict]) -> Any:
    return validate_offline(validator, [encode(d) for d in docs])


def codes_of(verdicts: list[dict]) -> list[list[str]]:
    return [[f["code"] for f in v["findings"]] for v in verdicts]


def test_a_replacement_under_the_same_id_is_no_duplicate(validator: Validator) -> None:
    first = original("same-id", {}, ADMIN_96401)
    again = resent("same-id", "replacement", DOSE, ADMIN_96401)
    ran = run(validator, first + again)
    assert codes_of(ran.verdicts[2:]) == [[], []]


def test_a_replacement_takes_the_place_of_the_rolled_up_lines(validator: Validator) -> None:
    """Its first line drops the original's lines and the verdict given on them, so the
    claim is rolled up again, on the replacement's lines only."""
    events = [
        ClaimLineEvent.model_validate(d)
        for d in original("rolled", {}, ADMIN_96401, {"modifiers": ["JW"], "units": 100})
    ]
    state = claim_with_line(validator, events[0])
    for event in events[1:]:
        state = state.with_line(ClaimLine.of(event, validator.validate(event)), 3)
    state = state.with_verdict(validator.answer_claim(state))
    assert state.complete and not state.due(datetime.now(UTC), 0)
    again = [
        ClaimLineEvent.model_validate(d) for d in resent("rolled", "replacement", DOSE, ADMIN_96401)
    ]
    for event in again:
        state = state.with_line(ClaimLine.of(event, validator.validate(event)), 2)
    assert [ln.event_id for ln in state.lines.values()] == [e.event_id for e in again]
    assert state.verdict_json is None and state.total_lines == 2
    assert state.due(datetime.now(UTC), 3600)
    assert validator.answer_claim(state).model().complete


def test_a_replacement_naming_its_original_is_no_duplicate(validator: Validator) -> None:
    first = original("named", {}, ADMIN_96401)
    again = resent(
        "named",
        "replacement",
        DOSE,
        ADMIN_96401,
        claim_id="golden-named-2",
        original_claim_id="golden-named",
    )
    ran = run(validator, first + again)
    assert codes_of(ran.verdicts[2:]) == [[], []]
    assert {v["claim_id"] for v in ran.claim_verdicts} == {"golden-named", "golden-named-2"}


def test_without_a_frequency_the_same_line_again_is_a_duplicate(validator: Validator) -> None:
    """The control: what the replacement above would be without CLM05-3."""
    first = original("control", {}, ADMIN_96401)
    again = original("control", {}, ADMIN_96401, events="control-again")
    for doc in again:
        doc["claim"]["claim_id"] = "golden-control-2"
    ran = run(validator, first + again)
    assert codes_of(ran.verdicts[2:])[0] == ["DUPLICATE_LINE"]


def test_a_void_withdraws_the_lines_so_a_new_claim_is_no_duplicate(
    validator: Validator,
) -> None:
    first = original("voided", {}, ADMIN_96401)
    void = resent("voided", "void", {}, ADMIN_96401)
    fresh = original("voided", {}, ADMIN_96401, events="after-void")
    for doc in fresh:
        doc["claim"]["claim_id"] = "golden-voided-2"
    ran = run(validator, first + void + fresh)
    assert codes_of(ran.verdicts[2:]) == [[], [], [], []]


def test_an_institutional_claim_says_its_frequency_in_the_type_of_bill(
    validator: Validator,
) -> None:
    """No `frequency`: TOB 137 is a replacement of a hospital outpatient claim (131)."""
    hospital = {"claim_type": "institutional", "place_of_service": None}
    first = original("tob", {"revenue_code": "0636"})
    again = resent("tob", "replacement", {"revenue_code": "0636"})
    for doc, tob in [(d, "131") for d in first] + [(d, "137") for d in again]:
        doc["claim"] |= hospital | {"type_of_bill": tob}
        doc["claim"].pop("frequency", None)
    control = original("tob", {"revenue_code": "0636"}, events="tob-131")
    for doc in control:
        doc["claim"] |= hospital | {"type_of_bill": "131"}
        doc["claim"].pop("frequency", None)
    ran = run(validator, first + again + control)
    assert codes_of(ran.verdicts) == [[], [], ["DUPLICATE_LINE"]]


def test_validate_rolls_a_replacement_under_the_same_id_up_again(validator: Validator) -> None:
    """Offline, an answered claim's id is done; a replacement under it is answered again,
    on its own lines, as the stream's claim state (kept after its verdict) does."""
    first = original("offline-again", {}, ADMIN_96401)
    again = resent("offline-again", "replacement", DOSE, ADMIN_96401)
    ran = run(validator, first + again)
    by_claim = [v for v in ran.claim_verdicts if v["claim_id"] == "golden-offline-again"]
    assert len(by_claim) == 2
    ids = {v["event_id"]: v["verdict_id"] for v in ran.verdicts}
    replacement_ids = {ids[d["event_id"]] for d in again}
    assert {ln["verdict_id"] for ln in by_claim[1]["lines"]} == replacement_ids
