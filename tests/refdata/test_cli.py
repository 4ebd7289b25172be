"""`j9262 refdata check|stamp|show` and the worker on bad reference data, as real processes:
exit codes, one line per error, never a traceback. No broker is needed: the worker checks its
reference data before it contacts one."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from streams import refdata
from streams.cli.main import EXIT_BAD_REFDATA_CLI
from streams.stream.exits import EXIT_BAD_REFDATA

BAD_ROWS = (
    "J9299,-3,3,Clinical,cms,verified,CMS MUE table",
    "J99,480,3,Clinical,cms,verified,CMS MUE table",
)
BAD_ERRORS = [
    "mue.csv:3: column 'mue': -3 is below 0",
    "mue.csv:4: column 'code': 'J99' is not a HCPCS code (a letter and 4 digits, e.g. J9262, "
    "or a CPT code, e.g. 96401)",
]


def j9262(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """The command in a clean environment (no J9262_* variables, no .env file)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("J9262_")}
    return subprocess.run(
        [sys.executable, "-m", "streams", *args],
        env={**clean, **{f"J9262_{k.upper()}": v for k, v in env.items()}},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def good(tmp_path: Path) -> Path:
    folder = tmp_path / "good"
    folder.mkdir()
    shutil.copy(refdata.BUNDLED / "mue.csv", folder / "mue.csv")
    refdata.stamp(folder, "2027Q1-site")
    return folder


@pytest.fixture
def bad(good: Path) -> Path:
    with (good / "mue.csv").open("a") as fh:
        fh.writelines(f"{row}\n" for row in BAD_ROWS)
    refdata.stamp(good)
    return good


def lines(text: str, folder: Path) -> list[str]:
    return [line.replace(f"{folder}/", "") for line in text.splitlines()]


def test_check_passes_a_good_folder_with_a_one_line_summary(tmp_path: Path, good: Path) -> None:
    result = j9262(tmp_path, "refdata", "check", str(good))
    assert result.returncode == 0, result.stderr
    assert result.stdout == (
        f"ok: version 2027Q1-site (mue.csv from {good}); 13 HCPCS codes, 11 NDCs, 15 diagnoses, "
        "16 modifiers, 1 MUE rows, 6 drugs, 5 plan types, 6 payers\n"
    )
    assert result.stderr == ""


def test_check_without_a_folder_checks_the_setting_else_the_bundled_data(
    tmp_path: Path, good: Path
) -> None:
    bundled = j9262(tmp_path, "refdata", "check")
    assert bundled.returncode == 0
    assert bundled.stdout.startswith("ok: version 2026Q4-bundled (all files bundled); ")
    configured = j9262(tmp_path, "refdata", "check", refdata_dir=str(good))
    assert configured.returncode == 0
    assert configured.stdout.startswith("ok: version 2027Q1-site (mue.csv from ")


def test_check_prints_one_line_per_error_and_exits_1(tmp_path: Path, bad: Path) -> None:
    result = j9262(tmp_path, "refdata", "check", str(bad))
    assert result.returncode == EXIT_BAD_REFDATA_CLI == 1
    assert lines(result.stderr, bad) == BAD_ERRORS
    assert result.stdout == ""


def test_check_of_a_missing_folder_names_it(tmp_path: Path) -> None:
    missing = tmp_path / "not-there"
    for result in (
        j9262(tmp_path, "refdata", "check", str(missing)),
        j9262(tmp_path, "refdata", "check", refdata_dir=str(missing)),
        j9262(tmp_path, "refdata", "show", refdata_dir=str(missing)),
    ):
        assert result.returncode == EXIT_BAD_REFDATA_CLI
        assert result.stderr == f"{missing}: reference data folder does not exist\n"


def test_show_prints_the_same_errors(tmp_path: Path, bad: Path) -> None:
    result = j9262(tmp_path, "refdata", "show", "--dir", str(bad))
    assert result.returncode == EXIT_BAD_REFDATA_CLI
    assert lines(result.stderr, bad) == BAD_ERRORS


def test_validate_with_a_missing_refdata_dir_names_the_folder(tmp_path: Path) -> None:
    missing = tmp_path / "not-there"
    (tmp_path / "in.jsonl").write_text("")
    result = j9262(tmp_path, "validate", "in.jsonl", refdata_dir=str(missing))
    assert result.returncode != 0
    assert f"{missing}: reference data folder does not exist" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_stamp_after_a_reviewed_edit_makes_the_folder_pass(tmp_path: Path, good: Path) -> None:
    text = (good / "mue.csv").read_text()
    (good / "mue.csv").write_text(text.replace("J9262,700,", "J9262,650,"))
    refused = j9262(tmp_path, "refdata", "check", str(good))
    assert refused.returncode == EXIT_BAD_REFDATA_CLI
    assert "mue.csv changed since it was stamped" in refused.stderr
    stamped = j9262(tmp_path, "refdata", "stamp", str(good))
    assert stamped.returncode == 0, stamped.stderr
    assert stamped.stdout.splitlines() == [
        f"stamped {good / 'manifest.yaml'}: version {refdata.load(good).version}",
        f"ok: {good} passes its checks",
    ]
    assert refdata.load(good).version.startswith("2027Q1-site+local-")
    assert j9262(tmp_path, "refdata", "check", str(good)).returncode == 0


def test_stamp_of_a_missing_folder_is_a_one_line_error(tmp_path: Path) -> None:
    result = j9262(tmp_path, "refdata", "stamp", str(tmp_path / "not-there"))
    assert result.returncode == 1
    assert (
        result.stderr == f"Error: {tmp_path / 'not-there'}: reference data folder does not exist\n"
    )


@pytest.mark.parametrize("case", ["bad", "missing"])
def test_the_worker_refuses_bad_reference_data_before_contacting_a_broker(
    tmp_path: Path, bad: Path, case: str
) -> None:
    """The broker URL points at a closed port: the exit comes from the data check alone."""
    folder = bad if case == "bad" else tmp_path / "not-there"
    result = j9262(
        tmp_path,
        "worker",
        refdata_dir=str(folder),
        broker_url="kafka://127.0.0.1:9",
        data_dir=str(tmp_path / "data"),
    )
    assert result.returncode == EXIT_BAD_REFDATA == 2
    output = result.stdout + result.stderr
    assert "Traceback" not in output
    refused = [ln for ln in lines(result.stderr, folder) if "cannot start" in ln]
    expected = BAD_ERRORS if case == "bad" else [f"{folder}: reference data folder does not exist"]
    assert [ln.split("cannot start: reference data: ", 1)[1] for ln in refused] == expected
    assert "not reachable" not in output
