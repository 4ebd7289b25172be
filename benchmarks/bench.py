"""The benchmark behind BENCHMARKS.md: one broker, one mix of events, one run.

    .venv/bin/python benchmarks/bench.py [--quick] [--json results.json]

Measures, against the embedded broker: the validator's throughput beside a plain
aiokafka consume-decode-produce loop on the same events (the ratio is the
figure to compare across machines), and beside the same loop as a plain Faust
agent, the ceiling for one Faust hop; end-to-end latency at half the
validator's maximum rate (three runs, one in quick mode), beside a plain
aiokafka relay of the worker's two hops under the same load (what the broker
alone adds), and once more after 12,000 lines, for a worker holding state;
`j9262 validate` on one core, beside decoding alone, with the bundled reference
data and with a 10,000-row crosswalk; a worker's peak RSS with that crosswalk
loaded; and throughput with one and two workers, and the validator on
asyncio's own event loop instead of uvloop. Worker throughput runs publish
keyed by patient id, as the contract recommends (lines answered in one hop),
and one more is keyed by claim id (about three lines in four forwarded:
two hops; the rest land on their patient's partition by chance). Worker runs
also report the worker's CPU per line and the share of lines answered in one
hop, read from its own /metrics.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import io
import itertools
import json
import os
import platform
import re
import subprocess
import sys
import sysconfig
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from streams import refdata
from streams.cli.demo import start_worker, stop_process, worker_env
from streams.contract.decoding import decode
from streams.contract.models import ClaimLineEvent
from streams.offline.runner import run as validate_offline
from streams.refdata.importers import import_crosswalk
from streams.samples import demo_sample, encode, event
from streams.settings import Settings, isolated
from streams.stream.agents import DeadlineIndex
from streams.stream.kafka.clients import (
    committed_offsets,
    ensure_topics,
    follow,
    key_of,
    patient_key_of,
    publish,
    scrape_metrics,
)
from streams.stream.kafka.embedded import EmbeddedBroker, free_port
from streams.stream.tables import ModelTable
from streams.stream.topics import CLAIM_LINES, PATIENT_LINES, internal_name
from streams.validation.answer import ClaimMessage, add_to_claim
from streams.validation.rollup import ClaimState
from streams.validation.validator import Validator


def mix(count: int, *, now: bool = False, tag: str = "") -> list[bytes]:
    """The demo sample's kinds of lines, made unique per copy; malformed ones kept as is."""
    return list(itertools.islice(iter_mix(now=now, tag=tag), count))


def iter_mix(*, now: bool = False, tag: str = "", patients: int = 2000) -> Iterator[bytes]:
    """`mix`, endless and one line at a time, for files larger than memory;
    `patients` copies of each patient id of the sample (times 7)."""
    base = demo_sample()
    position = 0
    for copy in itertools.count():
        for raw in base:
            position += 1
            try:
                doc = orjson.loads(raw)
            except orjson.JSONDecodeError:
                yield raw
                continue
            if not isinstance(doc, dict) or "claim" not in doc:
                yield raw
                continue
            doc["event_id"] = f"{tag}{doc.get('event_id')}-{copy}"
            claim = doc["claim"]
            claim["claim_id"] = f"{tag}{claim.get('claim_id')}-{copy}"
            claim.get("patient", {})["patient_id"] = f"P-{copy % patients}-{(position - 1) % 7}"
            if now:
                stamped = datetime.now(UTC)
                sent = datetime.fromisoformat(doc["event_time"]).date()
                line = doc.get("line", {})
                if isinstance(line.get("service_date"), str):
                    with contextlib.suppress(ValueError):  # the malformed dates stay
                        served = date.fromisoformat(line["service_date"])
                        line["service_date"] = (served + (stamped.date() - sent)).isoformat()
                doc["event_time"] = stamped.isoformat()
            yield orjson.dumps(doc)


def long_histories(patients: int, days: int = 90) -> list[bytes]:
    """Patients on treatment: each billed J9262 twice a day (two claims) for `days`
    days, so every line meets a history of up to 90 days (the duplicate window)."""
    out = []
    for day_number in range(days):
        day = (date(2026, 1, 1) + timedelta(days=day_number)).isoformat()
        for p in range(patients):
            for dose in (1, 2):
                name = f"long-{p}-{day}-{dose}"
                doc = event(
                    name,
                    claim={"patient": {"patient_id": f"P-long-{p}"}, "total_lines": 1},
                    line={"service_date": day},
                    event_time=f"{day}T22:00:00Z",
                )
                out.append(encode(doc))
    return out


def settings_for(broker: EmbeddedBroker, tmp: Path, run: str, **extra: Any) -> Settings:
    return isolated(broker.url, f"bench-{run}", tmp / run, free_port(), **extra)


class Unanswered(Exception):
    """Not every record had its verdict or dead letter before the timeout."""

    def __init__(self, answered: int, expected: int, timeout: float) -> None:
        super().__init__(f"{answered} of {expected} records answered in {timeout:.0f} s")
        self.lag: dict[str, Any] = {}


STEADY = (0.25, 0.75)
"""The share of a backlog's answers between which a run counts as steady: every
worker has its partitions by the first mark and none has run dry before the second.
With one worker of two starting a second late, the other runs dry a second early,
and that last second holds about a sixth of a 20,000-line backlog's answers."""


async def count_answers(
    settings: Settings,
    total: int,
    timeout: float,
    on_first: Callable[[], None] = lambda: None,
    marks: dict[int, float] | None = None,
) -> tuple[float, float]:
    """(first, last) arrival time of `total` verdicts and dead letters; `on_first` runs
    when the first one arrives. `marks`, when given, gets the arrival time of the
    answers at the STEADY shares of `total`, by their count."""
    first = last = 0.0
    seen = 0
    topics = [settings.topic_verdicts, settings.topic_dead_letters]
    at = {max(1, round(share * total)) for share in STEADY}

    async def read() -> None:
        nonlocal first, last, seen
        async for _ in follow(settings, topics, from_beginning=True):
            seen += 1
            last = time.perf_counter()
            if seen == 1:
                first = last
                on_first()
            if marks is not None and seen in at:
                marks[seen] = last
            if seen >= total:
                return

    try:
        await asyncio.wait_for(read(), timeout)
    except TimeoutError:
        raise Unanswered(seen, total, timeout) from None
    return first, last


class Throughput(NamedTuple):
    per_s: float
    cpu_ms_per_line: float
    """Worker CPU (all workers together) from the first answer to the last, per line."""
    broker_cpu_ms_per_line: float = float("nan")
    """The broker's CPU over the same span, per line (`broker_cpu`)."""
    reader_cpu_ms_per_line: float = float("nan")
    """This process's CPU over the same span, per line: the reader counting answers,
    the third party on the machine's cores."""
    machine_cpu_ms_per_line: float = float("nan")
    """Every core's busy time over the same span, per line (`machine_busy`): beyond
    the three above, what anything else on the host took (on a VM, steal included)."""
    workers: int = 1
    local_share: float = float("nan")
    """Lines answered where they were read (one hop), of all lines routed."""
    steady_per_s: float = float("nan")
    """Lines per second between the STEADY shares of the answers: without the start,
    where one worker of several may hold its partitions a second before the others
    (the embedded broker's group sync, docs/performance/scaling.md), nor the drain."""
    assignment_offset_s: float = float("nan")
    """Seconds between the first and the last worker getting partitions (0 for one
    worker): a whole second when the embedded broker made a follower wait
    (`assignment_offset`)."""

    def figures(self, name: str) -> dict[str, float]:
        """The run's entries in results.json, under `name`."""
        return {
            f"{name}_per_s": self.per_s,
            f"{name}_cpu_ms_per_line": self.cpu_ms_per_line,
            f"{name}_broker_cpu_ms_per_line": self.broker_cpu_ms_per_line,
            f"{name}_reader_cpu_ms_per_line": self.reader_cpu_ms_per_line,
            f"{name}_machine_cpu_ms_per_line": self.machine_cpu_ms_per_line,
            f"{name}_local_share": self.local_share,
            f"{name}_steady_per_s": self.steady_per_s,
            f"{name}_assignment_offset_s": self.assignment_offset_s,
        }


