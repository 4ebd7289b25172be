"""End to end through the embedded broker: every record ends as exactly one answer."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import random
import signal
import time
from collections import Counter
from typing import Any

import orjson
import pytest
from aiokafka import TopicPartition

from streams import refdata
from streams.cli.demo import collect
from streams.contract.models import DeadLetter, LineVerdict
from streams.offline.runner import results
from streams.samples import GAZYVA, OPDIVO_100, encode, event
from streams.settings import Settings
from streams.stream.kafka.clients import (
    Samples,
    committed_offsets,
    publish,
    reader_for,
    scrape_metrics,
)
from streams.validation.validator import Validator
from tests.integration.conftest import (
    Workers,
    every_event,
    next_offsets,
    publish_with_a_jump,
    read_until,
)

pytestmark = pytest.mark.integration

VARIANTS: list[dict[str, Any]] = [
    {},
    {"line": {"units": 3.5}},
    {"line": {"units": 1}},
    {"line": {"ndc": None}},
    {"line": {"ndc": {"code": "6345901771"}}},
    {"line": {"ndc": {"code": OPDIVO_100}, "units": 100}},
    {
        "line": {
            "hcpcs": "J9301",
            "units": 100,
            "ndc": {"code": GAZYVA, "quantity": 40, "unit": "ML"},
        }
    },
    {"line": {"hcpcs": "96401", "ndc": None, "units": 1, "modifiers": []}},
    {"claim": {"payer": {"payer_id": "AETNA", "plan_type": "commercial"}}},
    {"line": {"units": 700, "ndc": {"quantity": 2}}},
]

MALFORMED: list[bytes] = [
    b"",
    b"{",
    b"not json",
    b"[]",
    b"{}",
    b'{"schema": "claim-line-event/v1"}',
    b"\xff\xfe\x00garbage",
    b"null",
    b"[" * 3000 + b"]" * 3000,
]


def mixed_records(n_valid: int, n_bad: int, seed: int = 7) -> tuple[list[bytes], list[bool]]:
    rng = random.Random(seed)
    valid = [encode(event(f"bulk-{i}", **VARIANTS[i % len(VARIANTS)])) for i in range(n_valid)]
    bad = [MALFORMED[i % len(MALFORMED)] for i in range(n_bad)]
    bad += [encode(event(f"bad-{i}", line={"units": -1})) for i in range(3)]
    tagged = [(r, True) for r in valid] + [(r, False) for r in bad]
    rng.shuffle(tagged)
    return [r for r, _ in tagged], [ok for _, ok in tagged]


def comparable(verdict: LineVerdict) -> dict[str, Any]:
    return verdict.model_dump(mode="json", exclude={"validated_at"})


def test_every_record_gets_exactly_one_answer(settings: Settings, workers: Workers) -> None:
    records, valid = mixed_records(1000, 60)
    placed = asyncio.run(publish(settings, records))
    assert len(placed) == len(records)

    worker = workers.start()
    verdicts, letters = asyncio.run(collect(settings, len(records), timeout=120))
    # Answers past the expected count would be duplicates: give them a moment to show up.
    extra_v, extra_l = asyncio.run(collect(settings, len(records) + 1, timeout=3))

    metrics = scrape_metrics(settings)
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(30) == 0
    log = workers.log()
    assert "Traceback" not in log, log[-3000:]

    expected_ids = Counter(
        orjson.loads(r)["event_id"] for r, ok in zip(records, valid, strict=True) if ok
    )
    assert Counter(v.event_id for v in extra_v) == expected_ids
    expected_dead = {placed[i] for i, ok in enumerate(valid) if not ok}
    got_dead = Counter((d.source.partition, d.source.offset) for d in extra_l)
    assert set(got_dead) == expected_dead
    assert max(got_dead.values()) == 1
    for letter in letters:
        index = placed.index((letter.source.partition, letter.source.offset))
        assert base64.b64decode(letter.payload_base64) == records[index]
        assert letter.detail

    # The worker's /metrics holds the counts this run produced.
    assert metrics["j9262_events_consumed_total"][()] == len(records)
    assert {dict(k)["disposition"]: v for k, v in metrics["j9262_verdicts_total"].items()} == (
        dict(Counter(v.disposition.value for v in verdicts))
    )
    assert {dict(k)["reason"]: v for k, v in metrics["j9262_dead_letters_total"].items()} == (
        dict(Counter(d.reason.value for d in letters))
    )
    assert metrics["j9262_rule_evaluation_seconds_count"][()] == len(verdicts)
    # Published before the worker started, the records are a backlog: taken many at once.
    taken = (("agent", "validate-lines"),)
    assert metrics["j9262_batch_records_sum"][taken] == len(records)
    assert metrics["j9262_batch_records_count"][taken] <= len(records) / 10
    by_code = Counter(f.code for v in verdicts for f in v.findings)
    line_findings = {
        dict(k)["code"]: v
        for k, v in metrics["j9262_findings_total"].items()
        if dict(k)["level"] == "line"
    }
    assert line_findings == dict(by_code)
    labels = {label for series in metrics.values() for key in series for label, _ in key}
    assert labels <= {
        "le",
        "level",
        "disposition",
        "reason",
        "code",
        "category",
        "severity",
        "complete",
        "route",
        "topic",
        "partition",
        "table",
        "read",
        "write",
        "agent",
        "version",
        "ruleset_version",
        "reference_data_version",
        "generation",
        "implementation",
        "major",
        "minor",
        "patchlevel",
    }

    committed = asyncio.run(committed_offsets(settings))
    assert committed == next_offsets(placed), "offsets were not committed on SIGTERM"

    # The offline command gives the same verdicts for the same events.
    validator = Validator(refdata.load())
    offline = {
        item.event_id: comparable(item)
        for _, item in results(validator, records, "file", settings.max_message_bytes)
        if isinstance(item, LineVerdict)
    }
    assert {v.event_id: comparable(v) for v in verdicts} == offline
    offline_dead = sorted(
        (item.reason.value, item.payload_base64)
        for _, item in results(validator, records, "file", settings.max_message_bytes)
        if isinstance(item, DeadLetter)
    )
    # A JSON Lines file cannot hold an empty record: blank lines are skipped offline.
    streamed_dead = sorted((d.reason.value, d.payload_base64) for d in letters if d.payload_base64)
    assert streamed_dead == offline_dead


def test_lines_past_a_real_jump_in_offsets_are_answered_and_committed(
    settings: Settings, workers: Workers
) -> None:
    """The worker fetches a jump once more (for the embedded broker's sake); on a
    jump that is really there it must neither stall nor lose the record past it."""
    docs = [event(f"jump-{n}") for n in range(4)]
    wanted = {d["event_id"] for d in docs}
    asyncio.run(publish_with_a_jump(settings, settings.topic_lines, [encode(d) for d in docs]))
    workers.start()
    verdicts = asyncio.run(read_until(settings, settings.topic_verdicts, every_event(wanted), 60))
    assert {v["event_id"] for v in verdicts} == wanted
    workers.stop_all()
    assert asyncio.run(committed_offsets(settings))[0] == 8


def test_a_worker_with_a_backlog_commits_as_it_goes(settings: Settings, workers: Workers) -> None:
    """Commits follow `commit_interval_s` from a backlog too. Faust's flush before a
    commit used to wait for its send buffer to stay empty, which a busy worker never
    sees: commits came 17-31 s apart, and lag read from them jumped. So the group's
    committed total must rise in several steps while the backlog is still being worked
    off, not jump to the end; the worker's own gauges of uncommitted records must tell
    the same story. (Steps are counted, not timed: a slow machine only adds steps. A
    fast one took the backlog in about 3 s, two commits at the default 1 s interval,
    so the worker here commits every 0.25 s; the old flush still waited 17-31 s.)"""
    placed = asyncio.run(publish(settings, [encode(event(f"backlog-{i}")) for i in range(15_000)]))
    ends = {TopicPartition(settings.topic_lines, p): end for p, end in next_offsets(placed).items()}
    workers.start(metrics_interval_s=0.5, commit_interval_s=0.25)

    def per_partition(samples: Samples, name: str) -> dict[str, float]:
        return {
            dict(k)["partition"]: v
            for k, v in samples.get(name, {}).items()
            if dict(k)["topic"] == settings.topic_lines
        }

    async def commits() -> tuple[list[int], list[Samples]]:
        """The group's committed total, sampled every 0.2 s until all is committed,
        and the worker's /metrics, sampled as often."""
        consumer = reader_for(settings, group_id=settings.app_id)
        await consumer.start()
        totals: list[int] = []
        scraped: list[Samples] = []
        try:
            async with asyncio.timeout(180):
                while True:
                    committed = {tp: await consumer.committed(tp) or 0 for tp in ends}
                    totals.append(sum(committed.values()))
                    with contextlib.suppress(OSError):
                        scraped.append(await asyncio.to_thread(scrape_metrics, settings, 1))
                    if all(committed[tp] >= end for tp, end in ends.items()):
                        return totals, scraped
                    await asyncio.sleep(0.2)
        finally:
            await consumer.stop()

    totals, scraped = asyncio.run(commits())
    backlog = sum(ends.values())
    # Waiting for the buffer, the same backlog was committed in one or two steps.
    steps = sorted({t for t in totals if 0 < t < backlog})
    assert len(steps) >= 3, f"committed totals seen on the way: {steps} of {backlog}"

    uncommitted = [per_partition(s, "j9262_uncommitted_messages") for s in scraped]
    assert max(sum(u.values()) for u in uncommitted) > 0, "never saw a record uncommitted"

    deadline = time.monotonic() + 10
    while True:
        final = scrape_metrics(settings)
        left = per_partition(final, "j9262_uncommitted_messages")
        if (len(left) == len(ends) and not any(left.values())) or time.monotonic() > deadline:
            break
        time.sleep(0.25)
    assert left == dict.fromkeys(left, 0.0) and len(left) == len(ends), left
    assert not any(per_partition(final, "j9262_commit_stalled_seconds").values())
