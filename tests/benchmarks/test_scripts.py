"""The offline benchmark scripts still run against today's code.

They reach into the package by name (the breakdown wraps methods where the runner calls
them), so a rename elsewhere breaks them without a test of theirs failing: 2026-12-08's
removal of `Validator.claim_verdict` did. Each runs here at a tiny size, its output read
for what it promises; no figure is judged (the host decides those).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parents[2] / "benchmarks"
FIGURE = re.compile(r"^(\s*\S.*?)\s+(\d+\.\d) us\s+\d+\.\d%$")


def run(script: str, *args: str | Path) -> str:
    """The script's standard output; a failure shows its standard error."""
    done = subprocess.run(
        [sys.executable, str(SCRIPTS / script), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_the_breakdown_times_every_step_where_the_runner_calls_it() -> None:
    out = run("validate_breakdown.py", "--lines", "400", "--rules")
    steps = dict(m.groups() for m in map(FIGURE.match, out.splitlines()) if m)
    labels = {label.strip() for label in steps}
    assert {"decode (pydantic)", "rules", "verdict id", "claim roll-up", "claim verdict"} <= labels
    # A wrapped name the runner no longer calls would read 0.0: every step is reached.
    idle = [label.strip() for label, us in steps.items() if float(us) == 0.0]
    assert idle == []
    assert "history.cross_line" in out  # --rules times each rule by name


def test_the_worker_core_runs_both_loads() -> None:
    out = run(
        "worker_core.py",
        *("--lines", "300", "--patients", "2", "--repeats", "1"),
        *("--cache-mb", "0,2", "--batch", "1"),
    )
    assert "mix (300 lines), 0 MB held" in out
    assert "mix (300 lines), 2 MB held" in out
    assert re.search(r"on treatment \([\d,]+ lines\), 2 MB held", out)


def test_the_lean_decode_reads_records_and_times_each_way() -> None:
    out = run("lean_decode.py", "--lines", "300", "--repeats", "1")
    assert re.search(r"^\d+ records read plainly", out, re.M)
    assert "decode: pydantic validate_json" in out
    assert "event JSON: msgspec" in out


def test_the_replay_is_the_same_bytes_twice(tmp_path: Path) -> None:
    """What the replay is for: with the timestamps out, the same code writes the same
    bytes, so a difference after a change is the change's."""
    first, second = tmp_path / "a", tmp_path / "b"
    run("replay.py", first, "--lines", "400")
    run("replay.py", second, "--lines", "400")
    names = sorted(p.name for p in first.iterdir())
    assert names == ["claims.jsonl", "dead.jsonl", "verdicts.jsonl"]
    for name in names:
        text = (first / name).read_bytes()
        assert text, name
        assert not re.search(rb'"(validated_at|received_at)":"[^"]', text), name  # blanked
        assert text == (second / name).read_bytes(), name


def test_the_adapters_map_every_format() -> None:
    out = run("adapters.py", "--seconds", "0.05", "--claims", "2")
    for name in ("x12-837p", "hl7v2-dft", "fhir-r4", "jsonl"):
        assert re.search(rf"^{name}\s+\d+\s+[\d,]+$", out, re.M), out


def test_validate_formats_gives_no_rate_for_a_run_within_the_start_up() -> None:
    out = run("validate_formats.py", "--lines", "50", "--runs", "1")
    rows = {line.split()[0]: line.split() for line in out.splitlines()[2:]}
    assert set(rows) == {"x12-837p", "hl7v2-dft", "fhir-r4", "jsonl"}
    for name, cells in rows.items():
        for rate in (cells[4], cells[6]):
            # A rate, or "-" when the file took no measurable time past the start-up;
            # never the quotient of a difference near zero (48,000,000,000 lines/s).
            assert rate == "-" or int(rate.replace(",", "")) < 1_000_000, (name, rate)


def test_a_candidate_dictionary_is_written(tmp_path: Path) -> None:
    target = tmp_path / "candidate.zdict"
    out = run("state_dictionary.py", "--write", target)
    assert target.stat().st_size > 0
    assert f"wrote {target}" in out
