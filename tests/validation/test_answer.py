"""Cross-line and claim-level checks through `j9262 validate` (dicts for tables), and
`answer_line`, the step the stream and `j9262 validate` both answer a line with."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from streams.contract.decoding import Rejection, decode
from streams.contract.models import ClaimLineEvent, ClaimVerdict, DeadLetterReason, LineVerdict
from streams.samples import ADMIN_96401, claim, encode, event
from streams.validation.answer import ClaimMessage, add_to_claim, answer_line
from streams.validation.history import PatientHistory
from streams.validation.rollup import ClaimState
from streams.validation.rules import engine
from streams.validation.rules.engine import LineContext
from streams.validation.validator import Validator
from tests.conftest import make_event, validate_offline

PATIENT = {"patient": {"patient_id": "P-cycle"}}


def validate(
    validator: Validator, docs: list[dict[str, Any]], window: int = 90
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    ran = validate_offline(validator, [encode(d) for d in docs], window=window)
    return ran.verdicts, ran.claim_verdicts


def codes(verdict: dict[str, Any]) -> list[str]:
    return [f["code"] for f in verdict["findings"]]


def dosing_day(n: int, start: date = date(2026, 11, 1), **line: Any) -> dict[str, Any]:
    """A line sent on the evening of its service day."""
    day = (start + timedelta(days=n)).isoformat()
    return event(
        f"cycle-{n}-{start}",
        claim=PATIENT,
        line={"service_date": day, **line},
        event_time=f"{day}T22:00:00Z",
    )


def test_fifteenth_dosing_day_in_28_is_flagged_and_fourteenth_not(validator: Validator) -> None:
    verdicts, _ = validate(validator, [dosing_day(n) for n in range(15)])
    assert [codes(v) for v in verdicts[:14]] == [[]] * 14
    assert codes(verdicts[14]) == ["DOSING_CYCLE_DAYS"]
    assert verdicts[14]["disposition"] == "warn"
    assert verdicts[14]["findings"][0]["message"].startswith(
        "15 dosing days in the 28 days 2026-11-01 to 2026-11-28"
    )


@pytest.mark.parametrize(
    ("start", "window"),
    [
        (date.min, "0001-01-01 to 0001-01-28"),
        (date.max - timedelta(days=14), "9999-12-17 to 9999-12-31"),
    ],
)
def test_dosing_days_at_either_end_of_the_calendar(
    validator: Validator, start: date, window: str
) -> None:
    """The history's retention and the cycle's window stay inside the calendar: such
    dates were once an OverflowError, and every line an internal-error dead letter.
    JZ exists from 2023-01-01: the year-1 lines go without it; J9262 and the ICD-10 codes
    did not exist yet either, which the year-1 lines report first."""
    jz = {"modifiers": [] if start.year < 2023 else ["JZ"]}
    verdicts, _ = validate(validator, [dosing_day(n, start, **jz) for n in range(15)])
    before = ["CODING_CODE_NOT_IN_EFFECT", "DX_NOT_IN_EFFECT"] if start.year < 2014 else []
    assert [codes(v) for v in verdicts] == [before] * 14 + [[*before, "DOSING_CYCLE_DAYS"]]
    assert f"15 dosing days in the 28 days {window}" in verdicts[14]["findings"][-1]["message"]


def test_a_mistyped_year_neither_passes_nor_hides_the_cycle(validator: Validator) -> None:
    typo = dosing_day(7)
    typo["line"]["service_date"] = "2062-11-08"
    typo["event_id"] = "typo-2062"
    docs = [dosing_day(n) for n in range(7)] + [typo] + [dosing_day(n) for n in range(7, 15)]
    verdicts, _ = validate(validator, docs)
    assert codes(verdicts[7]) == ["SERVICE_DATE_IN_FUTURE"]
    assert codes(verdicts[-1]) == ["DOSING_CYCLE_DAYS"]


def test_a_new_cycle_after_the_rest_days_is_not_flagged(validator: Validator) -> None:
    first = [dosing_day(n) for n in range(14)]
    second = [dosing_day(n) for n in range(28, 42)]
    verdicts, _ = validate(validator, first + second)
    assert all(codes(v) == [] for v in verdicts)


def test_two_claims_that_duplicate_each_other(validator: Validator) -> None:
    a = event("dup-a", claim=PATIENT)
    b = event("dup-b", claim=PATIENT)
    verdicts, _ = validate(validator, [a, b])
    assert codes(verdicts[0]) == []
    assert codes(verdicts[1]) == ["DUPLICATE_LINE"]
    assert verdicts[1]["disposition"] == "fail"
    assert f"line 1 of claim {a['claim']['claim_id']}" in verdicts[1]["findings"][0]["message"]


def test_a_repeat_outside_the_window_is_not_a_duplicate(validator: Validator) -> None:
    a = event("late-a", claim=PATIENT, event_time="2026-11-20T10:00:00Z")
    b = event("late-b", claim=PATIENT, event_time="2027-01-20T10:00:00Z")
    verdicts, _ = validate(validator, [a, b], window=30)
    assert "DUPLICATE_LINE" not in codes(verdicts[1])
    # Billed again for the same date, its units still count toward that day's dose.
    assert codes(verdicts[1]) == ["DOSING_DAILY_ABOVE_LABEL_MAX"]


def test_a_redelivered_event_gets_the_identical_verdict(validator: Validator) -> None:
    first = dosing_day(0)
    later = [dosing_day(n) for n in range(1, 15)]
    verdicts, _ = validate(validator, [first, *later, first])
    again = verdicts[-1]
    assert codes(again) == []
    assert {k: v for k, v in again.items() if k != "validated_at"} == {
        k: v for k, v in verdicts[0].items() if k != "validated_at"
    }


def test_more_than_two_administrations_in_a_day(validator: Validator) -> None:
    docs = [
        event(
            f"admin-{i}",
            claim={"patient": {"patient_id": "P-3x", "bsa_m2": 2.8}},
            line={"units": units, "administered_mg": units / 100},
        )
        for i, units in enumerate((150, 160, 170))
    ]
    verdicts, _ = validate(validator, docs)
    assert [codes(v) for v in verdicts] == [
        ["MODIFIER_JZ_PARTIAL_VIAL"],
        ["MODIFIER_JZ_PARTIAL_VIAL"],
        ["MODIFIER_JZ_PARTIAL_VIAL", "DOSING_ADMINISTRATIONS_PER_DAY"],
    ]
    assert verdicts[2]["disposition"] == "fail"


def test_a_days_units_across_claims_against_label_and_mue(validator: Validator) -> None:
    patient = {"patient": {"patient_id": "P-day", "bsa_m2": 1.8}}  # label max 450 a day
    morning = event("am", claim=patient, line={"units": 250, "administered_mg": 2.5})
    evening = event("pm", claim=patient, line={"units": 260, "administered_mg": 2.6})
    waste = event(
        "pm-jw",
        claim=patient | {"total_lines": 2},
        line={"modifiers": ["JW"], "units": 220},
        documentation={"waste_record": True},
    )
    verdicts, _ = validate(validator, [morning, evening, waste])
    assert codes(verdicts[1]) == ["MODIFIER_JZ_PARTIAL_VIAL", "DOSING_DAILY_ABOVE_LABEL_MAX"]
    assert "UNITS_DAILY_MUE" in codes(verdicts[2])
    assert "730 J9262 units billed for 2026-11-20" in verdicts[2]["findings"][0]["message"]


def test_history_forgets_dates_past_retention(validator: Validator) -> None:
    from streams.contract.models import ClaimLineEvent
    from streams.samples import event as ev
    from streams.validation.history import PatientHistory

    history = PatientHistory()
    for n, day in enumerate(("2026-01-01", "2026-03-01", "2026-06-01")):
        e = ClaimLineEvent.model_validate(ev(f"r{n}", line={"service_date": day}))
        history = history.record(e, [], retention_days=92)
    assert sorted(history.lines) == ["2026-03-01", "2026-06-01"]
    assert len(history.findings) == 2


# --- claim roll-up ------------------------------------------------------------------


def claim_verdict(validator: Validator, docs: list[dict[str, Any]]) -> dict[str, Any]:
    _, claims = validate(validator, docs)
    assert len(claims) == 1
    return claims[0]


def test_clean_claim_of_drug_and_administration(validator: Validator) -> None:
    cv = claim_verdict(validator, claim("clean-pair", {}, ADMIN_96401))
    assert (cv["disposition"], cv["complete"], cv["findings"]) == ("pass", True, [])
    assert [(ln["line_number"], ln["disposition"]) for ln in cv["lines"]] == [
        (1, "pass"),
        (2, "out_of_scope"),
    ]


def test_jw_line_without_its_administered_line(validator: Validator) -> None:
    cv = claim_verdict(
        validator,
        claim(
            "jw-alone",
            {"modifiers": ["JW"], "units": 100},
            ADMIN_96401,
            documentation={"waste_record": True},
        ),
    )
    assert codes(cv) == ["CLAIM_JW_WITHOUT_ADMIN"]
    assert cv["disposition"] == "fail"


def test_medicare_line_without_jz_or_a_jw_line(validator: Validator) -> None:
    cv = claim_verdict(validator, claim("no-jz", {"modifiers": []}, ADMIN_96401))
    assert codes(cv) == ["CLAIM_JZ_JW_MISSING"]


def test_administered_plus_discarded_units_not_whole_vials(validator: Validator) -> None:
    cv = claim_verdict(
        validator,
        claim(
            "vials",
            {"modifiers": [], "units": 250, "administered_mg": 2.5},
            # no NDC quantity on the JW line: the vials it reports are unknown, so the
            # whole-vial total judges it (tests/validation/rules/test_claim_vials.py)
            {"modifiers": ["JW"], "units": 50, "ndc": {"quantity": None}},
            ADMIN_96401,
            documentation={"waste_record": True},
        ),
    )
    assert codes(cv) == ["CLAIM_VIAL_TOTAL"]
    assert "250 administered + 50 discarded units" in cv["findings"][0]["message"]


def test_iv_administration_code_beside_j9262(validator: Validator) -> None:
    iv = ADMIN_96401 | {"hcpcs": "96413"}
    cv = claim_verdict(validator, claim("iv", {}, iv))
    assert codes(cv) == ["CLAIM_IV_ADMIN_CODE"]


def test_no_administration_code_on_a_professional_claim(validator: Validator) -> None:
    cv = claim_verdict(validator, claim("no-admin", {}))
    assert codes(cv) == ["CLAIM_NO_ADMIN_CODE"]
    assert cv["disposition"] == "warn"
    institutional = claim("inst", {}, claim={"claim_type": "institutional"})
    assert codes(claim_verdict(validator, institutional)) == []


def test_claim_missing_a_line_is_incomplete(validator: Validator) -> None:
    docs = claim("partial", {}, ADMIN_96401, {"hcpcs": "J1100", "ndc": None, "modifiers": []})
    cv = claim_verdict(validator, docs[:2])
    assert (cv["complete"], cv["total_lines"], codes(cv)) == (False, 3, ["CLAIM_INCOMPLETE"])


def claim_message(validator: Validator, doc: dict[str, Any]) -> ClaimMessage:
    """What the claim step gets for a line: decoded, validated, its verdict attached."""
    line = decode(encode(doc), 1 << 20)
    assert isinstance(line, ClaimLineEvent)
    return ClaimMessage.for_line(line, validator.validate(line))


def test_a_due_claim_verdict_is_sent_as_the_text_its_state_keeps(validator: Validator) -> None:
    claims: dict[str, ClaimState] = {}
    now = datetime.now(UTC)
    updates = []
    for doc in claim("sent-once", {}, ADMIN_96401):
        message = claim_message(validator, doc)
        updates.append(add_to_claim(validator, claims, message, now, 300))
    waiting, done = updates
    assert waiting.verdict is None
    assert done.verdict is not None and done.state is not None
    assert done.verdict.json == done.verdict.model().model_dump_json() == done.state.verdict_json
    assert ClaimVerdict.model_validate_json(done.verdict.json).lines[1].line_number == 2


@pytest.mark.parametrize("keep_answered", [True, False])
def test_a_claim_answered_complete_stays_held_only_when_asked(
    validator: Validator, keep_answered: bool
) -> None:
    """The stream keeps an answered claim (a late replacement rolls it up again);
    `j9262 validate` keeps only its id, so its state leaves the store, and a one-line
    claim never enters it. Either way each claim is answered at the same line."""
    claims: dict[str, ClaimState] = {}
    now = datetime.now(UTC)
    pair, single = claim("pair", {}, ADMIN_96401), claim("single", {})
    pair_id, single_id = pair[0]["claim"]["claim_id"], single[0]["claim"]["claim_id"]
    held, answered = [], []
    for doc in [*pair, *single]:
        message = claim_message(validator, doc)
        update = add_to_claim(validator, claims, message, now, 300, keep_answered=keep_answered)
        held.append(sorted(claims))
        answered.append(None if update.verdict is None else update.verdict.complete)
    assert pair_id != single_id
    assert answered == [None, True, True]
    if keep_answered:
        assert held == [[pair_id], [pair_id], sorted([pair_id, single_id])]
    else:
        assert held == [[pair_id], [], []]


# --- answer_line ----------------------------------------------------------------------

SECRET = "PT-SECRET-TEXT"
"""What the raising rule's message says: claim data an error's text could quote."""


def raise_in_a_rule(ctx: LineContext) -> Iterator[Any]:
    raise ValueError(f"{SECRET} {ctx.claim.patient.patient_id}")


@pytest.fixture
def raising_rule(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every rule run also runs one that raises, as a rule with a bug would."""
    monkeypatch.setattr(engine, "RULES", [*engine.RULES, raise_in_a_rule])


