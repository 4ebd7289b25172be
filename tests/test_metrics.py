"""The worker's metrics beyond its own counters: process, runtime and collections."""

from __future__ import annotations

import gc

from streams.metrics import GC_BUCKETS, Metrics


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
