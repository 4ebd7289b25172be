"""Evidence under stress: late brokers, TLS, crashes and a lost worker; nothing is dropped."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import ssl
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme

from streams import refdata
from streams.cli.demo import start_worker, worker_env
from streams.samples import encode, event
from streams.settings import Settings
from streams.stream.exits import EXIT_SENDS_FAILED
from streams.stream.kafka.clients import (
    committed_offsets,
    ensure_topics,
    follow,
    key_of,
    publish,
)
from streams.stream.kafka.embedded import EmbeddedBroker, free_port
from streams.stream.topics import PATIENT_LINES, internal_name
from tests.integration.conftest import (
    TEST_SESSION_TIMEOUT_S,
    Workers,
    every_event,
    publish_and_wait,
    read_until,
    with_changes,
)
from tests.integration.proxy import Proxy

pytestmark = pytest.mark.integration


def log_of(proc_log: Path) -> str:
    return proc_log.read_text(errors="replace")


def wait_log(path: Path, needle: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while needle not in log_of(path):
        assert time.monotonic() < deadline, f"{needle!r} never logged:\n{log_of(path)[-2000:]}"
        time.sleep(0.2)


def refused_start(settings: Settings) -> str:
    """Runs a worker that must refuse to start: exit code 2, without waiting for a broker
    (the minute's timeout only ends a hang). Its stderr."""
    result = subprocess.run(
        [sys.executable, "-m", "streams", "worker"],
        env=worker_env(settings),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2, result.stderr[-2000:]
    return result.stderr


def own_broker_settings(broker_url: str, tmp_path: Path, **extra: Any) -> Settings:
    """Settings for a test that runs its own broker, so the contract's topic names serve."""
    return Settings(
        _env_file=None,
        broker_url=broker_url,
        web_port=free_port(),
        data_dir=tmp_path / "data",
        rebalance_timeout_s=2,
        session_timeout_s=TEST_SESSION_TIMEOUT_S,
        **extra,
    )


def test_worker_waits_for_a_broker_that_appears_later(tmp_path: Path) -> None:
    port = free_port()
    settings = own_broker_settings(f"kafka://127.0.0.1:{port}", tmp_path)
    log = tmp_path / "worker.log"
    worker = start_worker(worker_env(settings), log)
    try:
        wait_log(log, "not reachable (KafkaConnectionError); retrying in 2 s")
        assert worker.poll() is None
        with EmbeddedBroker(port=port, log_file=tmp_path / "broker.log"):
            asyncio.run(ensure_topics(settings, [settings.topic_lines, settings.topic_verdicts]))
            docs = [event(f"late-{i}") for i in range(20)]
            publish_and_wait(settings, docs, timeout=90)
            worker.send_signal(signal.SIGTERM)
            assert worker.wait(30) == 0
    finally:
        if worker.poll() is None:
            worker.kill()


def test_a_broker_that_stalls_mid_run_delays_verdicts_but_loses_none(tmp_path: Path) -> None:
    """The broker stops answering (a long pause, a network partition) for longer than
    the group's session timeout but less than the producer's request timeout: the
    worker waits it out and every event still gets its one verdict. Past the request
    timeout the sends fail, and the worker exits without committing, as it does for
    a refused verdict (below)."""
    with EmbeddedBroker(log_file=tmp_path / "broker.log") as broker:
        settings = own_broker_settings(broker.url, tmp_path)
        asyncio.run(ensure_topics(settings, [settings.topic_lines, settings.topic_verdicts]))
        docs = [
            event(f"stall-{i}", claim={"patient": {"patient_id": f"P-{i % 300}"}})
            for i in range(3000)
        ]
        asyncio.run(publish(settings, [encode(d) for d in docs]))
        worker = start_worker(worker_env(settings), tmp_path / "worker.log")
        try:
            asyncio.run(read_until(settings, settings.topic_verdicts, lambda f: len(f) >= 600, 120))
            assert broker.process is not None
            broker.process.send_signal(signal.SIGSTOP)
            time.sleep(settings.session_timeout_s + 3)
            broker.process.send_signal(signal.SIGCONT)
            assert settings.session_timeout_s + 3 < settings.producer_request_timeout_s
            grouped = verdicts_by_event(settings, {d["event_id"] for d in docs}, timeout=180)
            assert_all_answered(settings, docs, grouped)
            assert_repeats_identical(grouped)
            assert worker.poll() is None, log_of(tmp_path / "worker.log")[-2000:]
            worker.send_signal(signal.SIGTERM)
            assert worker.wait(30) == 0
        finally:
            if worker.poll() is None:
                worker.kill()


def test_sigterm_ends_the_worker_even_when_the_broker_is_gone(tmp_path: Path) -> None:
    """Faust's stop waits on a producer flush a vanished broker never answers."""
    broker = EmbeddedBroker(log_file=tmp_path / "broker.log").start()
    settings = own_broker_settings(broker.url, tmp_path, shutdown_timeout_s=5)
    log = tmp_path / "worker.log"
    worker = start_worker(worker_env(settings), log)
    try:
        asyncio.run(ensure_topics(settings, [settings.topic_lines, settings.topic_verdicts]))
        publish_and_wait(settings, [event(f"gone-{i}") for i in range(5)], timeout=90)
        assert broker.process is not None
        broker.process.kill()
        broker.stop()
        asyncio.run(asyncio.sleep(1))
        worker.send_signal(signal.SIGTERM)
        code = worker.wait(20)
    finally:
        if worker.poll() is None:
            worker.kill()
        broker.stop()
    timed_out = "stopping took longer than 5 s" in log_of(log)
    assert (code, timed_out) in {(0, False), (3, True)}, log_of(log)[-2000:]


def test_a_verdict_the_broker_refuses_stops_the_worker_before_it_commits(tmp_path: Path) -> None:
    """Faust only logs a failed send; committing after it would lose those events.

    The broker's schema registry refuses every verdict (the schema requires a field
    no verdict has), so each send fails on the broker's side.
    """
    schemas = tmp_path / "schemas"
    schemas.mkdir()
    refuse_all = {"type": "object", "properties": {"value": {"required": ["not-a-field"]}}}
    (schemas / f"{Settings(_env_file=None).topic_verdicts}.json").write_text(json.dumps(refuse_all))
    with EmbeddedBroker(schema_dir=schemas, log_file=tmp_path / "broker.log") as broker:
        settings = own_broker_settings(broker.url, tmp_path)
        asyncio.run(ensure_topics(settings, settings.contract_topics))
        asyncio.run(publish(settings, [encode(event(f"refused-{i}")) for i in range(10)]))
        log = tmp_path / "worker.log"
        worker = start_worker(worker_env(settings), log)
        try:
            code = worker.wait(90)
        finally:
            if worker.poll() is None:
                worker.kill()
        assert code == EXIT_SENDS_FAILED, log_of(log)[-2000:]
        assert "output records failed to send; exiting without committing" in log_of(log)
        assert not any(asyncio.run(committed_offsets(settings)).values())


@contextlib.contextmanager
def proxied_broker(
    tmp_path: Path, *, tls: bool, users: dict[str, str] | None = None
) -> Iterator[tuple[int, Path, Proxy]]:
    """Tansu behind a proxy it advertises, terminating TLS (with a CA and server
    certificate made here), SASL logins, or both: its port, the CA file, the proxy."""
    ca = trustme.CA()
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    server_ctx = None
    if tls:
        server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert("localhost", "127.0.0.1").configure_cert(server_ctx)
    proxy_port = free_port()
    with (
        EmbeddedBroker(advertised=f"localhost:{proxy_port}", log_file=tmp_path / "b.log") as b,
        Proxy(proxy_port, b.port, server_ctx, users) as proxy,
    ):
        yield proxy_port, ca_file, proxy


def answers_ten_lines(settings: Settings, tmp_path: Path, tag: str) -> None:
    """A worker on these settings validates ten lines, then stops cleanly."""
    asyncio.run(ensure_topics(settings, [settings.topic_lines, settings.topic_verdicts]))
    worker = start_worker(worker_env(settings), tmp_path / "worker.log")
    try:
        publish_and_wait(settings, [event(f"{tag}-{i}") for i in range(10)], timeout=90)
    finally:
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(30) == 0


def test_worker_talks_tls_and_checks_the_certificate(tmp_path: Path) -> None:
    with proxied_broker(tmp_path, tls=True) as (proxy_port, ca_file, _):
        settings = own_broker_settings(
            f"kafka://localhost:{proxy_port}",
            tmp_path,
            security_protocol="SSL",
            ssl_cafile=ca_file,
        )
        answers_ten_lines(settings, tmp_path, "tls")

        wrong_ca = tmp_path / "other-ca.pem"
        trustme.CA().cert_pem.write_to_path(str(wrong_ca))
        stderr = refused_start(with_changes(settings, ssl_cafile=wrong_ca))
    assert "TLS verification of broker" in stderr
    assert "unable to get local issuer certificate" in stderr


@pytest.mark.parametrize(
    ("protocol", "mechanism"),
    [
        ("SASL_PLAINTEXT", "PLAIN"),
        ("SASL_PLAINTEXT", "SCRAM-SHA-256"),
        ("SASL_SSL", "SCRAM-SHA-512"),
    ],
)
def test_worker_logs_in_with_sasl_configured_only_by_settings(
    protocol: str, mechanism: str, tmp_path: Path
) -> None:
    """Every client the worker opens (consumer, producer, admin, the start-up check)
    logs in; with a wrong password it stops at once, naming the user, not the password."""
    tls = protocol == "SASL_SSL"
    with proxied_broker(tmp_path, tls=tls, users={"svc-j9262": "s3cret-pw"}) as (
        proxy_port,
        ca_file,
        proxy,
    ):
        settings = own_broker_settings(
            f"kafka://localhost:{proxy_port}",
            tmp_path,
            security_protocol=protocol,
            sasl_mechanism=mechanism,
            sasl_username="svc-j9262",
            sasl_password="s3cret-pw",
            **({"ssl_cafile": ca_file} if tls else {}),
        )
        answers_ten_lines(settings, tmp_path, mechanism.lower())
        logins = list(proxy.logins)
        stderr = refused_start(with_changes(settings, sasl_password="not-the-password"))
        refused = proxy.logins[len(logins) :]
    assert len(logins) >= 3
    assert set(logins) == {(mechanism, True)}
    assert refused == [(mechanism, False)]
    assert f"refused the SASL {mechanism} login of user 'svc-j9262'" in stderr
    assert f"invalid credentials with SASL mechanism {mechanism}" in stderr
    assert "not-the-password" not in stderr


def test_a_refused_sasl_login_fails_fast_with_a_clear_error(tmp_path: Path) -> None:
    """Against the embedded broker with authentication on, which knows no user.

    A successful login cannot be shown here: Tansu creates users only over an
    authenticated connection, and its memory store starts with none.
    """
    with EmbeddedBroker(authentication=True, log_file=tmp_path / "broker.log") as broker:
        settings = Settings(
            _env_file=None,
            broker_url=broker.url,
            security_protocol="SASL_PLAINTEXT",
            sasl_mechanism="SCRAM-SHA-512",
            sasl_username="svc-j9262",
            sasl_password="not-the-password",
            data_dir=tmp_path / "data",
            web_port=free_port(),
        )
        stderr = refused_start(settings)
    assert "refused the SASL SCRAM-SHA-512 login of user 'svc-j9262'" in stderr
    assert "not-the-password" not in stderr


def verdicts_by_event(settings: Settings, wanted: set[str], timeout: float) -> dict[str, list]:
    found = asyncio.run(read_until(settings, settings.topic_verdicts, every_event(wanted), timeout))
    grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for v in found:
        grouped[v["event_id"]].append(v)
    return grouped


async def whereabouts(settings: Settings, event_ids: set[str]) -> str:
    """Where unanswered events sit on each hop, and the group's commits there."""
    topics = [
        settings.topic_lines,
        internal_name(settings, PATIENT_LINES),
        settings.topic_dead_letters,
    ]
    found: dict[str, list[str]] = defaultdict(list)
    async for record in follow(settings, topics, idle_timeout=5):
        for event_id in event_ids:
            if event_id.encode() in record.value:
                found[event_id].append(f"{record.topic}[{record.partition}]@{record.offset}")
    commits = {t: await committed_offsets(settings, t) for t in topics[:2]}
    return f"found at {dict(found)}; committed {commits}"


def assert_all_answered(settings: Settings, docs: list[dict[str, Any]], grouped: dict) -> None:
    missing = {d["event_id"] for d in docs} - grouped.keys()
    assert not missing, f"{len(missing)} unanswered: " + asyncio.run(
        whereabouts(settings, set(sorted(missing)[:5]))
    )


def assert_repeats_identical(grouped: dict[str, list[dict[str, Any]]]) -> int:
    repeats = 0
    for versions in grouped.values():
        first = {k: v for k, v in versions[0].items() if k != "validated_at"}
        for other in versions[1:]:
            repeats += 1
            assert {k: v for k, v in other.items() if k != "validated_at"} == first
    return repeats


def test_a_bad_payer_policy_file_stops_the_worker_at_start_up(
    settings: Settings, tmp_path: Path
) -> None:
    """Not every J9262 line dead-lettered as an internal error later on."""
    refdir = tmp_path / "refdata"
    refdir.mkdir()
    text = (refdata.BUNDLED / "payer_policies.yaml").read_text()
    bad = text.replace("timely_filing_days: 90", "timely_filing_days: ninety", 1)
    (refdir / "payer_policies.yaml").write_text(bad)
    refdata.stamp(refdir)
    stderr = refused_start(with_changes(settings, refdata_dir=refdir))
    assert "cannot start: reference data" in stderr
    assert "key 'plan_types.commercial.timely_filing_days': 'ninety' is not a whole number" in (
        stderr
    )


def on_treatment(prefix: str, count: int, patients: int) -> list[dict[str, Any]]:
    """`count` J9262 lines of `patients` patients over October's days: each patient's
    history matters, so a line answered twice must be answered alike."""
    return [
        event(
            f"{prefix}-{i}",
            claim={"patient": {"patient_id": f"P-{i % patients}"}},
            line={"service_date": f"2026-10-{1 + i % 28:02d}"},
        )
        for i in range(count)
    ]


def test_kill_9_mid_run_then_a_new_worker_answers_everything(
    settings: Settings, workers: Workers
) -> None:
    docs = on_treatment("crash", 20_000, 500)
    asyncio.run(publish(settings, [encode(d) for d in docs]))
    first = workers.start()
    asyncio.run(read_until(settings, settings.topic_verdicts, lambda f: len(f) >= 4000, 120))
    first.send_signal(signal.SIGKILL)
    first.wait(10)
    workers.start()
    grouped = verdicts_by_event(settings, {d["event_id"] for d in docs}, timeout=480)
    assert_all_answered(settings, docs, grouped)
    assert_repeats_identical(grouped)


def kill_one_of_two(
    settings: Settings,
    workers: Workers,
    docs: list[dict[str, Any]],
    key: Callable[[bytes], bytes | None] = key_of,
) -> None:
    """Two workers share `docs`, published keyed by `key`; one is killed with kill -9 once
    a thousand are answered. Every line must be answered, a repeat alike, and the
    other worker must still run."""
    survivor = workers.start()
    victim = workers.start(web_port=free_port())
    asyncio.run(publish(settings, [encode(d) for d in docs], key=key))
    asyncio.run(read_until(settings, settings.topic_verdicts, lambda f: len(f) >= 1000, 120))
    victim.send_signal(signal.SIGKILL)
    grouped = verdicts_by_event(settings, {d["event_id"] for d in docs}, timeout=240)
    assert_all_answered(settings, docs, grouped)
    assert_repeats_identical(grouped)
    assert survivor.poll() is None


def test_two_workers_one_killed_the_other_takes_over(settings: Settings, workers: Workers) -> None:
    kill_one_of_two(settings, workers, [event(f"pair-{i}") for i in range(6000)])
