"""The worker's metrics: processing latency and event age apart, no `_created` series,
pending claims, and the process, runtime and collection metrics."""

from __future__ import annotations

import asyncio
import gc
import time
from datetime import UTC, datetime, timedelta

import pytest
from faust.types.tuples import Message
from prometheus_client import generate_latest
from prometheus_client.openmetrics.exposition import generate_latest as generate_openmetrics

from streams.contract.models import DeadLetterReason
from streams.ops.metrics import (
    DAY,
    GC_BUCKETS,
    HELD_HEADER,
    CommitWatch,
    Metrics,
    held_header,
    processing_seconds,
)
from streams.settings import Settings
from streams.stream.agents import DeadlineIndex
from streams.validation.validator import Validator
from tests.conftest import claim_with_line, make_event
from tests.stream.test_agents import stored


def message(
    time_in: float | None, headers: list[tuple[str, bytes]] | None = None, produced: float = 0.0
) -> Message:
    """A record as Faust hands it to an agent, stamped when its stream took it."""
    return Message("t", 0, 0, produced, 0, headers, b"k", b"v", None, time_in=time_in)


def test_a_backfilled_line_is_old_but_not_slow(validator: Validator) -> None:
    """A line from three days ago validated in 20 ms: its age is days, its processing is not."""
    metrics = Metrics("r", "d")
    event = make_event("old", event_time=(datetime.now(UTC) - timedelta(days=3)).isoformat())
    metrics.line_verdict(event, validator.validate(event), 0.001, 0.02)

    def bucket(name: str, le: float) -> float | None:
        return metrics.registry.get_sample_value(f"j9262_{name}_bucket", {"le": str(float(le))})

    assert bucket("processing_latency_seconds", 0.01) == 0
    assert bucket("processing_latency_seconds", 0.025) == 1
    assert bucket("event_age_seconds", 2 * DAY) == 0
    assert bucket("event_age_seconds", 7 * DAY) == 1
    assert metrics.registry.get_sample_value("j9262_event_age_seconds_count") == 1


def test_verdicts_and_findings_count_by_their_labels_line_after_line(
    validator: Validator,
) -> None:
    """Each labelled series is looked up once and kept: counts still add up per label."""
    metrics = Metrics("r", "d")
    clean = validator.validate(make_event("clean"))
    flawed = validator.validate(make_event("flawed", line={"units": 3.5}))
    assert clean.disposition != flawed.disposition and flawed.findings
    for verdict, event in ((clean, "clean"), (flawed, "flawed"), (flawed, "flawed-again")):
        metrics.line_verdict(make_event(event), verdict, 0.001, 0.001)
    claim = validator.answer_claim(claim_with_line(validator, make_event("claim")))
    assert claim.findings  # a J9262 line with no administration code
    metrics.claim_verdict(claim)
    metrics.claim_verdict(claim)

    def count(name: str, **labels: str) -> float | None:
        return metrics.registry.get_sample_value(f"j9262_{name}_total", labels)

    assert count("verdicts", disposition=str(clean.disposition)) == 1
    assert count("verdicts", disposition=str(flawed.disposition)) == 2
    for f in flawed.findings:
        line = {"code": f.code, "category": str(f.category), "severity": str(f.severity)}
        assert count("findings", level="line", **line) == 2
    complete = "true" if claim.complete else "false"
    assert count("claim_verdicts", disposition=str(claim.disposition), complete=complete) == 2
    for f in claim.findings:
        labels = {"code": f.code, "category": str(f.category), "severity": str(f.severity)}
        assert count("findings", level="claim", **labels) == 2


def test_processing_counts_from_receipt_plus_the_forwarding_hops_share() -> None:
    """The first hop hands on how long it held the line; the time the forwarded
    record waits in Kafka is lag, so it is not added."""
    before = time.monotonic()
    first = message(time_in=before - 1.0)
    name, value = held_header(first)
    assert name == HELD_HEADER
    held = float(value)
    assert 1.0 <= held <= time.monotonic() - before + 1.0

    # The forwarded record was produced an hour before the second hop's stream took it.
    received = time.monotonic()
    headers = [("j9262-source-topic", b"t"), (name, value)]
    second = message(time_in=received, headers=headers, produced=time.time() - 3600)
    seconds = processing_seconds(second)
    assert held <= seconds <= held + (time.monotonic() - received)


@pytest.mark.parametrize("value", [b"nan", b"inf", b"-5", b"soon", b""])
def test_an_unusable_held_header_adds_nothing(value: bytes) -> None:
    received = time.monotonic()
    seconds = processing_seconds(message(received, [(HELD_HEADER, value)]))
    assert 0 <= seconds <= time.monotonic() - received


def test_a_record_without_a_receipt_stamp_counts_from_now() -> None:
    before = time.monotonic()
    seconds = processing_seconds(message(time_in=None))
    assert 0 <= seconds <= time.monotonic() - before