def test_a_stateless_line_is_validated_alone(validator: Validator) -> None:
    line = make_event("admin", line={"hcpcs": "96401", "ndc": None, "modifiers": []})
    assert not validator.stateful(line)
    histories: dict[str, PatientHistory] = {}
    answer = answer_line(validator, line, histories, 90)
    assert isinstance(answer, LineVerdict)
    assert answer == validator.validate(line).model_copy(
        update={"validated_at": answer.validated_at}
    )
    assert histories == {}


def test_a_stateful_line_is_validated_against_and_added_to_its_patients_history(
    validator: Validator,
) -> None:
    first, again = (make_event(name, claim=PATIENT) for name in ("first", "again"))
    assert validator.stateful(first)
    histories: dict[str, PatientHistory] = {}
    assert isinstance(answer_line(validator, first, histories, 90), LineVerdict)
    assert set(histories) == {first.claim.patient.patient_id}
    repeat = answer_line(validator, again, histories, 90)
    assert isinstance(repeat, LineVerdict)
    assert [f.code for f in repeat.findings] == ["DUPLICATE_LINE"]


@pytest.mark.usefixtures("raising_rule")
@pytest.mark.parametrize("hcpcs", ["J9262", "96401"])
def test_a_rule_that_raises_gives_one_internal_error_without_its_text(
    validator: Validator, hcpcs: str
) -> None:
    line = make_event("raises", line={"hcpcs": hcpcs})
    told: list[tuple[ClaimLineEvent, Exception]] = []
    histories: dict[str, PatientHistory] = {}
    answer = answer_line(
        validator, line, histories, 90, on_error=lambda e, exc: told.append((e, exc))
    )
    assert answer == Rejection(
        DeadLetterReason.INTERNAL_ERROR,
        f"validation raised ValueError; see the log for event_id {line.event_id}",
        event_id=line.event_id,
    )
    assert SECRET not in answer.detail
    assert [(e, type(exc)) for e, exc in told] == [(line, ValueError)]
    assert histories == {}  # the line is not remembered: sent back, it is checked again


