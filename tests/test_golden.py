"""The golden corpus through `j9262 validate`, and the catalog's coverage."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from streams.cli.main import cli
from streams.samples import encode
from streams.validation.rules import CATALOG
from streams.validation.validator import Validator
from tests.conftest import validate_offline
from tests.golden import (
    CASES,
    NOT_IN_GOLDEN,
    PATIENT_CASES,
    SOURCED_CLAIMS,
    Case,
    ClaimCase,
    PatientCase,
)


def test_corpus_size_and_unique_names() -> None:
    assert len(CASES) >= 80
    assert len({c.name for c in CASES}) == len(CASES)


def test_sixty_scenarios_follow_a_named_source_across_payers_and_forms() -> None:
    sourced = [c for c in CASES if c.source]
    assert len(sourced) >= 60
    plans = {c.doc()["claim"]["payer"]["plan_type"] for c in sourced}
    assert {"medicare", "medicare_advantage", "medicaid", "commercial"} <= plans
    forms = {c.doc()["claim"]["claim_type"] for c in sourced}
    assert forms == {"professional", "institutional"}
    assert {c.disposition for c in sourced} >= {"pass", "warn", "fail"}


def test_every_catalogued_edit_has_a_golden_case() -> None:
    covered = {code for case in CASES for code in case.codes}
    assert set(CATALOG) - covered == NOT_IN_GOLDEN


@pytest.fixture(scope="module")
def offline_verdicts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    src = tmp_path_factory.mktemp("golden") / "golden.jsonl"
    src.write_bytes(b"\n".join(encode(c.doc()) for c in CASES) + b"\n")
    result = CliRunner().invoke(cli, ["validate", str(src)])
    assert result.exit_code == 0, result.output
    verdicts = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    return {v["event_id"]: v for v in verdicts}


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_golden_case_offline(case: Case, offline_verdicts: dict[str, dict]) -> None:
    verdict = offline_verdicts[case.doc()["event_id"]]
    got = (verdict["disposition"], [f["code"] for f in verdict["findings"]])
    assert got == (case.disposition, case.codes), json.dumps(verdict["findings"], indent=1)


def test_messages_never_name_the_patient_or_claim(offline_verdicts: dict[str, dict]) -> None:
    for case in CASES:
        doc = case.doc()
        verdict = offline_verdicts[doc["event_id"]]
        text = json.dumps(verdict["findings"])
        assert doc["claim"]["patient"]["patient_id"] not in text
        assert doc["claim"]["claim_id"] not in text


def test_sourced_claims_name_their_source() -> None:
    assert all(c.source for c in SOURCED_CLAIMS)
    assert len({c.name for c in SOURCED_CLAIMS}) == len(SOURCED_CLAIMS)


@pytest.fixture(scope="module")
def claim_verdicts(validator: Validator) -> dict[str, dict]:
    docs = [doc for case in SOURCED_CLAIMS for doc in case.docs()]
    ran = validate_offline(validator, [encode(d) for d in docs])
    return {v["claim_id"]: v for v in ran.claim_verdicts}


@pytest.mark.parametrize("case", SOURCED_CLAIMS, ids=lambda c: c.name)
def test_golden_claim(case: ClaimCase, claim_verdicts: dict[str, dict]) -> None:
    verdict = claim_verdicts[case.docs()[0]["claim"]["claim_id"]]
    got = (verdict["disposition"], [f["code"] for f in verdict["findings"]])
    assert got == (case.disposition, case.codes), json.dumps(verdict, indent=1)


@pytest.mark.parametrize("case", PATIENT_CASES, ids=lambda c: c.name)
def test_golden_patient(case: PatientCase, validator: Validator) -> None:
    """A patient's lines in order: the history gives the last one its phase findings."""
    assert case.source
    verdicts = validate_offline(validator, [encode(d) for d in case.docs()]).verdicts
    assert [v["disposition"] for v in verdicts[:-1]] == ["pass"] * (len(verdicts) - 1)
    last = verdicts[-1]
    got = (last["disposition"], [f["code"] for f in last["findings"]])
    assert got == (case.disposition, case.codes), json.dumps(last["findings"], indent=1)


def test_patient_cases_cover_payers_and_forms() -> None:
    docs = [case.docs()[-1] for case in PATIENT_CASES]
    assert {d["claim"]["payer"]["plan_type"] for d in docs} >= {
        "medicare",
        "medicare_advantage",
        "medicaid",
        "commercial",
    }
    assert {d["claim"]["claim_type"] for d in docs} == {"professional", "institutional"}
    assert {c.disposition for c in PATIENT_CASES} == {"pass", "warn"}