def test_a_scrape_has_no_created_series(validator: Validator) -> None:
    metrics = Metrics("r", "d")
    event = make_event("created")
    verdict = validator.validate(event)
    metrics.line_verdict(event, verdict, 0.001, 0.01)
    metrics.events_consumed.inc()
    metrics.dead_letters.labels(DeadLetterReason.INTERNAL_ERROR.value).inc()
    state = claim_with_line(validator, make_event("created", claim={"total_lines": 1}))
    metrics.claim_verdict(validator.answer_claim(state))
    for text in (generate_latest(metrics.registry), generate_openmetrics(metrics.registry)):
        lines = text.decode().splitlines()
        assert any(line.startswith("j9262_verdicts_total") for line in lines)
        assert any(line.startswith("j9262_processing_latency_seconds_count") for line in lines)
        assert [line for line in lines if "_created" in line] == []


def test_pending_claims_are_those_without_a_claim_verdict(validator: Validator) -> None:
    index = DeadlineIndex(Settings(_env_file=None))
    waiting = claim_with_line(validator, make_event("waiting", claim={"total_lines": 2}))
    done = claim_with_line(validator, make_event("done", claim={"total_lines": 1}))
    done = done.with_verdict(validator.answer_claim(done))
    for state in (waiting, done):
        index.note(state.claim_id, state)
    # Both are held (the answered one for lookups until its retention ends); one waits.
    assert set(index.due) == {waiting.claim_id, done.claim_id}
    assert index.waiting == {waiting.claim_id}

    asyncio.run(index.rebuild(stored(waiting, done)))
    assert index.waiting == {waiting.claim_id}

    answered = waiting.with_verdict(validator.answer_claim(waiting))
    index.note(answered.claim_id, answered)
    assert index.waiting == set()
    index.note(waiting.claim_id, waiting)
    index.forget(waiting.claim_id)
    assert index.waiting == set() and waiting.claim_id not in index.due


def test_process_and_runtime_metrics_are_exported() -> None:
    names = {family.name for family in Metrics("r", "d").registry.collect()}
    assert {
        "process_resident_memory_bytes",
        "process_cpu_seconds",
        "python_gc_collections",
        "python_info",
    } <= names


def test_each_collection_is_timed_under_its_generation() -> None:
    registry = Metrics("r", "d").registry

    def count(generation: str) -> float:
        value = registry.get_sample_value(
            "j9262_gc_pause_seconds_count", {"generation": generation}
        )
        assert value is not None
        return value

    before = [count(g) for g in "012"]
    gc.collect(2)
    gc.collect(0)
    after = [count(g) for g in "012"]
    assert after[2] >= before[2] + 1
    assert after[0] >= before[0] + 1
    assert registry.get_sample_value("j9262_gc_pause_seconds_sum", {"generation": "2"}) > 0


def test_pause_buckets_are_cumulative_and_end_at_the_count() -> None:
    registry = Metrics("r", "d").registry
    gc.collect()
    buckets = [
        registry.get_sample_value("j9262_gc_pause_seconds_bucket", {"generation": "2", "le": le})
        for le in [*(str(float(b)) for b in GC_BUCKETS), "+Inf"]
    ]
    assert None not in buckets
    assert buckets == sorted(buckets)
    assert buckets[-1] == registry.get_sample_value(
        "j9262_gc_pause_seconds_count", {"generation": "2"}
    )


def test_a_partition_whose_commits_keep_up_has_not_stalled() -> None:
    watch = CommitWatch()
    assert watch.observe("p0", committed=100, position=100, now=0.0) == (0, 0.0)
    assert watch.observe("p0", committed=100, position=100, now=60.0) == (0, 0.0)
    # Under a steady flow some records are always uncommitted, but the commit moves.
    # Records read since the last sample may have come any time after it.
    assert watch.observe("p0", committed=100, position=140, now=61.0) == (40, 1.0)
    assert watch.observe("p0", committed=130, position=170, now=62.0) == (40, 0.0)
    assert watch.observe("p0", committed=170, position=200, now=63.0) == (30, 0.0)


def test_a_partition_reading_without_committing_counts_how_long() -> None:
    watch = CommitWatch()
    watch.observe("p0", committed=100, position=100, now=0.0)
    assert watch.observe("p0", committed=100, position=150, now=5.0) == (50, 5.0)
    assert watch.observe("p0", committed=100, position=220, now=10.0) == (120, 10.0)
    assert watch.observe("p0", committed=100, position=220, now=95.0) == (120, 95.0)
    assert watch.observe("p0", committed=220, position=220, now=100.0) == (0, 0.0)


def test_before_its_first_commit_a_partition_counts_from_where_it_was_first_seen() -> None:
    watch = CommitWatch()
    assert watch.observe("p0", committed=None, position=5000, now=0.0) == (0, 0.0)
    assert watch.observe("p0", committed=None, position=5000, now=600.0) == (0, 0.0)
    assert watch.observe("p0", committed=None, position=5010, now=605.0) == (10, 5.0)
    assert watch.observe("p0", committed=None, position=5010, now=610.0) == (10, 10.0)
    assert watch.observe("p0", committed=5010, position=5010, now=615.0) == (0, 0.0)


def test_a_partition_given_back_starts_afresh() -> None:
    watch = CommitWatch()
    watch.observe("p0", committed=100, position=150, now=0.0)
    watch.observe("p1", committed=7, position=9, now=0.0)
    watch.keep_only({"p1"})
    assert watch.observe("p0", committed=100, position=150, now=500.0) == (50, 0.0)
    assert watch.observe("p1", committed=7, position=9, now=500.0) == (2, 500.0)
