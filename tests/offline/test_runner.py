"""`j9262 validate`, as the contract specifies it."""

from __future__ import annotations

import gc
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from streams import refdata
from streams.cli.main import cli
from streams.samples import encode, event
from streams.validation.validator import Validator
from tests.conftest import validate_offline


def write_jsonl(path: Path, records: list[bytes]) -> Path:
    path.write_bytes(b"\n".join(records) + b"\n")
    return path


def test_one_verdict_per_valid_line_in_order_and_dead_letters_apart(tmp_path: Path) -> None:
    docs = [event(f"e{i}") for i in range(5)]
    records = [encode(d) for d in docs]
    records.insert(2, b"{broken")
    records.insert(4, b"")  # blank lines are skipped, not dead-lettered
    src = write_jsonl(tmp_path / "in.jsonl", records)
    result = CliRunner().invoke(
        cli,
        [
            "validate",
            str(src),
            "--output",
            str(tmp_path / "v.jsonl"),
            "--dead-letters",
            str(tmp_path / "dl.jsonl"),
            "--claim-verdicts",
            str(tmp_path / "cv.jsonl"),
        ],
    )
    assert result.exit_code == 0, result.output
    verdicts = [json.loads(x) for x in (tmp_path / "v.jsonl").read_text().splitlines()]
    assert [v["event_id"] for v in verdicts] == [d["event_id"] for d in docs]
    letters = [json.loads(x) for x in (tmp_path / "dl.jsonl").read_text().splitlines()]
    assert [(d["reason"], d["source"]["offset"]) for d in letters] == [("invalid_json", 3)]
    claims = [json.loads(x) for x in (tmp_path / "cv.jsonl").read_text().splitlines()]
    assert len(claims) == 5
    assert all(c["schema"] == "claim-verdict/v1" and c["complete"] for c in claims)
    assert "5 verdict(s)" in result.output


def test_reads_stdin_and_writes_stdout() -> None:
    result = CliRunner().invoke(cli, ["validate", "-"], input=encode(event("s")) + b"\n")
    assert result.exit_code == 0
    first = result.stdout.splitlines()[0]
    assert json.loads(first)["event_id"] == event("s")["event_id"]


def test_exits_non_zero_only_when_it_cannot_run(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["validate", str(tmp_path / "missing.jsonl")])
    assert result.exit_code != 0


def test_bad_reference_data_is_a_one_line_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "payer_policies.yaml").write_text("plan_types: {}\npayers: {}\n")
    refdata.stamp(tmp_path)
    monkeypatch.setenv("J9262_REFDATA_DIR", str(tmp_path))
    result = CliRunner().invoke(cli, ["validate", "-"], input=encode(event("s")) + b"\n")
    assert result.exit_code == 1
    assert result.output.endswith(
        "payer_policies.yaml:1: key 'plan_types': plan type 'other' "
        "is missing: it is the default of every plan type\n"
    )
    assert "Traceback" not in result.output


def _without_time(verdicts: list[dict[str, object]]) -> list[dict[str, object]]:
    return [{k: v for k, v in d.items() if k != "validated_at"} for d in verdicts]


def test_line_verdicts_do_not_depend_on_asking_for_claim_verdicts() -> None:
    """Without --claim-verdicts the claim bookkeeping is skipped; the lines must not notice."""
    validator = Validator(refdata.load())
    same_patient = {"patient": {"patient_id": "P-1"}}
    records = [
        encode(event(f"c{i}", claim=same_patient, line={"units": 350 * (i + 1)})) for i in range(4)
    ]
    with_claims = validate_offline(validator, records)
    without = validate_offline(validator, records, claims=False)
    assert len(with_claims.verdicts) == 4 and len(with_claims.claim_verdicts) == 4
    assert _without_time(with_claims.verdicts) == _without_time(without.verdicts)


def test_run_leaves_the_garbage_collector_as_it_found_it() -> None:
    validator = Validator(refdata.load())

    def validate() -> None:
        validate_offline(validator, [encode(event("g"))], claims=False)

    before = gc.get_threshold(), gc.get_freeze_count()
    validate()
    assert (gc.get_threshold(), gc.get_freeze_count()) == before
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        validate()
        assert gc.get_freeze_count() >= frozen  # a caller's freeze is not undone
    finally:
        gc.unfreeze()


def test_the_summary_counts_dispositions_by_their_plain_text() -> None:
    """Keys are the disposition's text (plain str), not its enum member."""
    validator = Validator(refdata.load())
    summary = validate_offline(validator, [encode(event(f"d{i}")) for i in range(3)]).summary
    assert sum(summary.by_disposition.values()) == 3
    assert all(type(key) is str for key in summary.by_disposition)