def test_stored_state_that_does_not_parse_is_an_internal_error(validator: Validator) -> None:
    """A history table whose value does not parse raises as it is read."""

    class Unreadable(dict[str, PatientHistory]):
        def get(self, key: str, default: Any = None) -> Any:
            return PatientHistory.model_validate_json(b'{"lines": "PT-SECRET"}')

    line = make_event("unreadable")
    answer = answer_line(validator, line, Unreadable(), 90)
    assert isinstance(answer, Rejection)
    assert answer.reason is DeadLetterReason.INTERNAL_ERROR
    assert answer.detail.startswith("validation raised ValidationError;")
    assert "PT-SECRET" not in answer.detail


@pytest.mark.usefixtures("raising_rule")
def test_the_offline_runner_dead_letters_a_raising_rule_without_its_text(
    validator: Validator, caplog: pytest.LogCaptureFixture
) -> None:
    doc = event("offline-raises")
    ran = validate_offline(validator, [encode(doc)])
    assert ran.verdicts == []
    [letter] = ran.dead_letters
    assert (letter["reason"], letter["event_id"]) == ("internal_error", doc["event_id"])
    assert letter["detail"] == (
        f"validation raised ValueError; see the log for event_id {doc['event_id']}"
    )
    assert f"rule evaluation failed for event_id={doc['event_id']}" in caplog.text
    assert "raise_in_a_rule" in caplog.text  # where it was raised
    assert SECRET not in caplog.text


