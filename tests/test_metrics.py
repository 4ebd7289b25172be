"""The worker's metrics beyond its own counters: process, runtime and collections."""

from __future__ import annotations

import gc

from streams.metrics import GC_BUCKETS, CommitWatch, Metrics


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
