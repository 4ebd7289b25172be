"""Prometheus metrics, served at /metrics on the worker's web port.

One prefix (`j9262_`), base units (seconds), `_total` counters, and labels
from bounded sets only: disposition, finding code/category/severity (the edit
catalog), dead-letter reason, topic and partition. No patient, claim or event
ids, ever.

Faust's own Prometheus sensor is not enabled: it reports latencies in
milliseconds, labels per-message histograms by topic and partition, and its
counters duplicate these; the few Faust internals worth watching (lag, table
sizes) are exported here.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info

from streams import __version__
from streams.events import ClaimLineEvent, ClaimVerdict, LineVerdict

PREFIX = "j9262"
RULE_BUCKETS = (0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1)
LATENCY_BUCKETS = (
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
    300,
    900,
    3600,
)


class Metrics:
    def __init__(self, ruleset_version: str, reference_data_version: str) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
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
        self.latency_seconds = Histogram(
            f"{PREFIX}_end_to_end_latency_seconds",
            "From the event's event_time to its verdict being produced.",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.consumer_lag = Gauge(
            f"{PREFIX}_consumer_lag_messages",
            "Records not yet consumed, per assigned partition of an input topic.",
            ["topic", "partition"],
            registry=r,
        )
        self.table_keys = Gauge(
            f"{PREFIX}_table_keys", "Keys held locally, per table.", ["table"], registry=r
        )
        self.claims_pending = Gauge(
            f"{PREFIX}_claims_pending", "Local claims waiting for lines or expiry.", registry=r
        )
        self.ready = Gauge(
            f"{PREFIX}_worker_ready",
            "1 when partitions are assigned and tables recovered.",
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

    def line_verdict(self, event: ClaimLineEvent, verdict: LineVerdict, seconds: float) -> None:
        self.rule_seconds.observe(seconds)
        self.verdicts.labels(verdict.disposition.value).inc()
        for f in verdict.findings:
            self.findings.labels("line", f.code, f.category.value, f.severity.value).inc()
        lag = (verdict.validated_at - event.event_time).total_seconds()
        self.latency_seconds.observe(max(lag, 0.0))

    def claim_verdict(self, verdict: ClaimVerdict) -> None:
        self.claim_verdicts.labels(verdict.disposition.value, str(verdict.complete).lower()).inc()
        for f in verdict.findings:
            self.findings.labels("claim", f.code, f.category.value, f.severity.value).inc()
