"""Readiness that tells the truth when the broker goes away, a log that stays
readable meanwhile, and nothing lost when it comes back.

Each test runs its own broker: pausing or killing the session's shared one would
break the other tests."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest

from streams.cli.demo import start_worker, stop_process, worker_env
from streams.samples import encode, event
from streams.settings import Settings
from streams.stream.kafka.clients import ensure_topics, publish
from streams.stream.kafka.embedded import EmbeddedBroker
from tests.integration.test_reliability import (
    assert_all_answered,
    log_of,
    own_broker_settings,
    read_until,
    verdicts_by_event,
)

pytestmark = pytest.mark.integration

UNREACHABLE_S = 5
PAUSE_S = 35
"""A broker outage the worker rides out; with a request timeout of 30 s, its sends
failed and it exited."""
QUIET_LINES = 25
"""Most lines the worker may log while its broker is away (it logged ~70 a second)."""


def status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as err:
        return err.code


def worker_ready_gauge(port: int) -> float:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as resp:
        for line in resp.read().decode().splitlines():
            if line.startswith("j9262_worker_ready "):
                return float(line.split()[1])
    raise AssertionError("no j9262_worker_ready in /metrics")


def wait_until(what: str, check: Callable[[], bool], timeout: float, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"{what} never came:\n{log_of(log)[-3000:]}"
        time.sleep(0.5)


def readiness(port: int) -> tuple[int, float] | None:
    """/readyz's status and the worker_ready gauge; None while nothing listens."""
    try:
        return status(f"http://127.0.0.1:{port}/readyz"), worker_ready_gauge(port)
    except OSError:
        return None


def lines_of(log: Path) -> int:
    return len(log_of(log).splitlines())


def start(
    tmp_path: Path, broker: EmbeddedBroker, **extra: object
) -> tuple[Settings, subprocess.Popen[bytes], Path]:
    settings = own_broker_settings(
        broker.url,
        tmp_path,
        broker_unreachable_s=UNREACHABLE_S,
        broker_probe_interval_s=1,
        **extra,
    )
    asyncio.run(ensure_topics(settings, settings.contract_topics))
    log = tmp_path / "worker.log"
    worker = start_worker(worker_env(settings), log)
    try:
        wait_until("readiness", lambda: readiness(settings.web_port) == (200, 1.0), 90, log)
    except BaseException:
        stop_process(worker)
        raise
    return settings, worker, log


def test_a_paused_broker_makes_the_worker_unready_quietly_and_nothing_is_lost(
    tmp_path: Path,
) -> None:
    """The broker stops answering (SIGSTOP: its connections stay open and silent)
    with events in flight."""
    assert Settings().producer_request_timeout_s > PAUSE_S
    with EmbeddedBroker(log_file=tmp_path / "broker.log") as broker:
        settings, worker, log = start(tmp_path, broker)
        port = settings.web_port
        try:
            docs = [
                event(f"pause-{i}", claim={"patient": {"patient_id": f"P-{i % 200}"}})
                for i in range(2000)
            ]
            asyncio.run(publish(settings, [encode(d) for d in docs]))
            asyncio.run(read_until(settings, settings.topic_verdicts, lambda f: len(f) >= 200, 90))
            assert broker.process is not None
            before = lines_of(log)
            broker.process.send_signal(signal.SIGSTOP)
            paused = time.monotonic()
            try:
                wait_until("503", lambda: readiness(port) == (503, 0.0), 60, log)
                while time.monotonic() - paused < PAUSE_S:
                    assert worker.poll() is None, log_of(log)[-3000:]
                    time.sleep(1)
                logged = lines_of(log) - before
            finally:
                broker.process.send_signal(signal.SIGCONT)
            assert logged < QUIET_LINES, log_of(log)[-5000:]

            grouped = verdicts_by_event(settings, {d["event_id"] for d in docs}, timeout=180)
            assert_all_answered(settings, docs, grouped)
            twice = sorted(e for e, versions in grouped.items() if len(versions) > 1)
            assert not twice, f"{len(twice)} events answered more than once, e.g. {twice[:3]}"
            wait_until("ready again", lambda: readiness(port) == (200, 1.0), 90, log)
            assert worker.poll() is None, log_of(log)[-3000:]
        finally:
            stop_process(worker)


def test_a_dead_broker_makes_the_worker_unready_without_flooding_its_log(
    tmp_path: Path,
) -> None:
    """A broker that is gone refuses every connection, and aiokafka logs each refusal."""
    broker = EmbeddedBroker(log_file=tmp_path / "broker.log").start()
    try:
        settings, worker, log = start(tmp_path, broker, shutdown_timeout_s=5)
        before = lines_of(log)
        broker.stop()
        wait_until("503", lambda: readiness(settings.web_port) == (503, 0.0), 60, log)
        assert worker.poll() is None, log_of(log)[-3000:]
        logged = lines_of(log) - before
        assert logged < QUIET_LINES, log_of(log)[-5000:]
    finally:
        broker.stop()
        stop_process(worker)
