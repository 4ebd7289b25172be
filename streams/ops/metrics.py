"""Prometheus metrics, served at /metrics on the worker's web port.

One prefix (`j9262_`), base units (seconds), `_total` counters, and labels
from bounded sets only: disposition, finding code/category/severity (the edit
catalog), dead-letter reason, topic and partition. No patient, claim or event
ids, ever.

Faust's own Prometheus sensor is not enabled: it reports latencies in
milliseconds, labels per-message histograms by topic and partition, and its
counters duplicate these; the few Faust internals worth watching (lag, table
sizes) are exported here, beside the client library's standard `process_*`
and `python_*` metrics.
"""

from __future__ import annotations

import bisect
import gc
import itertools
import math
import time
from collections.abc import Hashable, Iterator
from dataclasses import dataclass
from typing import Any

from prometheus_client import (
    GC_COLLECTOR,
    PLATFORM_COLLECTOR,
    PROCESS_COLLECTOR,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Info,
    disable_created_metrics,
)
from prometheus_client.core import HistogramMetricFamily
from prometheus_client.utils import floatToGoString

from streams import __version__
from streams.contract.encoding import PlainClaimVerdict
from streams.contract.models import ClaimLineEvent, LineVerdict

# Every counter and histogram would also export a `_created` series: one more series
# each, per label set, that no rule or panel reads. The switch is process-wide.
disable_created_metrics()  # type: ignore[no-untyped-call]

PREFIX = "j9262"
BATCH_BUCKETS = (1, 2, 5, 10, 25, 50, 100, 250, 500, 1000)
RULE_BUCKETS = (0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1)
PROCESSING_BUCKETS = (
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1,
    2.5,
    5,
    10,
    30,
    60,
)
HOUR, DAY = 3600, 86_400
#: A backfill replays events days or weeks old: the buckets reach a month.
EVENT_AGE_BUCKETS = (
    1,
    10,
    60,
    300,
    900,
    HOUR,
    4 * HOUR,
    12 * HOUR,
    DAY,
    2 * DAY,
    7 * DAY,
    30 * DAY,
)
GC_BUCKETS = (0.0001, 0.0005, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5)


class CollectionTimer:
    """Times every garbage collection, by generation: a collection stops the whole
    worker, so its length explains latency spikes.

    The gc callback only adds numbers to preallocated lists. It must not take a
    metric's lock: the collection may have started inside code holding that lock.
    """

    name = f"{PREFIX}_gc_pause_seconds"

    def __init__(self) -> None:
        self.counts = [[0] * (len(GC_BUCKETS) + 1) for _ in range(3)]
        self.sums = [0.0] * 3
        self.started = 0.0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self.started = time.perf_counter()
            return
        seconds = time.perf_counter() - self.started
        generation = info["generation"]
        self.counts[generation][bisect.bisect_left(GC_BUCKETS, seconds)] += 1
        self.sums[generation] += seconds

    def collect(self) -> Iterator[HistogramMetricFamily]:
        family = HistogramMetricFamily(
            self.name,
            "Garbage collections by generation; the worker does nothing else meanwhile.",
            labels=["generation"],
        )
        bounds = [*map(floatToGoString, GC_BUCKETS), "+Inf"]
        for generation, counts in enumerate(self.counts):
            buckets = list(zip(bounds, itertools.accumulate(counts), strict=True))
            family.add_metric([str(generation)], buckets, self.sums[generation])
        yield family


COLLECTIONS = CollectionTimer()
gc.callbacks.append(COLLECTIONS)


@dataclass
class _Watched:
    committed: int | None
    first_position: int
    since: float


