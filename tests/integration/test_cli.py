"""The commands a newcomer runs: broker, produce, tail and demo, as real processes."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from streams.cli.demo import sample_records, sample_x12, worker_env, x12_lines
from streams.contract.decoding import decode
from streams.contract.models import ClaimLineEvent
from streams.samples import encode, event
from streams.settings import Settings
from streams.stream.kafka.embedded import free_port, wait_for_port
from tests.integration.conftest import Workers

pytestmark = pytest.mark.integration

J9262 = [sys.executable, "-m", "streams"]


def brokers_on(port: int) -> list[str]:
    """Tansu processes listening on `port` (other tests may run brokers of their own)."""
    out = subprocess.run(["pgrep", "-af", "tansu"], capture_output=True, text=True, check=False)
    return [line for line in out.stdout.splitlines() if f"127.0.0.1:{port} " in line + " "]


def gone(port: int, timeout: float = 5) -> bool:
    deadline = time.monotonic() + timeout
    while brokers_on(port):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def test_broker_command_serves_until_sigterm() -> None:
    port = free_port()
    proc = subprocess.Popen([*J9262, "broker", "--port", str(port)], stdout=subprocess.PIPE)
    try:
        wait_for_port("127.0.0.1", port, 20)
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) == 0
    assert gone(port)


def test_broker_command_fails_and_says_why_when_the_broker_dies() -> None:
    port = free_port()
    proc = subprocess.Popen(
        [*J9262, "broker", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for_port("127.0.0.1", port, 20)
        children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
        assert len(children) == 1 and brokers_on(port)
        os.kill(int(children[0]), signal.SIGKILL)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 128 + signal.SIGKILL
    assert "the embedded broker was killed by SIGKILL" in err
    assert "Traceback" not in out + err


def test_broker_command_shows_the_brokers_own_error_when_it_cannot_start() -> None:
    """The port is taken: Tansu says so, and the command passes that on."""
    port = free_port()
    proc = subprocess.Popen([*J9262, "broker", "--port", str(port)], stdout=subprocess.PIPE)
    try:
        wait_for_port("127.0.0.1", port, 20)
        second = subprocess.run(
            [*J9262, "broker", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(20)
    assert second.returncode != 0
    assert "the embedded broker exited with code" in second.stderr
    assert "its last output:" in second.stderr
    assert "Traceback" not in second.stderr


def test_produce_then_tail(settings: Settings, workers: Workers, tmp_path: Path) -> None:
    src = tmp_path / "events.jsonl"
    records = [encode(event(f"cli-{i}")) for i in range(25)] + [b"{oops"]
    src.write_bytes(b"\n".join(records) + b"\n")
    env = worker_env(settings)
    produced = subprocess.run(
        [*J9262, "produce", str(src)], env=env, capture_output=True, text=True, check=True
    )
    assert f"published 26 record(s) to {settings.topic_lines}" in produced.stdout
    workers.start()
    tailed = subprocess.run(
        [*J9262, "tail", "--json", "--from-beginning", "--dead-letters", "--idle-exit", "8"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    docs = [json.loads(line) for line in tailed.stdout.splitlines()]
    assert sorted(d["schema"] for d in docs) == ["claim-line-verdict/v1"] * 25 + ["dead-letter/v1"]

    table = subprocess.run(
        [*J9262, "tail", "--from-beginning", "--idle-exit", "2"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert table.stdout.count("pass") == 25


def test_demo_runs_and_leaves_nothing_behind() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("J9262_")}
    done = subprocess.run(
        [*J9262, "demo"], env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "records answered; worker stopped with exit code 0" in done.stdout
    assert "dead letter: invalid_json" in done.stdout
    readable = [decode(r, 1 << 20) for r in sample_records()]
    claims = {e.claim.claim_id for e in readable if isinstance(e, ClaimLineEvent)}
    x12_keys = x12_lines(sample_x12())
    claims |= {claim_id for claim_id, _ in x12_keys}
    for claim_id, line in x12_keys:  # each 837 service line is shown with its verdict
        assert re.search(rf"claim {claim_id} \S+ +\w+ line {line} ", done.stdout), done.stdout
    assert "UNITS_NDC_SCALE" in done.stdout
    assert f"{len(claims)} claim verdicts" in done.stdout
    assert "SERVICE_DATE_IN_FUTURE" in done.stdout and "PAYER_TIMELY_FILING" in done.stdout
    assert "CLAIM_JW_WITHOUT_ADMIN" in done.stdout and "DUPLICATE_LINE" in done.stdout
    match = re.search(r"embedded broker on 127\.0\.0\.1:(\d+)", done.stdout)
    assert match, done.stdout
    assert gone(int(match[1]))
    # A worker the demo failed to stop would be orphaned (parent pid 1).
    ps = subprocess.run(["ps", "-eo", "ppid=,args="], capture_output=True, text=True, check=True)
    orphans = [
        ln for ln in ps.stdout.splitlines() if "streams worker" in ln and ln.split()[0] == "1"
    ]
    assert orphans == []