def validator_rate(
    broker: EmbeddedBroker,
    tmp: Path,
    records: list[bytes],
    run: str,
    *,
    workers: int = 1,
    partitions: int = 4,
    key: Callable[[bytes], bytes | None] = patient_key_of,
    formed: bool = False,
    **extra: Any,
) -> Throughput:
    """Lines per second from a backlog: `records` are published, keyed by `key`
    (patient id: one hop), before the workers start. With `formed`, they are published
    once every worker holds its partitions (`wait_assigned`), as fast as the broker
    takes them: a group whose members the embedded broker assigned a second apart
    (`assignment_offset`) is then measured as the running group it becomes, which is
    how a Kafka deployment's workers meet their load. The publishing shares this
    process, so it counts in the reader's CPU, and on a host this small it takes a
    share of the workers' cores (docs/performance/scaling.md)."""
    settings = settings_for(broker, tmp, run, topic_partitions=partitions, **extra)
    asyncio.run(
        ensure_topics(
            settings, [settings.topic_lines, settings.topic_verdicts, settings.topic_dead_letters]
        )
    )
    if not formed:
        asyncio.run(publish(settings, records, key=key))
    procs, each, logs = [], [], []
    for i in range(workers):
        s = settings.model_copy(update={"web_port": free_port()}) if i else settings
        each.append(
            Settings(
                _env_file=None, **s.model_dump(include=settings.model_fields_set | {"web_port"})
            )
        )
        logs.append(tmp / f"{run}-{i}.log")
        procs.append(start_worker(worker_env(each[-1]), logs[-1]))

    brokers = broker_cpu(broker)

    def cpu() -> tuple[float, float, float, float]:
        """(workers, broker, this process, every core) CPU seconds so far."""
        workers = sum(worker_totals(s)["cpu_s"] for s in each)
        return workers, brokers(), time.process_time(), machine_busy()

    at_first: list[tuple[float, float, float, float]] = []
    marks: dict[int, float] = {}

    async def answered() -> tuple[float, float]:
        counting = asyncio.create_task(
            count_answers(settings, len(records), 600, lambda: at_first.append(cpu()), marks)
        )
        if formed:
            await publish(settings, records, key=key)
        return await counting

    try:
        if formed:
            wait_assigned(logs, procs)
        first, last = asyncio.run(answered())
        used = [b - a for a, b in zip(at_first[0], cpu(), strict=True)]
        local, forwarded = map(sum, zip(*(routed(s) for s in each), strict=True))
    except Unanswered as exc:
        exc.lag = {f"worker {i}": lag(s) for i, s in enumerate(each)}
        raise
    finally:
        for p in procs:
            stop_process(p)
    per_line = [1000 * u / len(records) for u in used]
    return Throughput(
        len(records) / (last - first),
        *per_line,
        workers=workers,
        local_share=local / max(local + forwarded, 1),
        steady_per_s=steady_rate(marks),
        assignment_offset_s=assignment_offset(logs),
    )


_ASSIGNED = re.compile(
    rb"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) INFO"
    rb" \[aiokafka\.consumer\.group_coordinator\] Setting newly assigned partitions",
    re.M,
)


def _assignments(log: Path) -> list[bytes]:
    """The times a worker's log says it got partitions, oldest first ([] before any)."""
    return _ASSIGNED.findall(log.read_bytes()) if log.exists() else []


def wait_assigned(
    logs: list[Path], procs: Sequence[subprocess.Popen[bytes]], settle: float = 2.0
) -> None:
    """Until every worker's log says it got partitions and no log has said so again for
    `settle` seconds (a member that joined late makes the group assign once more)."""
    deadline = time.monotonic() + 120
    seen, since = -1, time.monotonic()
    while time.monotonic() < deadline:
        if any(p.poll() is not None for p in procs):
            raise RuntimeError(f"a worker exited before it got partitions: {logs}")
        counts = [len(_assignments(log)) for log in logs]
        if sum(counts) != seen:
            seen, since = sum(counts), time.monotonic()
        elif all(counts) and time.monotonic() - since >= settle:
            return
        time.sleep(0.2)
    raise RuntimeError(f"the workers did not all get partitions in 120 s: {logs}")


def assignment_offset(logs: list[Path]) -> float:
    """Seconds between the workers' first partition assignments, from their logs (NaN
    when a log has none). The embedded broker answers a follower's SyncGroup that comes
    before the leader's on its next whole second (docs/performance/scaling.md), so a
    two-worker run reads 0.0x or 1.0x s; Kafka answers it when the leader's arrives."""
    each = [_assignments(log) for log in logs]
    if not all(each):
        return float("nan")
    stamps = [datetime.strptime(times[0].decode(), "%Y-%m-%d %H:%M:%S,%f") for times in each]
    return (max(stamps) - min(stamps)).total_seconds()


def steady_rate(marks: dict[int, float]) -> float:
    """Answers a second between the two STEADY marks (NaN for a backlog too small to
    have two, or marks read in the same instant)."""
    if len(marks) < 2:
        return float("nan")
    (n1, t1), (n2, t2) = sorted(marks.items())[:2]
    return (n2 - n1) / (t2 - t1) if t2 > t1 else float("nan")


def routed(settings: Settings) -> tuple[float, float]:
    """A worker's count of lines answered in one hop, and of lines forwarded."""
    series = scrape_metrics(settings).get("j9262_lines_routed_total", {})
    return series.get((("route", "local"),), 0.0), series.get((("route", "forwarded"),), 0.0)


def lag(settings: Settings) -> dict[str, float]:
    """A worker's own count of unread records per assigned input partition."""
    try:
        samples = scrape_metrics(settings)
    except OSError as exc:
        return {"unreachable": str(exc)}  # type: ignore[dict-item]
    gauge = samples.get("j9262_consumer_lag_messages", {})
    return {f"{dict(k)['topic']}/{dict(k)['partition']}": v for k, v in gauge.items()}


def record_key(raw: bytes) -> str | bytes:
    """What ties an input record to its answer: its event_id, or its bytes if it has none."""
    doc = _json_or_none(raw)
    event_id = doc.get("event_id") if isinstance(doc, dict) else None
    return event_id if isinstance(event_id, str) else raw


async def trace_missing(settings: Settings, records: list[bytes]) -> dict[str, Any]:
    """Which records have no answer, and how far along the path each one got: on the
    input topic, forwarded to patient-lines, and what the group committed."""

    async def keys(topic: str, key: Callable[[bytes], Any]) -> tuple[Counter[Any], dict[int, int]]:
        found: Counter[Any] = Counter()
        ends: dict[int, int] = {}
        async for r in follow(settings, [topic], idle_timeout=3):
            found[key(r.value)] += 1
            ends[r.partition] = max(ends.get(r.partition, 0), r.offset + 1)
        return found, ends

    def answered_by(value: bytes) -> Any:
        doc = _json_or_none(value) or {}
        if "payload_base64" in doc:
            return record_key(base64.b64decode(doc["payload_base64"]))
        return doc.get("event_id")

    answered: Counter[Any] = Counter()
    for topic in (settings.topic_verdicts, settings.topic_dead_letters):
        answered += (await keys(topic, answered_by))[0]
    missing = Counter(record_key(r) for r in records) - answered
    report: dict[str, Any] = {"missing": missing.total(), "examples": [str(k) for k in missing][:5]}
    if not missing:
        return report
    for topic in (settings.topic_lines, internal_name(settings, PATIENT_LINES)):
        found, ends = await keys(topic, record_key)
        committed = await committed_offsets(settings, topic, sorted(ends))
        report[topic] = {
            "missing_found_here": (found & missing).total(),
            "committed/next offset": {p: f"{committed[p]}/{ends[p]}" for p in ends},
        }
    return report


async def raw_loop(broker: EmbeddedBroker, records: list[bytes], run: str) -> float:
    """The yardstick: consume, decode the JSON, produce a small record per event."""
    topic, out = f"raw-in-{run}", f"raw-out-{run}"
    settings = Settings(_env_file=None, broker_url=broker.url, topic_lines=topic)
    await ensure_topics(settings, [topic, out])
    await publish(settings, records, topic=topic)
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=broker.bootstrap,
        group_id=f"raw-{run}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap, linger_ms=2)
    await consumer.start()
    await producer.start()
    done = 0
    first = 0.0
    try:
        while done < len(records):
            batches = await consumer.getmany(timeout_ms=500, max_records=500)
            for messages in batches.values():
                if not first:
                    first = time.perf_counter()
                for m in messages:
                    try:
                        doc = orjson.loads(m.value)
                        event_id = doc.get("event_id") if isinstance(doc, dict) else None
                    except orjson.JSONDecodeError:
                        event_id = None
                    await producer.send(out, key=m.key, value=orjson.dumps({"e": event_id}))
                    done += 1
            await consumer.commit()
        await producer.flush()
        return len(records) / (time.perf_counter() - first)
    finally:
        await consumer.stop()
        await producer.stop()