def test_a_maintenance_patient_past_seven_days_is_told_why(validator: Validator) -> None:
    """Induction (14 days), maintenance (7), then an 8th day in the next cycle."""
    days = [*range(14), *range(28, 35), *range(56, 64)]
    verdicts, _ = validate(validator, [dosing_day(n) for n in days])
    assert [codes(v) for v in verdicts[:-1]] == [[]] * (len(days) - 1)
    [found] = verdicts[-1]["findings"]
    assert found["code"] == "DOSING_MAINTENANCE_CYCLE_DAYS"
    assert found["severity"] == "warning"
    assert found["message"] == (
        "dosing day 8 of the cycle that began 2026-12-27; the previous cycle (2026-11-29 to "
        "2026-12-05, 7 dosing days) was a maintenance cycle, which the label doses 7 "
        "consecutive days of each 28 (5 when reduced after toxicity)"
    )


def test_short_cycles_first_in_view_do_not_make_a_maintenance_phase(
    validator: Validator,
) -> None:
    """The first cycle the history holds may have lost its start to retention: a 7-day
    first cycle followed by 14 days is not a return to induction."""
    days = [*range(7), *range(28, 42)]
    verdicts, _ = validate(validator, [dosing_day(n) for n in days])
    assert all(codes(v) == [] for v in verdicts)