class CommitWatch:
    """Per partition: records read but not committed, and how long that has gone
    on with the committed offset standing still.

    Lag from the high watermark says whether a worker keeps up; this says whether
    its progress is saved. A worker whose commits stall keeps reading, so its lag
    looks healthy, while every record since the last commit would be read and
    answered again after a crash or a rebalance. Fed by the gauge sampler, so the
    age is only as fine as `metrics_interval_s`.
    """

    def __init__(self) -> None:
        self._seen: dict[Hashable, _Watched] = {}

    def observe(
        self, tp: Hashable, committed: int | None, position: int, now: float
    ) -> tuple[int, float]:
        """(uncommitted records, seconds stalled) for one partition's sample.

        Stalled counts from the last sample that found the partition all
        committed or its committed offset moved, so a record read since
        then counts as if read right after it.

        Before a partition's first commit, records count from the position it
        was first sampled at: a group's start position can sit past records
        that retention removed, and those were never read.
        """
        seen = self._seen.get(tp)
        if seen is None:
            seen = self._seen[tp] = _Watched(committed, position, now)
        base = seen.first_position if committed is None else committed
        uncommitted = max(position - base, 0)
        if uncommitted == 0 or committed != seen.committed:
            seen.committed, seen.since = committed, now
        return uncommitted, now - seen.since

    def keep_only(self, tps: set[Any]) -> None:
        """Forgets partitions no longer assigned, so one that comes back starts afresh."""
        for tp in self._seen.keys() - tps:
            del self._seen[tp]


#: Seconds the forwarding hop held a line, carried on the forwarded record so the hop
#: that validates it can add its own.
HELD_HEADER = "j9262-held-seconds"


def received_at(message: Any) -> float:
    """When this worker's stream took the record (`time.monotonic()`).

    Faust's monitor stamps `time_in` as an agent's stream yields the message; the
    record's Kafka timestamp says when it was produced, not when it was received.
    """
    stamped = getattr(message, "time_in", None)
    return time.monotonic() if stamped is None else float(stamped)


def held_header(message: Any) -> tuple[str, bytes]:
    """The header that carries how long this hop has held the record so far."""
    return HELD_HEADER, f"{time.monotonic() - received_at(message):.6f}".encode()


def processing_seconds(message: Any) -> float:
    """How long the worker has held a line: this hop since receipt, plus what the
    forwarding hop recorded. Time spent waiting in Kafka between the hops is lag,
    not processing, so a backfill's backlog does not count."""
    earlier = 0.0
    for name, value in message.headers or ():
        if name == HELD_HEADER:
            try:
                earlier = float(value)
            except ValueError:
                earlier = 0.0
    if not math.isfinite(earlier) or earlier < 0:
        earlier = 0.0
    return earlier + max(time.monotonic() - received_at(message), 0.0)