def raw_confluent_loop(broker: EmbeddedBroker, records: list[bytes], run: str) -> float:
    """The raw loop's work on confluent-kafka (librdkafka) instead of aiokafka: what the
    other Kafka client sets as a ceiling on the same broker (docs/adr/0006)."""
    from confluent_kafka import Consumer, Producer

    topic, out = f"rawc-in-{run}", f"rawc-out-{run}"
    settings = Settings(_env_file=None, broker_url=broker.url)
    asyncio.run(ensure_topics(settings, [topic, out]))
    asyncio.run(publish(settings, records, topic=topic))
    consumer = Consumer(
        {
            "bootstrap.servers": broker.bootstrap,
            "group.id": f"rawc-{run}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    producer = Producer({"bootstrap.servers": broker.bootstrap, "linger.ms": 2})
    consumer.subscribe([topic])
    done = 0
    first = 0.0
    try:
        while done < len(records):
            messages = consumer.consume(num_messages=500, timeout=0.5)
            if messages and not first:
                first = time.perf_counter()
            for m in messages:
                if m.error():
                    continue
                try:
                    doc = orjson.loads(m.value() or b"")
                    event_id = doc.get("event_id") if isinstance(doc, dict) else None
                except orjson.JSONDecodeError:
                    event_id = None
                producer.produce(out, key=m.key(), value=orjson.dumps({"e": event_id}))
                producer.poll(0)
                done += 1
            if messages:
                consumer.commit(asynchronous=False)
        producer.flush()
        return len(records) / (time.perf_counter() - first)
    finally:
        consumer.close()


def faust_passthrough_rate(
    broker: EmbeddedBroker,
    tmp: Path,
    records: list[bytes],
    mode: str,
    loop: str = "asyncio",
    *,
    driver: str = "kafka",
    deadline_s: float = 300,
) -> float:
    """The same work as the raw loop in a plain Faust agent (benchmarks/passthrough.py),
    on Faust's `kafka://` (aiokafka) or `confluent://` (librdkafka) transport."""
    # Fresh topics (and so a fresh consumer group, named after the input) each run: a
    # second run on the same names counted the first run's output and read from its offsets.
    run = uuid.uuid4().hex[:8]
    name = f"{mode}-{loop}" if driver == "kafka" else f"{mode}-{loop}-{driver}"
    topic, out = f"pass-in-{name}-{run}", f"pass-out-{name}-{run}"
    settings = Settings(_env_file=None, broker_url=broker.url)
    asyncio.run(ensure_topics(settings, [topic, out]))
    asyncio.run(publish(settings, records, topic=topic))
    env = dict(
        os.environ,
        BENCH_BROKER=broker.bootstrap,
        BENCH_IN=topic,
        BENCH_OUT=out,
        BENCH_MODE=mode,
        BENCH_LOOP=loop,
        BENCH_DRIVER=driver,
    )
    script = Path(__file__).with_name("passthrough.py")
    with (tmp / f"pass-{name}.log").open("ab") as log:
        proc = subprocess.Popen(
            [sys.executable, str(script), "worker", "-l", "warn", "--without-web"],
            env=env,
            cwd=tmp,
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    async def arrivals() -> tuple[float, float]:
        first = last = 0.0
        seen = 0
        async for _ in follow(settings, [out], from_beginning=True):
            seen += 1
            last = time.perf_counter()
            first = first or last
            if seen >= len(records):
                break
        return first, last

    try:
        first, last = asyncio.run(asyncio.wait_for(arrivals(), deadline_s))
    finally:
        stop_process(proc)
    return len(records) / (last - first)


def driver_comparison(
    broker: EmbeddedBroker, tmp: Path, records: list[bytes], repeats: int
) -> dict[str, Any]:
    """Faust's two Kafka drivers beside the two clients' raw loops, interleaved so each
    figure sees the same broker and the same load from the rest of the host; every run
    is kept (`runs`), with the median and the spread (docs/adr/0006)."""
    figures: dict[str, Callable[[str], float]] = {
        "raw_aiokafka": lambda run: asyncio.run(raw_loop(broker, records, f"d{run}")),
        "raw_confluent": lambda run: raw_confluent_loop(broker, records, run),
        "faust_kafka": lambda run: faust_passthrough_rate(broker, tmp, records, "event"),
        # On confluent:// no record came through in any trial (docs/adr/0006): a shorter
        # deadline keeps the three failed runs from costing fifteen minutes.
        "faust_confluent": lambda run: faust_passthrough_rate(
            broker, tmp, records, "event", driver="confluent", deadline_s=90
        ),
    }
    runs: dict[str, list[float | str]] = {name: [] for name in figures}
    for i in range(repeats):
        for name, measure in figures.items():
            try:
                runs[name].append(round(measure(f"{name}-{i}"), 1))
            except Exception as exc:  # recorded, so the other figures still count
                runs[name].append(f"{type(exc).__name__}: {exc}")
    report: dict[str, Any] = {"runs": runs}
    for name, each in runs.items():
        rates = sorted(r for r in each if isinstance(r, float))
        if rates:
            report[name] = {
                "median_per_s": rates[len(rates) // 2],
                "min_per_s": rates[0],
                "max_per_s": rates[-1],
            }
    raw = report.get("raw_aiokafka", {}).get("median_per_s")
    for name in ("raw_confluent", "faust_kafka", "faust_confluent"):
        if raw and name in report:
            report[name]["ratio_to_raw_aiokafka"] = round(report[name]["median_per_s"] / raw, 4)
    return report


def caught_up(settings: Settings, timeout: float) -> None:
    """Waits until the worker reports no lag on any input, internal topics included, on
    two samples in a row: the last verdicts come out before the claim roll-up is done."""
    deadline = time.monotonic() + timeout
    idle = 0
    while idle < 2 and time.monotonic() < deadline:
        time.sleep(settings.metrics_interval_s)
        lags = list(scrape_metrics(settings).get("j9262_consumer_lag_messages", {}).values())
        idle = idle + 1 if lags and not any(lags) else 0


def worker_totals(settings: Settings) -> dict[str, float]:
    """The worker's CPU seconds and garbage collections so far: full ones, and time in
    all of them."""
    samples = scrape_metrics(settings)
    count, total = samples["j9262_gc_pause_seconds_count"], samples["j9262_gc_pause_seconds_sum"]
    full = (("generation", "2"),)
    return {
        "cpu_s": samples["process_cpu_seconds_total"][()],
        "full": count[full],
        "full_s": total[full],
        "all_s": sum(total.values()),
    }


def _json_or_none(raw: bytes) -> Any:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None


async def empty_inputs(settings: Settings) -> None:
    """Deletes and recreates the worker's input topics, its own included: a worker that
    then restarts recovers its tables from the changelogs and reads short partitions."""
    names = [
        settings.topic_lines,
        internal_name(settings, PATIENT_LINES),
        internal_name(settings, CLAIM_LINES),
    ]
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.bootstrap_servers)
    await admin.start()
    try:
        await admin.delete_topics(names)
    finally:
        await admin.close()
    await asyncio.sleep(1)
    await ensure_topics(settings, names)


def cpu_seconds(pid: int) -> float:
    """A process's user and system CPU so far, from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy() -> float:
    """CPU seconds all cores spent busy so far (`/proc/stat`: all but idle and iowait;
    steal counts as busy, it is time this VM did not get)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    idle = fields[3] + fields[4]
    return (sum(fields) - idle) / os.sysconf("SC_CLK_TCK")


def broker_cpu(broker: EmbeddedBroker) -> Callable[[], float]:
    assert broker.process is not None, "the broker runs while it is measured"
    pid = broker.process.pid
    return lambda: cpu_seconds(pid)


async def offer(
    bootstrap: str,
    topic: str,
    docs: list[dict[str, Any]],
    rate: float,
    *,
    sent_at: dict[str, float],
    probe: Callable[[], float],
) -> list[tuple[float, float]]:
    """Publish `docs` at a steady `rate`, one record a request as an integration engine
    sends them, stamping each event_time. Returns (time, probe()) at the start, at
    each third of the load and at its end: the broker's CPU along the run."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=0)
    await producer.start()
    marks = [(time.perf_counter(), probe())]
    thirds = {len(docs) // 3, 2 * len(docs) // 3}
    start = marks[0][0]
    try:
        for i, doc in enumerate(docs):
            if i in thirds:
                marks.append((time.perf_counter(), probe()))
            now = datetime.now(UTC)
            doc["event_time"] = now.isoformat()
            sent_at[doc["event_id"]] = now.timestamp()
            # Keyed by patient as the contract asks: the worker answers in one hop.
            await producer.send(
                topic, value=orjson.dumps(doc), key=doc["claim"]["patient"]["patient_id"].encode()
            )
            pause = start + (i + 1) / rate - time.perf_counter()
            if pause > 0:
                await asyncio.sleep(pause)
        await producer.flush()
    finally:
        await producer.stop()
    marks.append((time.perf_counter(), probe()))
    return marks


def offered_docs(rate: float, seconds: float) -> list[dict[str, Any]]:
    return [
        d
        for d in map(_json_or_none, mix(int(rate * seconds) + 200))
        if isinstance(d, dict) and "claim" in d
    ][: int(rate * seconds)]


def lag_figures(
    pairs: list[tuple[float, float]], broker_marks: list[tuple[float, float]]
) -> dict[str, Any]:
    """p50 and p99 of (sent, lag) pairs, over the run and over each third of it by
    the time sent, with the broker's share of a core in each third: on the embedded
    broker the tail grows along a run."""

    def p(lags: list[float], q: float) -> float:
        return 1000 * lags[min(len(lags) - 1, int(len(lags) * q))]

    pairs = sorted(pairs)
    lags = sorted(lag for _, lag in pairs)
    bounds = [pairs[0][0], *(pairs[len(pairs) * k // 3][0] for k in (1, 2)), float("inf")]
    by_third = [
        sorted(lag for sent, lag in pairs if lo <= sent < hi) for lo, hi in pairwise(bounds)
    ]
    return {
        "verdicts": len(lags),
        "p50_ms": p(lags, 0.5),
        "p99_ms": p(lags, 0.99),
        "p99_by_third_ms": [p(third, 0.99) for third in by_third if third],
        "broker_cpu_share_by_third": [
            (b[1] - a[1]) / (b[0] - a[0]) for a, b in pairwise(broker_marks)
        ],
    }


Buckets = dict[float, float]
"""A histogram's cumulative counts by upper bound (`le`), +Inf included."""

PROCESSING_HISTOGRAM = "j9262_processing_latency_seconds"


def processing_buckets(settings: Settings) -> Buckets:
    """The worker's receipt-to-verdict histogram (`streams.ops.metrics.processing_seconds`)
    as it stands: cumulative counts by upper bound in seconds."""
    samples = scrape_metrics(settings).get(f"{PROCESSING_HISTOGRAM}_bucket", {})
    return {float(dict(labels)["le"]): count for labels, count in samples.items()}


def scraping(
    settings: Settings, probe: Callable[[], float], scrapes: list[Buckets]
) -> Callable[[], float]:
    """`probe`, also scraping the worker's receipt-to-verdict histogram into `scrapes`
    each time `offer` marks the start, a third, two thirds and the end of the load."""

    def both() -> float:
        scrapes.append(processing_buckets(settings))
        return probe()

    return both


def bucket_quantile(before: Buckets, after: Buckets, q: float) -> tuple[float, float] | None:
    """The q-quantile of the observations between two scrapes of one histogram, in ms:
    (linear within its bucket, as Prometheus's histogram_quantile; the bucket's upper
    bound, the figure's honest ceiling). None with no observation. A quantile in the
    +Inf bucket is given as the largest finite bound, for both."""
    bounds = sorted(after)
    counts = [after[b] - before.get(b, 0.0) for b in bounds]
    total = counts[-1] if counts else 0.0
    if total <= 0:
        return None
    rank = q * total
    lower, below = 0.0, 0.0
    for bound, cumulative in zip(bounds, counts, strict=True):
        if cumulative >= rank:
            if bound == float("inf"):
                return 1000 * lower, 1000 * lower
            inside = cumulative - below
            share = (rank - below) / inside if inside else 1.0
            return 1000 * (lower + (bound - lower) * share), 1000 * bound
        lower, below = bound, cumulative
    return 1000 * lower, 1000 * lower


def receipt_figures(scrapes: list[Buckets]) -> dict[str, Any]:
    """Receipt-to-verdict from the worker's own histogram, scraped at the start of the
    load, at its thirds, at its end and once every verdict was read: overall and per
    third of the load (the last third runs to the final scrape, so it takes the
    drain). The histogram counts a line from the entry agent's receipt to the
    verdict being queued to send, without the time between the two hops spent in
    Kafka, and has buckets 1, 2.5, 5, 10, 25, 50, 100, 250, 500 ms, ...: read the
    `_bucket_ms` figures as "at most", the interpolated ones as an estimate."""
    if len(scrapes) < 5 or not scrapes[0]:
        return {"error": f"{len(scrapes)} scrapes of {PROCESSING_HISTOGRAM}, 5 needed"}
    first, third, two_thirds, _end, final = scrapes[:5]
    overall = {q: bucket_quantile(first, final, q) for q in (0.5, 0.99)}
    thirds = [
        bucket_quantile(a, b, 0.99)
        for a, b in ((first, third), (third, two_thirds), (two_thirds, final))
    ]
    return {
        "verdicts": final.get(float("inf"), 0.0) - first.get(float("inf"), 0.0),
        "p50_ms": overall[0.5] and overall[0.5][0],
        "p99_ms": overall[0.99] and overall[0.99][0],
        "p50_bucket_ms": overall[0.5] and overall[0.5][1],
        "p99_bucket_ms": overall[0.99] and overall[0.99][1],
        "p99_by_third_ms": [t and t[0] for t in thirds],
        "p99_bucket_by_third_ms": [t and t[1] for t in thirds],
        "bucket_bounds_ms": [1000 * b for b in sorted(final) if b != float("inf")],
    }


def latency(
    broker: EmbeddedBroker,
    tmp: Path,
    rate: float,
    seconds: float,
    run: str,
    *,
    warm_up: int = 300,
    short_partitions: bool = False,
    **extra: Any,
) -> dict[str, Any]:
    """p50/p99 of validated_at - event_time, events offered at a steady `rate` per second,
    after `warm_up` lines (thousands of them: a worker holding state, as in production),
    with the worker's garbage collections and CPU meanwhile. The CPU idle beforehand
    (polling, timers) and under the load tell how near saturation "half the maximum"
    runs: a backlog is validated in batches, a steady rate one line at a time.

    `short_partitions`: after the warm-up the worker restarts on emptied input topics,
    keeping its tables. That separates what the state costs from what the embedded
    broker's longer partitions cost (`broker_fetch_growth`).

    `receipt_to_verdict` is the worker's own view of the same lines
    (`receipt_histograms`); `extra` are worker settings (`--latency-sweep`)."""
    settings = settings_for(broker, tmp, run, **extra)
    asyncio.run(
        ensure_topics(
            settings, [settings.topic_lines, settings.topic_verdicts, settings.topic_dead_letters]
        )
    )
    worker = start_worker(worker_env(settings), tmp / f"{run}.log")
    docs = offered_docs(rate, seconds)
    sent_at: dict[str, float] = {}
    try:
        # Warm up every path (first sends fetch metadata, first table writes allocate).
        first = mix(warm_up, now=True, tag="warm-")
        asyncio.run(publish(settings, first))
        asyncio.run(count_answers(settings, len(first), 600))
        caught_up(settings, 300)
        if short_partitions:
            stop_process(worker)
            asyncio.run(empty_inputs(settings))
            worker = start_worker(worker_env(settings), tmp / f"{run}.log")
            caught_up(settings, 300)
        idle_from, idle_at = worker_totals(settings), time.perf_counter()
        time.sleep(5)
        before, started = worker_totals(settings), time.perf_counter()
        idle_share = (before["cpu_s"] - idle_from["cpu_s"]) / (started - idle_at)
        scrapes: list[Buckets] = []
        marks = asyncio.run(
            offer(
                broker.bootstrap,
                settings.topic_lines,
                docs,
                rate,
                sent_at=sent_at,
                probe=scraping(settings, broker_cpu(broker), scrapes),
            )
        )
        pairs: list[tuple[float, float]] = []

        async def collect() -> None:
            async for rec in follow(
                settings, [settings.topic_verdicts], from_beginning=True, idle_timeout=5
            ):
                v = orjson.loads(rec.value)
                if v["event_id"] in sent_at:
                    sent = sent_at[v["event_id"]]
                    pairs.append(
                        (sent, datetime.fromisoformat(v["validated_at"]).timestamp() - sent)
                    )
                if len(pairs) >= len(docs):
                    return

        asyncio.run(collect())
        after, ended = worker_totals(settings), time.perf_counter()
        scrapes.append(processing_buckets(settings))
    finally:
        stop_process(worker)
    return {
        "offered_per_s": rate,
        **{k: v for k, v in extra.items() if k == "producer_linger_ms"},
        **lag_figures(pairs, marks),
        "receipt_to_verdict": receipt_figures(scrapes),
        "full_collections": after["full"] - before["full"],
        "full_collections_ms": 1000 * (after["full_s"] - before["full_s"]),
        "all_collections_ms": 1000 * (after["all_s"] - before["all_s"]),
        "worker_idle_cpu_share": idle_share,
        "worker_cpu_share": (after["cpu_s"] - before["cpu_s"]) / (ended - started),
        "worker_cpu_ms_per_line": 1000
        * (after["cpu_s"] - before["cpu_s"] - idle_share * (ended - started))
        / len(pairs),
    }


async def relay_latency(
    broker: EmbeddedBroker, rate: float, seconds: float, run: str, linger_ms: int | None = None
) -> dict[str, Any]:
    """The latency yardstick: the worker's two hops with nothing else, as plain aiokafka.

    Lines are read, re-keyed by patient and read again, where the worker stamps
    `validated_at`, and a small record is produced for each; consumers and producer
    take the worker's fetch wait and linger. Offered the same load as the worker,
    this shows what the broker alone puts on a line's way. `linger_ms`: the producer's
    linger, the worker's default (`producer_linger_ms`) unless given."""
    settings = Settings(_env_file=None, broker_url=broker.url)
    linger = settings.producer_linger_ms if linger_ms is None else linger_ms
    lines, mid, out = f"relay-in-{run}", f"relay-mid-{run}", f"relay-out-{run}"
    await ensure_topics(settings, [lines, mid, out])
    producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap, linger_ms=linger)

    def consumer() -> AIOKafkaConsumer:
        return AIOKafkaConsumer(
            bootstrap_servers=broker.bootstrap,
            auto_offset_reset="earliest",
            fetch_max_wait_ms=settings.fetch_max_wait_ms,
        )

    first, second = consumer(), consumer()
    sent_at: dict[str, float] = {}
    pairs: list[tuple[float, float]] = []

    async def hop(source: AIOKafkaConsumer, last: bool) -> None:
        while True:
            for records in (await source.getmany(timeout_ms=100, max_records=500)).values():
                for m in records:
                    doc = orjson.loads(m.value)
                    if not last:
                        patient = doc["claim"]["patient"]["patient_id"].encode()
                        await producer.send(mid, key=patient, value=m.value)
                        continue
                    sent = sent_at[doc["event_id"]]
                    pairs.append((sent, time.time() - sent))
                    await producer.send(out, key=m.key, value=orjson.dumps({"e": doc["event_id"]}))

    for client in (producer, first, second):
        await client.start()
    for client, topic in ((first, lines), (second, mid)):  # no group to join: all partitions
        client.assign([TopicPartition(topic, p) for p in range(settings.topic_partitions)])
    hops = [asyncio.create_task(hop(first, False)), asyncio.create_task(hop(second, True))]
    try:
        docs = offered_docs(rate, seconds)
        marks = await offer(
            broker.bootstrap, lines, docs, rate, sent_at=sent_at, probe=broker_cpu(broker)
        )
        deadline = time.perf_counter() + 60
        while len(pairs) < len(docs) and time.perf_counter() < deadline:
            await asyncio.sleep(0.1)
    finally:
        for task in hops:
            task.cancel()
        await asyncio.gather(*hops, return_exceptions=True)
        for client in (first, second, producer):
            await client.stop()
    return {
        "offered_per_s": rate,
        "offered": len(docs),
        "producer_linger_ms": linger,
        **lag_figures(pairs, marks),
    }


def repeated_latency(
    broker: EmbeddedBroker, tmp: Path, rate: float, seconds: float, runs: int
) -> dict[str, Any]:
    """Latency `runs` times, each with a fresh worker: one run's p99 on a shared machine
    moves by a factor of two, so the median run is reported and every run is kept."""
    return median_run(
        [latency(broker, tmp, rate, seconds, run=f"latency-{i}") for i in range(runs)]
    )


def median_run(each: list[dict[str, Any]]) -> dict[str, Any]:
    middle = sorted(each, key=lambda r: r["p99_ms"])[len(each) // 2]
    return {**middle, "runs": each}


async def broker_fetch_growth(
    broker: EmbeddedBroker, run: str, steps: tuple[int, ...]
) -> list[dict[str, float]]:
    """Produce-then-fetch round trips of one record on a partition holding more and more
    record batches (one record each, as a worker's low-rate sends make them)."""
    topic = f"growth-{run}"
    settings = Settings(_env_file=None, broker_url=broker.url, topic_partitions=1)
    await ensure_topics(settings, [topic])
    producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap, linger_ms=0)
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=broker.bootstrap, auto_offset_reset="latest", fetch_max_wait_ms=10
    )
    await producer.start()
    await consumer.start()
    batches = 0
    out = []
    try:
        await consumer.getmany(timeout_ms=500)
        for step in steps:
            for _ in range(step - batches):
                await producer.send_and_wait(topic, b"f" * 1000)
            produce, round_trip = [], []
            for _ in range(100):
                start = time.perf_counter()
                await producer.send_and_wait(topic, b"m" * 1000)
                produced = time.perf_counter()
                while not await consumer.getmany(timeout_ms=1000):
                    pass
                produce.append(produced - start)
                round_trip.append(time.perf_counter() - start)
            batches = step + 100
            produce.sort()
            round_trip.sort()
            out.append(
                {
                    "batches": step,
                    "produce_p50_ms": 1000 * produce[50],
                    "round_trip_p50_ms": 1000 * round_trip[50],
                }
            )
    finally:
        await consumer.stop()
        await producer.stop()
    return out


def offline_rate(
    records: list[bytes], refdata_dir: Path | None = None, *, claim_verdicts: bool = True
) -> float:
    """`j9262 validate` in process, on one core: lines per second, I/O to memory.
    Without `claim_verdicts` (and no report) it rolls no claims up: what the roll-up
    costs is the difference."""
    return offline_run(records, refdata_dir, claim_verdicts=claim_verdicts)[0]


def offline_run(
    records: list[bytes], refdata_dir: Path | None = None, *, claim_verdicts: bool = True
) -> tuple[float, dict[str, bytes]]:
    """`offline_rate`, with the outputs it wrote: verdicts, dead letters, claim verdicts."""
    validator = Validator(refdata.load(refdata_dir))
    outputs = {"verdicts": io.BytesIO(), "dead": io.BytesIO(), "claims": io.BytesIO()}
    start = time.perf_counter()
    validate_offline(
        validator,
        records,
        source_name="bench",
        max_bytes=1 << 20,
        out=outputs["verdicts"],
        dead_out=outputs["dead"],
        claims_out=outputs["claims"] if claim_verdicts else None,
    )
    rate = len(records) / (time.perf_counter() - start)
    return rate, {name: buffer.getvalue() for name, buffer in outputs.items()}


def decode_rate(records: list[bytes]) -> float:
    """Decoding alone (pydantic validation of the event): the ceiling for `j9262 validate`."""
    start = time.perf_counter()
    for raw in records:
        decode(raw, 1 << 20)
    return len(records) / (time.perf_counter() - start)


def deadline_rebuild(records: list[bytes]) -> dict[str, float]:
    """What a worker re-reads after a rebalance: every held claim, for its deadline."""
    validator = Validator(refdata.load())
    claims = ModelTable({}, ClaimState)
    now = datetime.now(UTC)
    for raw in records:
        event = decode(raw, 1 << 20)
        if isinstance(event, ClaimLineEvent):
            message = ClaimMessage.for_line(event, validator.validate(event))
            add_to_claim(validator, claims, message, now, 300)
    index = DeadlineIndex(Settings(_env_file=None))
    start = time.perf_counter()
    asyncio.run(index.rebuild(claims))
    seconds = time.perf_counter() - start
    return {"claims": len(claims), "seconds": seconds, "claims_per_s": len(claims) / seconds}


def big_crosswalk(path: Path, rows: int) -> Path:
    """A crosswalk in the CMS layout: the bundled drugs plus `rows` made-up products."""
    lines = [
        "_2026_CODE,Short Description,LABELER NAME,NDC2,Drug Name,HCPCS dosage,"
        "PKG SIZE,PKG QTY,BILLUNITS,BILLUNITSPKG"
    ]
    lines.append("J9262,Omacetaxine,Teva,63459-0177-14,Synribo,0.01 MG,1,1,350,350")
    for i in range(rows):
        lines.append(
            f"J{9000 + i % 400},Drug {i},Labeler {i % 900},"
            f"{10000 + i % 80000:05d}-{i % 10000:04d}-{i % 100:02d},Drug {i},1 MG,1,1,10,10"
        )
    path.write_text("\n".join(lines) + "\n")
    return path


def full_size_refdata(tmp: Path) -> tuple[Path, int]:
    """Reference data with a 10,000-row imported crosswalk, and its row count."""
    refdir = tmp / "refdata"
    result = import_crosswalk(big_crosswalk(tmp / "crosswalk.csv", 10_000), refdir)
    return refdir, result.rows


def peak_rss(
    broker: EmbeddedBroker,
    tmp: Path,
    records: list[bytes],
    refdir: Path,
    rows: int,
    *,
    run: str = "rss",
    **extra: Any,
) -> dict[str, float]:
    """A worker's peak RSS (VmHWM) with a full-size crosswalk, after validating `records`."""
    settings = settings_for(broker, tmp, run, refdata_dir=refdir, **extra)
    asyncio.run(
        ensure_topics(
            settings, [settings.topic_lines, settings.topic_verdicts, settings.topic_dead_letters]
        )
    )
    asyncio.run(publish(settings, records))
    worker = start_worker(worker_env(settings), tmp / f"{run}.log")
    try:
        asyncio.run(count_answers(settings, len(records), 600 + len(records) / 100))
        time.sleep(5)  # the last sends and commits settle
        status = Path(f"/proc/{worker.pid}/status").read_text()
        kb = {
            key: int(value.split()[0])
            for key, value in (ln.split(":", 1) for ln in status.splitlines())
            if key in ("VmHWM", "VmRSS")
        }
    finally:
        stop_process(worker)
    return {
        "crosswalk_rows": float(rows),
        "peak_rss_mb": kb["VmHWM"] / 1024,
        "rss_after_mb": kb["VmRSS"] / 1024,
    }


def patients(count: int) -> list[bytes]:
    """One J9262 line (a one-line claim) for each of `count` patients: every patient
    gets a history and every claim a stored state, as a worker holds them for days."""
    base = event("rss-patients", claim={"total_lines": 1})
    out = []
    for i in range(count):
        base["event_id"] = f"rss-patient-{i}"
        base["claim"]["claim_id"] = f"CLM-RSS-{i}"
        base["claim"]["patient"]["patient_id"] = f"P-RSS-{i}"
        out.append(orjson.dumps(base))
    return out


def peak_rss_patients(
    broker: EmbeddedBroker,
    tmp: Path,
    count: int,
    refdir: Path,
    rows: int,
    *,
    store: str,
    **extra: Any,
) -> dict[str, float]:
    """`peak_rss` with `count` patients' histories and claims held (the issue's 100,000),
    the tables in `store` (memory://, the default, or rocksdb://, production's)."""
    run = f"rss-patients-{store.partition(':')[0]}{'-'.join(['', *map(str, extra.values())])}"
    figures = peak_rss(broker, tmp, patients(count), refdir, rows, run=run, store=store, **extra)
    return {"patients": float(count), **figures}


T = TypeVar("T")


def in_turn(items: Sequence[T], round_: int) -> Sequence[T]:
    """`items` in order on even rounds, reversed on odd ones: interleaved runs where
    each variant sees the host early and late in a round alike."""
    return items if round_ % 2 == 0 else items[::-1]


def rate_or_error(
    broker: EmbeddedBroker, tmp: Path, records: list[bytes], run: str, name: str, **extra: Any
) -> dict[str, Any]:
    """`validator_rate`'s figures under `name`, or `{name}_error` if not every record
    was answered in time, so the rest of the run still counts."""
    try:
        return validator_rate(broker, tmp, records, run, **extra).figures(name)
    except Unanswered as exc:
        return {f"{name}_error": str(exc)}


def latency_sweep(
    broker: EmbeddedBroker,
    tmp: Path,
    rate: float,
    seconds: float,
    *,
    lingers: list[int],
    repeats: int,
) -> dict[str, Any]:
    """Latency at one steady `rate` for each producer linger, the worker's and the
    relay's, the lingers interleaved (reversed every other round) so each sees the
    same broker and the same load from the rest of the host; every run is kept."""
    runs: dict[str, list[dict[str, Any]]] = {str(linger): [] for linger in lingers}
    for i in range(repeats):
        for linger in in_turn(lingers, i):
            name = f"sweep-{linger}-{i}"
            worker = latency(broker, tmp, rate, seconds, name, producer_linger_ms=linger)
            relay = asyncio.run(relay_latency(broker, rate, seconds, name, linger_ms=linger))
            runs[str(linger)].append({"worker": worker, "relay": relay})
    return {"offered_per_s": rate, "seconds": seconds, "runs": runs}


def scaling_runs(
    broker: EmbeddedBroker, tmp: Path, records: list[bytes], repeats: int, *, formed: bool
) -> dict[str, Any]:
    """Throughput with one worker and with two, interleaved, every run kept with
    its CPU accounting and the model's ceilings (`scaling_model`); with `formed`, the
    backlog is published once the group holds its partitions (`validator_rate`)."""
    runs: list[dict[str, Any]] = []
    for i in range(repeats):
        pair: dict[str, Any] = {}
        for workers in in_turn((1, 2), i):
            name = "one_worker" if workers == 1 else "two_workers"
            pair.update(
                rate_or_error(
                    broker, tmp, records, f"s{workers}-{i}", name, workers=workers, formed=formed
                )
            )
        model = scaling_model(pair, "one_worker", "two_workers")
        runs.append({**pair, "model": {**model, "formed": formed}})
    return {"events": len(records), "formed": formed, "runs": runs}


CACHE_MB = (0, 2, 8)


def table_cache_runs(
    broker: EmbeddedBroker, tmp: Path, records: list[bytes], repeats: int
) -> dict[str, Any]:
    """One worker holding no parsed states (the default `table_cache_mb`), 2 MB and 8 MB
    of JSON a table, in turn, on the mix and on patients on treatment (90-day histories),
    beside the raw aiokafka loop of the same run."""
    loads = {"mix": records, "on_treatment": long_histories(50)}
    runs: list[dict[str, Any]] = []
    for i in range(repeats):
        run: dict[str, Any] = {"raw_per_s": asyncio.run(raw_loop(broker, records, f"tc-raw-{i}"))}
        for load, lines in loads.items():
            for mb in in_turn(CACHE_MB, i):
                name = f"{load}_cache_{mb}mb"
                run.update(
                    rate_or_error(
                        broker, tmp, lines, f"tc-{load}-{mb}-{i}", name, table_cache_mb=mb
                    )
                )
        runs.append(run)
    return {"events": {k: len(v) for k, v in loads.items()}, "runs": runs}


def scaling_model(results: dict[str, Any], one: str, two: str) -> dict[str, Any]:
    """docs/performance/scaling.md's model on one run's figures. A line costs w CPU
    seconds in the workers, b in the broker and r in the load's own clients; N
    single-threaded workers (one event loop each, a core at most) on C cores reach
    at most min(N / w, C / (w + b + r)) lines/s, with partitions >= N. `cores_busy`
    is rate x (w + b + r): near C, the machine's cores are the bound."""
    cores = os.cpu_count() or 1
    model: dict[str, Any] = {"cores": cores}
    for name, workers, label in ((one, 1, "one_worker"), (two, 2, "two_workers")):
        if f"{name}_per_s" not in results:
            continue
        w, b, r = (
            results[f"{name}{k}"] / 1000
            for k in ("_cpu_ms_per_line", "_broker_cpu_ms_per_line", "_reader_cpu_ms_per_line")
        )
        rate = results[f"{name}_per_s"]
        machine = results.get(f"{name}_machine_cpu_ms_per_line", float("nan")) / 1000
        model[label] = {
            "source": name,
            "workers": workers,
            "per_s": rate,
            "cores_busy": rate * (w + b + r),
            "worker_cores_busy": rate * w,
            "broker_cores_busy": rate * b,
            "machine_cores_busy": rate * machine,
            "other_cores_busy": rate * (machine - w - b - r),
            "ceiling_workers_per_s": workers / w,
            "ceiling_cores_per_s": cores / (w + b + r),
            "ceiling_per_s": min(workers / w, cores / (w + b + r)),
        }
    if "one_worker" in model and "two_workers" in model:
        model["speedup"] = model["two_workers"]["per_s"] / model["one_worker"]["per_s"]
        model["steady_speedup"] = results.get(f"{two}_steady_per_s", float("nan")) / results.get(
            f"{one}_steady_per_s", float("nan")
        )
        model["assignment_offset_s"] = results.get(f"{two}_assignment_offset_s", float("nan"))
        model["speedup_ceiling"] = (
            model["two_workers"]["ceiling_per_s"] / model["one_worker"]["ceiling_per_s"]
        )
        model["speedup_ceiling_broker_elsewhere"] = (
            model["two_workers"]["ceiling_workers_per_s"]
            / model["one_worker"]["ceiling_workers_per_s"]
        )
    return model


DISTURBED = 0.6
"""The raw loop's slowest run below this share of its fastest: the host was busy with
something else (2026-12-08: 24,157 against 70,512 lines/s in one run)."""


def summary(results: dict[str, Any]) -> list[str]:
    """The figures to read first, one line each, after the JSON."""

    def ms(value: Any) -> str:
        if isinstance(value, list):
            return " / ".join(ms(v) for v in value)
        return "-" if value is None else f"{value:.0f}"

    def latency_lines(name: str, run: dict[str, Any]) -> list[str]:
        if "p99_ms" not in run:
            return []
        lines = [
            f"{name}: event_time -> verdict p50 {ms(run['p50_ms'])} ms, p99 {ms(run['p99_ms'])}"
            f" ms, p99 by third {ms(run['p99_by_third_ms'])} ms"
        ]
        receipt = run.get("receipt_to_verdict")
        if receipt and "p99_ms" in receipt:
            lines.append(
                f"{name}: receipt -> verdict p50 {ms(receipt['p50_ms'])} ms, p99"
                f" {ms(receipt['p99_ms'])} ms (bucket <= {ms(receipt['p99_bucket_ms'])}),"
                f" p99 by third {ms(receipt['p99_by_third_ms'])} ms"
                f" (buckets <= {ms(receipt['p99_bucket_by_third_ms'])})"
            )
        if "full_collections" in run:
            lines.append(
                f"{name}: {run['full_collections']:.0f} full collections in"
                f" {ms(run['full_collections_ms'])} ms, {ms(run['all_collections_ms'])} ms"
                " of collections in all"
            )
        return lines

    out = [f"cores: {results['machine']['cores']}"]
    raw = results.get("raw_runs_per_s", [])
    if len(raw) > 1 and min(raw) < DISTURBED * max(raw):
        out.append(
            f"host: the raw loop's runs ranged {min(raw):,.0f}-{max(raw):,.0f} lines/s, so"
            " something else took the cores during this run: compare shares within it,"
            " and repeat it before reading a change from it"
        )
    if "validate_offline_per_s" in results:
        out.append(
            f"j9262 validate: {results['validate_offline_per_s']:,.0f} lines/s;"
            f" without claim verdicts {results.get('validate_offline_no_claims_per_s', 0):,.0f}"
        )
    for key in ("validator", "two_workers", "one_partition"):
        if f"{key}_per_s" in results:
            out.append(
                f"{key}: {results[f'{key}_per_s']:.0f} lines/s; CPU ms a line: workers"
                f" {results[f'{key}_cpu_ms_per_line']:.2f}, broker"
                f" {results.get(f'{key}_broker_cpu_ms_per_line', float('nan')):.2f}, reader"
                f" {results.get(f'{key}_reader_cpu_ms_per_line', float('nan')):.2f}"
            )
    if "latency" in results:
        for i, run in enumerate(results["latency"].get("runs", [results["latency"]])):
            out += latency_lines(f"latency run {i}", run)
    for key in ("relay_latency", "latency_loaded", "latency_loaded_short_partitions"):
        if key in results:
            out += latency_lines(key, results[key])
    for linger, each in results.get("latency_sweep", {}).get("runs", {}).items():
        for i, run in enumerate(each):
            out += latency_lines(f"linger {linger} ms, worker {i}", run["worker"])
            out += latency_lines(f"linger {linger} ms, relay {i}", run["relay"])
    for key in ("rss", "rss_patients_memory", "rss_patients_memory_plain", "rss_patients_rocksdb"):
        if key in results:
            held = results[key].get("patients")
            out.append(
                f"{key}: peak {results[key]['peak_rss_mb']:.0f} MB"
                + (f" with {held:,.0f} patients held" if held else "")
            )
    for i, run in enumerate(results.get("table_cache", {}).get("runs", [])):
        cells = [f"raw {run['raw_per_s']:,.0f}"]
        for load in ("mix", "on_treatment"):
            for mb in CACHE_MB:
                name = f"{load}_cache_{mb}mb"
                if f"{name}_per_s" in run:
                    cells.append(
                        f"{load} cache {mb} MB {run[f'{name}_per_s']:,.0f}"
                        f" ({run[f'{name}_cpu_ms_per_line']:.2f} ms CPU a line)"
                    )
        out.append(f"table cache run {i}: " + "; ".join(cells) + " lines/s")
    models = [results["scaling_model"]] if "scaling_model" in results else []
    models += [r["model"] for r in results.get("scaling", {}).get("runs", [])]
    for model in models:
        if "speedup" in model:
            formed = " (backlog published to the formed group)" if model.get("formed") else ""
            out.append(
                f"scaling{formed}: 2 workers {model['speedup']:.2f}x one (model's ceiling"
                f" {model['speedup_ceiling']:.2f}x here,"
                f" {model['speedup_ceiling_broker_elsewhere']:.2f}x with the broker"
                " elsewhere); cores busy"
                f" {model['one_worker']['cores_busy']:.2f} and"
                f" {model['two_workers']['cores_busy']:.2f} of {model['cores']}, by anything"
                f" else {model['one_worker']['other_cores_busy']:.2f} and"
                f" {model['two_workers']['other_cores_busy']:.2f};"
                f" steady (between {STEADY[0]:.0%} and {STEADY[1]:.0%} of the answers)"
                f" {model.get('steady_speedup', float('nan')):.2f}x; the second worker got"
                f" its partitions {model.get('assignment_offset_s', float('nan')):.2f} s"
                " after the first"
            )
    return out


def machine() -> dict[str, str]:
    cpu = next(
        (
            ln.split(":", 1)[1].strip()
            for ln in Path("/proc/cpuinfo").read_text().splitlines()
            if ln.startswith("model name")
        ),
        platform.processor(),
    )
    return {
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "python": platform.python_version(),
        "python_build": python_build(),
        "system": platform.platform(),
    }


def python_build() -> str:
    """How the interpreter was compiled: pure-Python work runs measurably faster with
    profile-guided and link-time optimization, as the image's base has them
    (docs/performance/interpreter.md)."""
    args = sysconfig.get_config_var("CONFIG_ARGS") or ""
    found = [
        name
        for flag, name in (("--enable-optimizations", "PGO"), ("--with-lto", "LTO"))
        if flag in args
    ]
    # The library actually mapped, not the configure flags: Debian's python3.11 is
    # configured shared for its libpython, and its interpreter is linked statically.
    maps = Path("/proc/self/maps")
    shared = maps.exists() and "libpython" in maps.read_text()
    configured = " + ".join(found) or "neither PGO nor LTO"
    return f"configured with {configured}; {'shared' if shared else 'static'} libpython"


@contextmanager
def timed(results: dict[str, Any], phase: str) -> Iterator[None]:
    """Wall time per phase in `results["seconds"]`: where a run's minutes go."""
    start = time.perf_counter()
    try:
        yield
    finally:
        results.setdefault("seconds", {})[phase] = round(time.perf_counter() - start, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="Smaller runs: under two minutes.")
    parser.add_argument("--json", type=Path, help="Also write the results here.")
    parser.add_argument(
        "--drivers",
        action="store_true",
        help="Only compare Faust's kafka:// and confluent:// drivers with both raw loops.",
    )
    parser.add_argument(
        "--repeats",
        type=int,
        default=3,
        help="Runs of each figure (--drivers, --latency-sweep, --scaling).",
    )
    parser.add_argument(
        "--latency-sweep",
        type=lambda text: [int(v) for v in text.split(",")],
        metavar="MS,MS,...",
        help="Only latency, worker and relay, for each of these producer lingers.",
    )
    parser.add_argument(
        "--rate",
        type=float,
        help="Lines/s offered by --latency-sweep (default: half a measured backlog rate).",
    )
    parser.add_argument(
        "--seconds", type=float, default=25, help="Steady load of each --latency-sweep run."
    )
    parser.add_argument(
        "--memory",
        action="store_true",
        help="Only peak RSS: 5,000 events, and 100,000 patients held in each store, "
        "memory:// also with J9262_TABLE_COMPRESSION=none.",
    )
    parser.add_argument(
        "--table-cache",
        action="store_true",
        help="Only one worker with and without its tables' parsed states held, on the mix "
        "and on patients on treatment.",
    )
    parser.add_argument(
        "--scaling",
        action="store_true",
        help="Only throughput with one worker and two, with CPU per line and the model.",
    )
    parser.add_argument(
        "--formed",
        action="store_true",
        help="With --scaling: publish the backlog once the workers hold their partitions.",
    )
    args = parser.parse_args()
    n = 3000 if args.quick else 20_000
    results: dict[str, Any] = {"events": n, "quick": args.quick, "machine": machine()}
    tmp = Path(tempfile.mkdtemp(prefix="j9262-bench-"))
    records = mix(n)
    if args.drivers or args.latency_sweep or args.scaling or args.memory or args.table_cache:
        with EmbeddedBroker(log_file=tmp / "broker.log") as broker:
            only_some(args, broker, tmp, records, results)
        report(results, args.json)
        return
    offline = mix(n * 5 if not args.quick else n)
    with timed(results, "offline"):
        results["validate_offline_per_s"] = offline_rate(offline)
        results["validate_offline_no_claims_per_s"] = offline_rate(offline, claim_verdicts=False)
        results["decode_only_per_s"] = decode_rate(offline)
        results["deadline_rebuild"] = deadline_rebuild(offline)
        refdir, rows = full_size_refdata(tmp)
        results["validate_offline_full_crosswalk_per_s"] = offline_rate(offline[:n], refdir)
        results["validate_offline_long_history_per_s"] = offline_rate(
            long_histories(10 if args.quick else 50)
        )
    with EmbeddedBroker(log_file=tmp / "broker.log") as broker:
        with timed(results, "raw"):
            # A single run of the yardstick has come out anywhere from 20,000 to
            # 52,000 lines/s on one host; the best of three keeps the ratio honest.
            raw_runs = [asyncio.run(raw_loop(broker, records, f"a{i}")) for i in range(3)]
            results["raw_runs_per_s"] = raw_runs
            results["raw_per_s"] = max(raw_runs)
        with timed(results, "validator"):
            validator = validator_rate(broker, tmp, records, "v1")
        results.update(validator.figures("validator"))
        results["ratio"] = results["validator_per_s"] / results["raw_per_s"]
        with timed(results, "validator_claim_keyed"):
            by_claim = validator_rate(broker, tmp, records, "vc", key=key_of)
        results.update(by_claim.figures("validator_claim_keyed"))
        if not args.quick:
            with timed(results, "validator_asyncio_loop"):
                plain = validator_rate(broker, tmp, records, "va", event_loop="asyncio")
            results["validator_asyncio_loop_per_s"] = plain.per_s
            results["validator_asyncio_loop_cpu_ms_per_line"] = plain.cpu_ms_per_line
        for mode in ("event",) if args.quick else ("event", "batch"):
            with timed(results, f"faust_passthrough_{mode}"):
                rate = faust_passthrough_rate(broker, tmp, records, mode)
            results[f"faust_passthrough_{mode}_per_s"] = rate
            results[f"faust_passthrough_{mode}_ratio"] = rate / results["raw_per_s"]
        if not args.quick:
            with timed(results, "faust_passthrough_event_uvloop"):
                rate = faust_passthrough_rate(broker, tmp, records, "event", "uvloop")
            results["faust_passthrough_event_uvloop_per_s"] = rate
            results["faust_passthrough_event_uvloop_ratio"] = rate / results["raw_per_s"]
        half = results["validator_per_s"] / 2
        steady_s, runs = (10, 1) if args.quick else (30, 3)
        with timed(results, "latency"):
            results["latency"] = repeated_latency(broker, tmp, half, steady_s, runs=runs)
        with timed(results, "relay_latency"):
            results["relay_latency"] = median_run(
                [asyncio.run(relay_latency(broker, half, steady_s, str(i))) for i in range(runs)]
            )
        if not args.quick:
            with timed(results, "latency_loaded"):
                results["latency_loaded"] = latency(broker, tmp, half, 30, "loaded", warm_up=12_000)
            with timed(results, "latency_loaded_short_partitions"):
                results["latency_loaded_short_partitions"] = latency(
                    broker,
                    tmp,
                    half,
                    30,
                    "loaded-short",
                    warm_up=12_000,
                    short_partitions=True,
                )
            with timed(results, "scaling"):
                for name, run, extra in (
                    ("two_workers", "v2", {"workers": 2}),
                    ("one_partition", "p1", {"partitions": 1}),
                ):
                    try:
                        rate = validator_rate(broker, tmp, records, run, **extra)
                    except Unanswered as exc:  # recorded, so the rest of the run still counts
                        results[f"{name}_error"] = {
                            "error": f"{exc}; worker logs: {tmp}/{run}-*.log",
                            "lag_at_timeout": exc.lag,
                            "trace": asyncio.run(
                                trace_missing(settings_for(broker, tmp, run), records)
                            ),
                        }
                        continue
                    results.update(rate.figures(name))
            results["scaling_model"] = scaling_model(results, "validator", "two_workers")
        with timed(results, "broker_fetch_growth"):
            steps = (0, 2_000) if args.quick else (0, 1_000, 2_000, 4_000, 8_000)
            results["broker_fetch_growth"] = asyncio.run(broker_fetch_growth(broker, "g", steps))
        memory(args, broker, tmp, records, results, refdir=refdir, rows=rows)
    report(results, args.json)


def memory(
    args: argparse.Namespace,
    broker: EmbeddedBroker,
    tmp: Path,
    records: list[bytes],
    results: dict[str, Any],
    *,
    refdir: Path,
    rows: int,
    plain: bool = False,
) -> None:
    """Peak RSS after 5,000 events, and with 100,000 patients held in each store
    (with `plain`, memory:// storing uncompressed JSON too, for comparison)."""
    with timed(results, "rss"):
        results["rss"] = peak_rss(broker, tmp, records[: min(len(records), 5000)], refdir, rows)
    with timed(results, "rss_patients"):
        count = 5_000 if args.quick else 100_000
        for store in ("memory://", "rocksdb://"):
            results[f"rss_patients_{store.partition(':')[0]}"] = peak_rss_patients(
                broker, tmp, count, refdir, rows, store=store
            )
        if plain:
            results["rss_patients_memory_plain"] = peak_rss_patients(
                broker, tmp, count, refdir, rows, store="memory://", table_compression="none"
            )


def only_some(
    args: argparse.Namespace,
    broker: EmbeddedBroker,
    tmp: Path,
    records: list[bytes],
    results: dict[str, Any],
) -> None:
    """`--drivers`, `--latency-sweep`, `--scaling`, `--table-cache` and `--memory`: one part of the
    benchmark alone."""
    if args.memory:
        refdir, rows = full_size_refdata(tmp)
        memory(args, broker, tmp, records, results, refdir=refdir, rows=rows, plain=True)
    if args.drivers:
        with timed(results, "drivers"):
            results["drivers"] = driver_comparison(broker, tmp, records, args.repeats)
    if args.scaling:
        with timed(results, "scaling"):
            results["scaling"] = scaling_runs(
                broker, tmp, records, args.repeats, formed=args.formed
            )
    if args.table_cache:
        with timed(results, "table_cache"):
            results["table_cache"] = table_cache_runs(broker, tmp, records, args.repeats)
    if args.latency_sweep:
        rate = args.rate
        if rate is None:
            with timed(results, "validator"):
                validator = validator_rate(broker, tmp, records, "sweep-rate")
            results.update(validator.figures("validator"))
            rate = validator.per_s / 2
        with timed(results, "latency_sweep"):
            results["latency_sweep"] = latency_sweep(
                broker, tmp, rate, args.seconds, lingers=args.latency_sweep, repeats=args.repeats
            )


def report(results: dict[str, Any], path: Path | None) -> None:
    print(json.dumps(results, indent=2))
    print("\n".join(summary(results)))
    if path:
        path.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
