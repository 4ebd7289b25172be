"""A running worker's /metrics during a backfill: event age shows days, processing does
not; no `_created` series; claims_pending counts only the claims still waiting."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client.utils import floatToGoString

from streams.ops.metrics import DAY, EVENT_AGE_BUCKETS, PROCESSING_BUCKETS
from streams.samples import claim
from streams.settings import Settings
from streams.stream.kafka.clients import Samples, scrape_metrics
from tests.integration.conftest import Workers, publish_and_wait

pytestmark = pytest.mark.integration


def bucket(samples: Samples, name: str, le: float) -> float:
    return samples[f"j9262_{name}_bucket"][(("le", floatToGoString(le)),)]


def test_a_backfill_is_old_but_not_slow(settings: Settings, workers: Workers) -> None:
    three_days_ago = (datetime.now(UTC) - timedelta(days=3)).isoformat()
    complete = [
        doc for i in range(5) for doc in claim(f"old-{i}", {}, {}, event_time=three_days_ago)
    ]
    # Line 1 of 2: its claim waits for line 2 (the wait is longer than this test).
    waiting = claim("old-waiting", {}, {}, event_time=three_days_ago)[:1]
    workers.start(metrics_interval_s=0.3, claim_wait_s=3600)

    started = time.monotonic()
    verdicts = publish_and_wait(settings, complete + waiting)
    lines = len(complete + waiting)
    assert len({v["event_id"] for v in verdicts}) == lines

    deadline = time.monotonic() + 30
    while True:
        samples = scrape_metrics(settings)
        claims_held = samples.get("j9262_table_keys", {}).get((("table", "claims"),))
        if claims_held == 6 and samples["j9262_claims_pending"][()] == 1:
            break
        assert time.monotonic() < deadline, (claims_held, samples["j9262_claims_pending"])
        time.sleep(0.3)
    elapsed = time.monotonic() - started

    assert [name for name in samples if name.endswith("_created")] == []

    # Every line is older than two days at its verdict ...
    age_count = samples["j9262_event_age_seconds_count"][()]
    assert age_count >= lines
    assert bucket(samples, "event_age_seconds", 2 * DAY) == 0
    assert bucket(samples, "event_age_seconds", EVENT_AGE_BUCKETS[-1]) == age_count
    # ... but none was held by the worker for longer than this test has run.
    processing_count = samples["j9262_processing_latency_seconds_count"][()]
    assert processing_count == age_count
    assert samples["j9262_processing_latency_seconds_sum"][()] <= processing_count * elapsed
    within = [b for b in PROCESSING_BUCKETS if b >= elapsed]
    if within:
        assert bucket(samples, "processing_latency_seconds", within[0]) == processing_count
