"""The benchmark's own arithmetic: what BENCHMARKS.md prints must mean what it says."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

import bench  # benchmarks/ is a folder of scripts, not a package

ASSIGNED = (
    "{} INFO [aiokafka.consumer.group_coordinator] Setting newly assigned partitions"
    " {{TopicPartition(topic='lines', partition=0)}} for group g\n"
)


def worker_log(tmp_path: Path, name: str, *stamps: str) -> Path:
    """A worker log with a start line and one assignment line per stamp."""
    log = tmp_path / name
    lines = ["2026-12-08 00:33:27,001 INFO [faust] starting\n"]
    lines += [ASSIGNED.format(stamp) for stamp in stamps]
    log.write_text("".join(lines))
    return log


def test_the_offset_is_between_the_workers_first_assignments(tmp_path: Path) -> None:
    leader = worker_log(tmp_path, "v2-0.log", "2026-12-08 00:33:28,967", "2026-12-08 00:40:00,000")
    follower = worker_log(tmp_path, "v2-1.log", "2026-12-08 00:33:29,967")
    assert bench.assignment_offset([leader, follower]) == pytest.approx(1.0)
    assert bench.assignment_offset([follower, leader]) == pytest.approx(1.0)
    assert bench.assignment_offset([leader]) == 0.0


def test_a_worker_without_an_assignment_gives_no_offset(tmp_path: Path) -> None:
    leader = worker_log(tmp_path, "v2-0.log", "2026-12-08 00:33:28,967")
    silent = worker_log(tmp_path, "v2-1.log")
    assert math.isnan(bench.assignment_offset([leader, silent]))
    assert math.isnan(bench.assignment_offset([leader, tmp_path / "missing.log"]))


def test_the_steady_rate_is_between_the_two_marks() -> None:
    assert bench.steady_rate({5_000: 10.0, 15_000: 12.0}) == pytest.approx(5_000.0)
    assert bench.steady_rate({15_000: 12.0, 5_000: 10.0}) == pytest.approx(5_000.0)
    assert math.isnan(bench.steady_rate({5_000: 10.0}))
    assert math.isnan(bench.steady_rate({5_000: 10.0, 15_000: 10.0}))


def test_the_scaling_model_s_speedups_come_from_its_two_runs() -> None:
    results = {
        "one_per_s": 3_000.0,
        "one_cpu_ms_per_line": 0.3,
        "one_broker_cpu_ms_per_line": 0.03,
        "one_reader_cpu_ms_per_line": 0.01,
        "one_steady_per_s": 3_100.0,
        "two_per_s": 5_400.0,
        "two_cpu_ms_per_line": 0.3,
        "two_broker_cpu_ms_per_line": 0.04,
        "two_reader_cpu_ms_per_line": 0.01,
        "two_steady_per_s": 6_200.0,
        "two_assignment_offset_s": 1.0,
    }
    model = bench.scaling_model(results, "one", "two")
    assert model["speedup"] == pytest.approx(1.8)
    assert model["steady_speedup"] == pytest.approx(2.0)
    assert model["assignment_offset_s"] == 1.0
    assert model["two_workers"]["ceiling_workers_per_s"] == pytest.approx(2 / 0.0003)


def test_a_run_whose_raw_loop_varied_widely_says_so() -> None:
    machine = {"machine": {"cores": "2"}}
    steady = bench.summary({**machine, "raw_runs_per_s": [70_643.0, 79_923.0, 79_778.0]})
    disturbed = bench.summary({**machine, "raw_runs_per_s": [24_157.0, 70_512.0, 62_117.0]})
    assert not [line for line in steady if line.startswith("host:")]
    assert [line for line in disturbed if line.startswith("host:")] == [
        "host: the raw loop's runs ranged 24,157-70,512 lines/s, so something else took the"
        " cores during this run: compare shares within it, and repeat it before reading a"
        " change from it"
    ]