class Metrics:
    def __init__(self, ruleset_version: str, reference_data_version: str) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self._children: dict[tuple[Counter, tuple[str, ...]], Counter] = {}
        for shared in (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR, COLLECTIONS):
            r.register(shared)
        self.events_consumed = Counter(
            f"{PREFIX}_events_consumed", "Records read from the claim-lines topic.", registry=r
        )
        self.verdicts = Counter(
            f"{PREFIX}_verdicts",
            "Line verdicts emitted, by disposition.",
            ["disposition"],
            registry=r,
        )
        self.findings = Counter(
            f"{PREFIX}_findings",
            "Findings in emitted verdicts; level is line or claim.",
            ["level", "code", "category", "severity"],
            registry=r,
        )
        self.dead_letters = Counter(
            f"{PREFIX}_dead_letters", "Records dead-lettered, by reason.", ["reason"], registry=r
        )
        routed = Counter(
            f"{PREFIX}_lines_routed",
            "Readable input lines, by where they were answered: `local` where they were "
            "read (keyed by patient), `forwarded` through the patient topic (keyed "
            "otherwise, or one_hop off).",
            ["route"],
            registry=r,
        )
        self.lines_local = routed.labels("local")
        self.lines_forwarded = routed.labels("forwarded")
        self.claim_verdicts = Counter(
            f"{PREFIX}_claim_verdicts",
            "Claim verdicts emitted.",
            ["disposition", "complete"],
            registry=r,
        )
        self.rule_seconds = Histogram(
            f"{PREFIX}_rule_evaluation_seconds",
            "Time to enrich and validate one line.",
            buckets=RULE_BUCKETS,
            registry=r,
        )
        self.processing_seconds = Histogram(
            f"{PREFIX}_processing_latency_seconds",
            "From the worker receiving a line to its verdict being produced, "
            "without time spent waiting in Kafka.",
            buckets=PROCESSING_BUCKETS,
            registry=r,
        )
        self.batch_records = Histogram(
            f"{PREFIX}_batch_records",
            "Records an agent took in one batch: one at a time when it is caught up, up "
            "to J9262_BATCH_SIZE from a backlog (each state is written once a batch).",
            ["agent"],
            buckets=BATCH_BUCKETS,
            registry=r,
        )
        self.event_age_seconds = Histogram(
            f"{PREFIX}_event_age_seconds",
            "From the event's event_time to its verdict being produced: high during a "
            "backfill or when producers publish late.",
            buckets=EVENT_AGE_BUCKETS,
            registry=r,
        )
        self.consumer_lag = Gauge(
            f"{PREFIX}_consumer_lag_messages",
            "Records not yet consumed, per assigned partition of an input topic.",
            ["topic", "partition"],
            registry=r,
        )
        self.uncommitted = Gauge(
            f"{PREFIX}_uncommitted_messages",
            "Records read but not yet committed, per assigned partition of an input topic: "
            "what a crash now would have the next worker read again.",
            ["topic", "partition"],
            registry=r,
        )
        self.commit_age = Gauge(
            f"{PREFIX}_commit_stalled_seconds",
            "How long a partition has held uncommitted records without its committed "
            "offset moving; 0 while commits keep up.",
            ["topic", "partition"],
            registry=r,
        )
        self.table_keys = Gauge(
            f"{PREFIX}_table_keys", "Keys held locally, per table.", ["table"], registry=r
        )
        self.table_reads = Counter(
            f"{PREFIX}_table_reads",
            "State reads per table: `cached` used the model held from a recent line "
            "(J9262_TABLE_CACHE_MB), `batch` the state an earlier line of the same "
            "batch wrote, `parsed` parsed the stored bytes.",
            ["table", "read"],
            registry=r,
        )
        self.table_writes = Counter(
            f"{PREFIX}_table_writes",
            "State writes per table: `written` went to the table and its changelog, "
            "`saved` were replaced by a later line of the same batch before that.",
            ["table", "write"],
            registry=r,
        )
        self.claims_pending = Gauge(
            f"{PREFIX}_claims_pending",
            "Local claims with no claim verdict yet: waiting for lines or for their wait to end.",
            registry=r,
        )
        self.ready = Gauge(
            f"{PREFIX}_worker_ready",
            "1 when partitions are assigned, tables recovered and the broker answered "
            "within broker_unreachable_s; read at each scrape.",
            registry=r,
        )
        self.build = Info(f"{PREFIX}_build", "Versions of this worker.", registry=r)
        self.build.info(
            {
                "version": __version__,
                "ruleset_version": ruleset_version,
                "reference_data_version": reference_data_version,
            }
        )

    def line_verdict(
        self, event: ClaimLineEvent, verdict: LineVerdict, seconds: float, processing: float
    ) -> None:
        self.rule_seconds.observe(seconds)
        self.processing_seconds.observe(processing)
        self._child(self.verdicts, str(verdict.disposition)).inc()
        for f in verdict.findings:
            self._child(self.findings, "line", f.code, str(f.category), str(f.severity)).inc()
        age = (verdict.validated_at - event.event_time).total_seconds()
        self.event_age_seconds.observe(max(age, 0.0))

    def claim_verdict(self, verdict: PlainClaimVerdict) -> None:
        complete = "true" if verdict.complete else "false"
        self._child(self.claim_verdicts, str(verdict.disposition), complete).inc()
        for f in verdict.findings:
            self._child(self.findings, "claim", f.code, str(f.category), str(f.severity)).inc()

    def _child(self, metric: Counter, *labels: str) -> Counter:
        """`metric.labels(*labels)`, looked up once: prometheus-client's `labels` checks
        and converts its arguments and takes a lock at every call (about 2% of a busy
        worker's CPU, mostly the claim verdicts' findings). Nothing here removes a
        labelled series, so a child stays the metric's."""
        key = (metric, labels)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(*labels)
        return child
