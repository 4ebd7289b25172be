"""The agents' steps, each on its own: the deadline index (when each held claim next
needs a look, also after a rebalance), and each agent through Faust's test context."""

from __future__ import annotations

import asyncio
import base64
import gc
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import faust
import orjson
import pytest
from faust.types import TP
from pydantic import BaseModel

from streams.contract.models import ClaimLineEvent
from streams.ops.metrics import Metrics
from streams.samples import claim, encode, event
from streams.settings import Settings
from streams.stream import agents, tables, topics
from streams.stream.agents import REBUILD_CHUNK, DeadlineIndex
from streams.stream.kafka.partitions import HomePartition, partition_for
from streams.stream.tables import ModelTable, Tables
from streams.stream.topics import Topics
from streams.validation.answer import ClaimMessage, answer_line
from streams.validation.history import PatientHistory
from streams.validation.rollup import ClaimState
from streams.validation.validator import Validator
from tests.conftest import claim_with_line, make_event, validate_offline
from tests.validation.test_answer import SECRET, raising_rule  # noqa: F401 (a fixture)


def stored(*states: ClaimState) -> ModelTable[ClaimState]:
    """The claims table with these states, stored as a worker stores them."""
    claims = ModelTable({}, ClaimState)
    for state in states:
        claims[state.claim_id] = state
    return claims


@pytest.fixture
def index() -> DeadlineIndex:
    return DeadlineIndex(Settings(_env_file=None, claim_wait_s=300, claim_retention_s=86_400))


def test_rebuild_gives_each_claim_the_deadline_its_agent_noted(
    validator: Validator, index: DeadlineIndex
) -> None:
    waiting = claim_with_line(validator, make_event("waiting", claim={"total_lines": 3}))
    waiting = waiting.model_copy(update={"partition": 2})
    done = claim_with_line(validator, make_event("done", claim={"total_lines": 1}))
    done = done.with_verdict(validator.answer_claim(done))
    for state in (waiting, done):
        index.note(state.claim_id, state)
    noted = dict(index.due)
    assert noted[waiting.claim_id] == (waiting.first_seen + timedelta(seconds=300), 2)
    assert done.verdict_at is not None
    assert noted[done.claim_id][0] == done.verdict_at + timedelta(days=1)

    index.due.clear()
    index.stale = True
    asyncio.run(index.rebuild(stored(waiting, done)))
    assert index.due == noted
    assert not index.stale


def test_a_claim_stored_in_the_older_form_is_looked_at_after_its_wait(
    index: DeadlineIndex,
) -> None:
    """Its first check parses it in full and notes its real deadline."""
    first_seen = datetime(2026, 11, 20, tzinfo=UTC)
    older = (
        f'{{"claim_id": "C-old", "first_seen": "{first_seen.isoformat()}", '
        f'"verdict": {{"validated_at": "{first_seen.isoformat()}"}}}}'
    ).encode()
    asyncio.run(index.rebuild(ModelTable({"C-old": older}, ClaimState)))
    assert index.due == {"C-old": (first_seen + timedelta(seconds=300), None)}


def test_a_claim_that_does_not_parse_is_skipped_and_not_quoted(
    validator: Validator, index: DeadlineIndex, caplog: pytest.LogCaptureFixture
) -> None:
    good = claim_with_line(validator, make_event("good"))
    caplog.set_level(logging.ERROR, logger="streams.stream.agents")
    claims = stored(good)
    claims.table["C-bad"] = b'{"first_seen": "PAT-SECRET"}'
    claims.table["C-unknown"] = b"\x7fPAT-SECRET"
    asyncio.run(index.rebuild(claims))
    assert set(index.due) == {good.claim_id}
    assert "does not parse" in caplog.text
    assert "PAT-SECRET" not in caplog.text


def test_rebuild_lets_the_agents_run_between_chunks(
    validator: Validator, index: DeadlineIndex
) -> None:
    raw = stored(claim_with_line(validator, make_event("many"))).table.popitem()[1]
    claims = ModelTable({f"C-{i}": raw for i in range(REBUILD_CHUNK * 3)}, ClaimState)

    async def rebuild_beside_another_task() -> int:
        turns = 0
        finished = asyncio.Event()

        async def other() -> None:
            nonlocal turns
            while not finished.is_set():
                turns += 1
                await asyncio.sleep(0)

        task = asyncio.create_task(other())
        await asyncio.sleep(0)
        turns = 0
        await index.rebuild(claims)
        finished.set()
        await task
        return turns

    assert asyncio.run(rebuild_beside_another_task()) >= 2
    assert len(index.due) == len(claims)


# --- the agents' steps, with Faust's agent test context -----------------------------
#
# A real Faust app that never starts: `agent.test_context()` hands an agent records as
# its topic would, and what the steps send waits in the app's producer buffer, where
# `Harness.sent` reads it. No broker is contacted.


@dataclass
class Sent:
    topic: str
    key: bytes | None
    value: Any
    headers: list[tuple[str, bytes]]
    partition: int | None = None

    @property
    def json(self) -> Any:
        return orjson.loads(self.value)


@dataclass
class Harness:
    app: faust.App
    settings: Settings
    topics: Topics
    tables: Tables
    metrics: Metrics
    agents: agents.Agents

    @property
    def steps(self) -> agents.Steps:
        return self.agents.steps

    def sent(self) -> list[Sent]:
        """What the steps sent since the last look, in order."""
        pending = self.app.producer.buffer.pending
        out = []
        while not pending.empty():
            message = pending.get_nowait().message
            key = message.key.encode() if isinstance(message.key, str) else message.key
            headers = message.headers.items() if isinstance(message.headers, Mapping) else []
            out.append(
                Sent(
                    message.channel.get_topic_name(),
                    key,
                    message.value,
                    list(headers) or list(message.headers or ()),
                    message.partition,
                )
            )
        return out

    def store(self, table: ModelTable[Any], key: str, value: bytes | BaseModel) -> None:
        """Puts a value in a table's store, as a changelog's recovery would: a table
        changes only inside an agent, and this is set-up."""
        raw = value if isinstance(value, bytes) else value.model_dump_json().encode()
        cast(Any, table.table).data[key] = raw

    def to(self, topic: faust.TopicT, sent: list[Sent]) -> list[Sent]:
        return [s for s in sent if s.topic == topic.get_topic_name()]

    async def validate_lines(
        self, *records: tuple[bytes | None, bytes | None], partition: int = 0
    ) -> list[Sent]:
        """The validate-lines agent on input records (key, value), handed over raw, as
        read from one input partition."""
        async with self.agents.validate_lines.test_context() as agent:
            for key, value in records:
                await agent.put(value, key=key, partition=partition)
        return self.sent()

    def forwarded_channel(self) -> faust.TopicT:
        """A channel that decodes forwarded records with the patient topic's codec."""
        return self.app.topic(
            "agents-test-patient-lines",
            key_serializer="raw",
            value_serializer=self.topics.patient_lines.value_serializer,
        )

    async def patient_lines(self, forwarded: list[Sent]) -> list[Sent]:
        """The patient-lines agent on forwarded records, decoded by the topic's codec."""
        async with self.agents.patient_lines.test_context(
            channel=self.forwarded_channel()
        ) as agent:
            for record in forwarded:
                await agent.put(record.value, key=record.key, headers=record.headers)
        return self.sent()

    async def one_batch(
        self,
        agent: faust.types.AgentT[Any],
        puts: list[tuple[bytes | None, dict[str, Any]]],
        channel: faust.ChannelT[Any] | None = None,
    ) -> list[Sent]:
        """The agent on records (value, put's keywords) put at once, so that it takes
        them as one batch; what the steps sent."""
        async with agent.test_context(channel=channel) as context:
            await asyncio.gather(*(context.put(value, **kw) for value, kw in puts))
        return self.sent()

    async def both(self, key: bytes | None, value: bytes) -> list[Sent]:
        forwarded = self.to(self.topics.patient_lines, await self.validate_lines((key, value)))
        return await self.patient_lines(forwarded)


def make_harness(validator: Validator, settings: Settings) -> Harness:
    app = faust.App(
        "agents-test", broker="kafka://localhost:1", store="memory://", autodiscover=False
    )
    metrics = Metrics(validator.ruleset_version, validator.refdata.version)
    declared_topics = topics.declare(app, settings)
    declared_tables = tables.declare(app, settings)
    attached = agents.attach(
        app, declared_topics, declared_tables, settings, validator=validator, metrics=metrics
    )
    return Harness(app, settings, declared_topics, declared_tables, metrics, attached)


@pytest.fixture
def harness(validator: Validator) -> Harness:
    return make_harness(validator, Settings(_env_file=None))


def counted(metrics: Metrics, name: str, **labels: str) -> float:
    return metrics.registry.get_sample_value(f"j9262_{name}", labels) or 0.0


def test_a_readable_line_is_forwarded_as_received_keyed_by_patient_with_its_source(
    harness: Harness,
) -> None:
    doc = event("forward", claim={"patient": {"patient_id": "P-fwd"}})
    [forwarded] = asyncio.run(harness.validate_lines((b"CLM-KEY", encode(doc))))
    assert forwarded.topic == harness.topics.patient_lines.get_topic_name()
    assert (forwarded.key, forwarded.value) == (b"P-fwd", encode(doc))
    headers = dict(forwarded.headers)
    assert headers["j9262-source-topic"] == harness.settings.topic_lines.encode()
    assert (headers["j9262-source-partition"], headers["j9262-source-offset"]) == (b"0", b"0")
    assert headers[agents.SOURCE_KEY_HEADER] == b"CLM-KEY"
    assert counted(harness.metrics, "events_consumed_total") == 1


def test_an_input_without_a_key_is_forwarded_without_a_key_header(harness: Harness) -> None:
    [forwarded] = asyncio.run(harness.validate_lines((None, encode(event("keyless")))))
    assert agents.SOURCE_KEY_HEADER not in dict(forwarded.headers)


def test_an_unreadable_record_is_dead_lettered_keyed_by_its_key_and_not_forwarded(
    harness: Harness,
) -> None:
    [letter] = asyncio.run(harness.validate_lines((b"\xffCLM", b"{not json")))
    assert (letter.topic, letter.key) == (harness.settings.topic_dead_letters, b"\xffCLM")
    assert letter.json["reason"] == "invalid_json"
    assert base64.b64decode(letter.json["payload_base64"]) == b"{not json"
    source = letter.json["source"]
    assert (source["topic"], source["partition"], source["offset"]) == (
        harness.settings.topic_lines,
        0,
        0,
    )
    assert base64.b64decode(source["key_base64"]) == b"\xffCLM"
    assert counted(harness.metrics, "dead_letters_total", reason="invalid_json") == 1


def test_a_forwarded_line_gets_its_verdict_history_and_claim_verdict(
    harness: Harness, validator: Validator
) -> None:
    doc = event("answered", claim={"total_lines": 1})
    sent = asyncio.run(harness.both(b"CLM-KEY", encode(doc)))
    [verdict] = harness.to(harness.topics.verdicts, sent)
    assert verdict.key == doc["claim"]["claim_id"].encode()
    assert verdict.json["event_id"] == doc["event_id"]
    [offline] = validate_offline(validator, [encode(doc)]).verdicts
    assert {**verdict.json, "validated_at": None} == {**offline, "validated_at": None}
    [claim_verdict] = harness.to(harness.topics.claim_verdicts, sent)
    assert (claim_verdict.json["claim_id"], claim_verdict.json["complete"]) == (
        doc["claim"]["claim_id"],
        True,
    )
    assert doc["claim"]["patient"]["patient_id"] in harness.tables.histories
    assert doc["claim"]["claim_id"] in harness.tables.claims
    assert set(harness.steps.deadlines.due) == {doc["claim"]["claim_id"]}
    assert harness.to(harness.topics.dead_letters, sent) == []


@pytest.mark.usefixtures("raising_rule")
def test_a_raising_rule_is_dead_lettered_keyed_by_the_input_key(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    """The letter comes from the second hop, yet names the input record: its key,
    as received, is the letter's key and source.key (docs/contract.md)."""
    doc = event("raises")
    caplog.set_level(logging.INFO, logger="streams.stream.agents")
    sent = asyncio.run(harness.both(b"CLM-INPUT-KEY", encode(doc)))
    assert harness.to(harness.topics.verdicts, sent) == []
    assert harness.to(harness.topics.claim_verdicts, sent) == []
    [letter] = harness.to(harness.topics.dead_letters, sent)
    assert letter.key == b"CLM-INPUT-KEY"
    assert letter.json["source"] == {
        "topic": harness.settings.topic_lines,
        "partition": 0,
        "offset": 0,
        "key": "CLM-INPUT-KEY",
        "key_base64": None,
    }
    assert letter.json["reason"] == "internal_error"
    assert base64.b64decode(letter.json["payload_base64"]) == encode(doc)
    assert f"rule evaluation failed for event_id={doc['event_id']}" in caplog.text
    assert SECRET not in caplog.text + letter.value.decode()
    assert counted(harness.metrics, "dead_letters_total", reason="internal_error") == 1


@pytest.mark.usefixtures("raising_rule")
def test_a_keyless_input_gives_a_keyless_letter_from_the_second_hop(harness: Harness) -> None:
    [letter] = asyncio.run(harness.both(None, encode(event("raises-keyless"))))
    assert letter.key is None
    assert letter.json["source"]["key"] is None


@pytest.mark.usefixtures("raising_rule")
def test_the_stream_and_the_offline_runner_dead_letter_a_raising_rule_alike(
    harness: Harness, validator: Validator
) -> None:
    docs = [event("alike-j9262"), event("alike-admin", line={"hcpcs": "96401"})]
    offline = validate_offline(validator, [encode(d) for d in docs]).dead_letters
    stream = [
        harness.to(harness.topics.dead_letters, asyncio.run(harness.both(b"K", encode(d))))[0]
        for d in docs
    ]
    same = ("reason", "detail", "errors", "event_id", "payload_base64")
    assert [{k: s.json[k] for k in same} for s in stream] == [
        {k: o[k] for k in same} for o in offline
    ]
    assert [o["detail"] for o in offline] == [
        f"validation raised ValueError; see the log for event_id {d['event_id']}" for d in docs
    ]


def test_a_claim_whose_state_does_not_parse_keeps_its_line_verdict(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    doc = event("bad-claim-state")
    harness.store(harness.tables.claims, doc["claim"]["claim_id"], b'{"claim_id": "CLM-SECRET"}')
    sent = asyncio.run(harness.both(b"K", encode(doc)))
    assert [v.json["event_id"] for v in harness.to(harness.topics.verdicts, sent)] == [
        doc["event_id"]
    ]
    assert harness.to(harness.topics.claim_verdicts, sent) == []
    assert "claim roll-up failed" in caplog.text
    assert "CLM-SECRET" not in caplog.text


def test_a_deadline_tick_sends_a_waiting_claims_verdict_and_forgets_it_after_retention(
    harness: Harness, validator: Validator
) -> None:
    line = make_event("waits", claim={"total_lines": 2})
    waiting = claim_with_line(validator, line).model_copy(
        update={"first_seen": datetime.now(UTC) - timedelta(days=1)}
    )
    harness.store(harness.tables.claims, waiting.claim_id, waiting)
    tick = ClaimMessage(kind="deadline", claim_id=waiting.claim_id)

    async def tick_once() -> None:
        async with harness.agents.claim_deadlines.test_context() as agent:
            await agent.put(tick, key=waiting.claim_id)

    asyncio.run(tick_once())
    [claim_verdict] = harness.to(harness.topics.claim_verdicts, harness.sent())
    assert claim_verdict.key == waiting.claim_id.encode()
    assert (claim_verdict.json["complete"], claim_verdict.json["total_lines"]) == (False, 2)
    retention = timedelta(seconds=harness.settings.claim_retention_s + 1)
    stored = harness.tables.claims[waiting.claim_id]
    assert stored.verdict_at is not None
    harness.store(
        harness.tables.claims,
        waiting.claim_id,
        stored.model_copy(update={"verdict_at": stored.verdict_at - retention}),
    )
    asyncio.run(tick_once())
    assert harness.to(harness.topics.claim_verdicts, harness.sent()) == []
    assert waiting.claim_id not in harness.tables.claims
    assert waiting.claim_id not in harness.steps.deadlines.due


def test_due_ticks_go_to_the_partitions_this_worker_holds(
    harness: Harness, validator: Validator
) -> None:
    past = datetime.now(UTC) - timedelta(days=1)
    for name, partition in (("here", 1), ("elsewhere", 2)):
        state = claim_with_line(validator, make_event(name, claim={"total_lines": 2}))
        harness.store(
            harness.tables.claims,
            state.claim_id,
            state.model_copy(update={"first_seen": past, "partition": partition}),
        )
    here = TP(harness.topics.claim_lines.get_topic_name(), 1)
    due = asyncio.run(harness.steps.due_ticks({here}, datetime.now(UTC)))
    assert [partition for _, partition in due] == [1]
    assert not harness.steps.deadlines.stale  # rebuilt from the table first
    assert asyncio.run(harness.steps.due_ticks({here}, datetime.now(UTC))) == []  # retried later


def test_gauges_sample_the_input_partitions_and_the_tables(harness: Harness) -> None:
    gauges, metrics = harness.agents.gauges, harness.metrics
    lines = harness.settings.topic_lines
    watched = gauges.begin({TP(lines, 0), TP("elsewhere", 0)})
    assert watched == {TP(lines, 0)}
    gauges.partition(TP(lines, 0), position=40, highwater=100, committed=30, now=10.0)
    gauges.partition(TP(lines, 0), position=50, highwater=None, committed=30, now=25.0)
    labels = {"topic": lines, "partition": "0"}
    assert counted(metrics, "consumer_lag_messages", **labels) == 60
    assert counted(metrics, "uncommitted_messages", **labels) == 20
    assert counted(metrics, "commit_stalled_seconds", **labels) == 15
    harness.store(harness.tables.histories, "P-1", PatientHistory())
    gauges.sizes()
    assert counted(metrics, "table_keys", table="patient-history") == 1
    assert counted(metrics, "table_keys", table="claims") == 0
    gauges.begin(set())
    assert counted(metrics, "consumer_lag_messages", **labels) == 0


def test_verdicts_and_dead_letters_carry_cloudevents_attributes(harness: Harness) -> None:
    """CloudEvents 1.0, Kafka binary mode: routers read type, id and subject from the
    headers; the id is the verdict's (stable across redeliveries) and never a patient's."""
    doc = event("cloud", claim={"total_lines": 1})
    [verdict] = harness.to(harness.topics.verdicts, asyncio.run(harness.both(b"K", encode(doc))))
    ce = dict(verdict.headers)
    assert ce["ce_specversion"] == b"1.0"
    assert ce["ce_type"] == b"org.j9262.claim-line-verdict.v1"
    assert ce["ce_id"] == verdict.json["verdict_id"].encode()
    assert ce["ce_subject"] == doc["claim"]["claim_id"].encode()
    assert ce["ce_source"] == f"/j9262-validator/{harness.settings.app_id}".encode()
    assert ce["content-type"] == b"application/json"
    assert doc["claim"]["patient"]["patient_id"].encode() not in b"".join(ce.values())
    [first] = asyncio.run(harness.validate_lines((b"K", b"{not json")))
    [again] = asyncio.run(harness.validate_lines((b"K", b"{not json")))
    letter = dict(first.headers)
    assert letter["ce_type"] == b"org.j9262.dead-letter.v1"
    assert "ce_subject" not in letter
    assert letter["ce_id"] == dict(again.headers)["ce_id"]  # the same record read again


# --- one hop: a line already on its patient's partition is answered where it is read --


def test_a_patients_next_line_reuses_the_history_its_last_line_wrote(
    validator: Validator,
) -> None:
    """Through the worker's own Faust table, with states held (`J9262_TABLE_CACHE_MB`):
    the second line of a patient reads the history the first wrote without parsing
    it, and the gauges count both kinds of read."""
    harness = make_harness(validator, Settings(_env_file=None, table_cache_mb=1))
    histories, metrics = harness.tables.histories, harness.metrics
    assert histories.cache_bytes == 1024 * 1024
    docs = [event(f"reuse-{n}", claim={"patient": {"patient_id": "P-reuse"}}) for n in (1, 2)]
    for doc in docs:
        asyncio.run(harness.both(b"P-reuse", encode(doc)))
    written = histories["P-reuse"]
    assert histories["P-reuse"] is written
    held = [ln.event_id for lines in written.lines.values() for ln in lines]
    assert held == [doc["event_id"] for doc in docs]
    harness.store(histories, "P-reuse", written)  # a recovery: the same state, new bytes
    assert histories["P-reuse"] == written
    assert histories["P-reuse"] is not written
    harness.agents.gauges.sizes()
    harness.agents.gauges.sizes()  # counted once, however often sampled
    cached = counted(metrics, "table_reads_total", table="patient-history", read="cached")
    parsed = counted(metrics, "table_reads_total", table="patient-history", read="parsed")
    assert (cached, parsed) == (histories.cached_reads, histories.parsed_reads)
    assert cached >= 2 and parsed >= 1


def input_with_partitions(harness: Harness, count: int | None) -> None:
    """The input topic's partition count, as the producer's metadata would give it;
    the agent asks for it before its first line."""

    async def lookup() -> int | None:
        return count

    harness.steps.home = HomePartition(harness.settings.topic_partitions, lookup)


def home_of(patient_id: str, harness: Harness) -> int:
    return partition_for(patient_id.encode(), harness.settings.topic_partitions)


def routed(metrics: Metrics) -> tuple[float, float]:
    return (
        counted(metrics, "lines_routed_total", route="local"),
        counted(metrics, "lines_routed_total", route="forwarded"),
    )


def test_a_batch_writes_each_patient_and_claim_once_with_the_offline_answers(
    harness: Harness, validator: Validator
) -> None:
    """Three lines of one claim in one batch: each table's changelog gets the last
    state once, on the patient's partition, and the verdicts are those of
    `j9262 validate`, which answers line by line."""
    input_with_partitions(harness, harness.settings.topic_partitions)
    docs = claim("batched", {}, {"service_date": "2026-03-02"}, {"units": 100})
    records = [encode(doc) for doc in docs]
    patient = docs[0]["claim"]["patient"]["patient_id"]
    home = home_of(patient, harness)

    sent = asyncio.run(
        harness.one_batch(
            harness.agents.validate_lines,
            [(r, {"key": patient.encode(), "partition": home}) for r in records],
        )
    )
    assert changelog_writes(sent) == [
        ("claims", docs[0]["claim"]["claim_id"], home),
        ("history", patient, home),
    ]
    harness.agents.gauges.sizes()
    for table in ("patient-history", "claims"):
        writes = {
            w: counted(harness.metrics, "table_writes_total", table=table, write=w)
            for w in ("written", "saved")
        }
        assert writes == {"written": 1, "saved": 2}
        assert counted(harness.metrics, "table_reads_total", table=table, read="batch") == 2
    offline = validate_offline(validator, records)
    verdicts = [orjson.loads(s.value) for s in harness.to(harness.topics.verdicts, sent)]
    assert [strip(v) for v in verdicts] == [strip(v) for v in offline.verdicts]
    line_by_line: dict[str, PatientHistory] = {}
    for doc in docs:
        answer_line(validator, ClaimLineEvent.model_validate(doc), line_by_line, 90)
    assert (
        harness.tables.histories.json(patient)
        == line_by_line[patient].model_dump_json(by_alias=True).encode()
    )


def strip(verdict: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in verdict.items() if k != "validated_at"}


def changelog_writes(sent: list[Sent]) -> list[tuple[str, str, int | None]]:
    """(table, key, partition) of each changelog record sent, sorted."""
    return sorted(
        (s.topic.split("-")[-2], s.key.decode(), s.partition)
        for s in sent
        if s.topic.endswith("-changelog")
    )


def test_a_line_on_its_patients_partition_is_answered_without_a_forward(
    harness: Harness, validator: Validator
) -> None:
    doc = event("local", claim={"total_lines": 1, "patient": {"patient_id": "P-local"}})
    input_with_partitions(harness, harness.settings.topic_partitions)
    home = home_of("P-local", harness)
    sent = asyncio.run(harness.validate_lines((b"P-local", encode(doc)), partition=home))
    assert harness.to(harness.topics.patient_lines, sent) == []
    [verdict] = harness.to(harness.topics.verdicts, sent)
    [offline] = validate_offline(validator, [encode(doc)]).verdicts
    assert {**verdict.json, "validated_at": None} == {**offline, "validated_at": None}
    assert dict(verdict.headers)["j9262-input-format"] == b"claim-line-event"
    [claim_verdict] = harness.to(harness.topics.claim_verdicts, sent)
    assert claim_verdict.json["complete"] is True
    changelogs = [s for s in sent if s.topic.endswith("-changelog")]
    assert {s.topic.split("-")[-2] for s in changelogs} == {"history", "claims"}
    assert {s.partition for s in changelogs} == {home}  # the line's own partition
    assert harness.steps.deadlines.due[doc["claim"]["claim_id"]][1] == home
    assert routed(harness.metrics) == (1, 0)


def test_a_local_line_gets_the_verdict_a_forwarded_one_gets(
    harness: Harness, validator: Validator
) -> None:
    """The same two lines of one patient, a duplicate across two claims: forwarded in
    one harness, answered in place in another; the same verdicts."""
    first = event("dup-1", claim={"patient": {"patient_id": "P-dup"}})
    second = event(
        "dup-2",
        claim={"claim_id": "CLM-dup-2", "patient": {"patient_id": "P-dup"}},
        line={k: first["line"][k] for k in ("hcpcs", "service_date", "units")},
    )
    forwarded = [
        harness.to(harness.topics.verdicts, asyncio.run(harness.both(b"K", encode(d))))[0]
        for d in (first, second)
    ]
    local_harness = make_harness(validator, Settings(_env_file=None))
    input_with_partitions(local_harness, local_harness.settings.topic_partitions)
    home = home_of("P-dup", local_harness)
    sent = asyncio.run(
        local_harness.validate_lines(
            (b"P-dup", encode(first)), (b"P-dup", encode(second)), partition=home
        )
    )
    local = local_harness.to(local_harness.topics.verdicts, sent)
    assert "DUPLICATE_LINE" in {f["code"] for f in local[1].json["findings"]}
    assert [{**v.json, "validated_at": None} for v in local] == [
        {**v.json, "validated_at": None} for v in forwarded
    ]
    assert routed(local_harness.metrics) == (2, 0)
    assert routed(harness.metrics) == (0, 2)


def test_a_line_on_another_partition_is_forwarded(harness: Harness) -> None:
    doc = event("elsewhere", claim={"patient": {"patient_id": "P-away"}})
    input_with_partitions(harness, harness.settings.topic_partitions)
    away = (home_of("P-away", harness) + 1) % harness.settings.topic_partitions
    sent = asyncio.run(harness.validate_lines((b"CLM-KEY", encode(doc)), partition=away))
    [forwarded] = sent
    assert (forwarded.topic, forwarded.key) == (
        harness.topics.patient_lines.get_topic_name(),
        b"P-away",
    )
    assert routed(harness.metrics) == (0, 1)


@pytest.mark.parametrize("count", [None, 8])
def test_an_input_topic_of_another_or_unknown_size_is_forwarded(
    harness: Harness, count: int | None
) -> None:
    """Partition n of an input with another count is not partition n of the tables."""
    doc = event("other-size", claim={"patient": {"patient_id": "P-size"}})
    input_with_partitions(harness, count)
    home = home_of("P-size", harness)
    [forwarded] = asyncio.run(harness.validate_lines((b"P-size", encode(doc)), partition=home))
    assert forwarded.topic == harness.topics.patient_lines.get_topic_name()
    assert routed(harness.metrics) == (0, 1)


def test_with_one_hop_off_every_line_is_forwarded(validator: Validator) -> None:
    off = make_harness(validator, Settings(_env_file=None, one_hop=False))
    assert off.steps.home is None
    doc = event("off", claim={"patient": {"patient_id": "P-off"}})
    home = home_of("P-off", off)
    [forwarded] = asyncio.run(off.validate_lines((b"P-off", encode(doc)), partition=home))
    assert forwarded.topic == off.topics.patient_lines.get_topic_name()
    assert routed(off.metrics) == (0, 1)


@pytest.mark.usefixtures("raising_rule")
def test_a_raising_rule_on_a_local_line_is_dead_lettered_as_from_the_second_hop(
    harness: Harness,
) -> None:
    doc = event("raises-local", claim={"patient": {"patient_id": "P-raise"}})
    forwarded = harness.to(
        harness.topics.dead_letters, asyncio.run(harness.both(b"P-raise", encode(doc)))
    )
    input_with_partitions(harness, harness.settings.topic_partitions)
    home = home_of("P-raise", harness)
    sent = asyncio.run(harness.validate_lines((b"P-raise", encode(doc)), partition=home))
    [letter] = harness.to(harness.topics.dead_letters, sent)
    [earlier] = forwarded
    assert letter.key == earlier.key == b"P-raise"
    same = ("reason", "detail", "payload_base64", "event_id")
    assert {k: letter.json[k] for k in same} == {k: earlier.json[k] for k in same}
    assert letter.json["source"]["partition"] == home
    assert dict(letter.headers)["j9262-input-format"] == b"claim-line-event"


def test_local_lines_in_one_batch_write_their_tables_on_their_own_partitions(
    harness: Harness,
) -> None:
    """validate-lines reads in batches, which Faust fills in another task: without
    `tables.writing_for` a table write finds no current event (Faust raises TypeError)
    and the line would be dead-lettered; with it, each line's changelog goes to the
    partition it was read from."""
    input_with_partitions(harness, harness.settings.topic_partitions)
    patients = ["P-batch-0", "P-batch-1", "P-batch-2", "P-batch-3", "P-batch-4"]
    homes = {p: home_of(p, harness) for p in patients}
    assert len(set(homes.values())) > 1  # the batch spans partitions

    sent = asyncio.run(
        harness.one_batch(
            harness.agents.validate_lines,
            [
                (
                    encode(event(p, claim={"total_lines": 1, "patient": {"patient_id": p}})),
                    {"key": p.encode(), "partition": home},
                )
                for p, home in homes.items()
            ],
        )
    )
    assert harness.to(harness.topics.dead_letters, sent) == []
    assert len(harness.to(harness.topics.verdicts, sent)) == len(patients)
    histories = [s for s in sent if s.topic.endswith("patient-history-changelog")]
    assert {(s.key.decode(), s.partition) for s in histories} == set(homes.items())
    assert routed(harness.metrics) == (len(patients), 0)


def test_forwarded_lines_in_one_batch_write_each_state_once_where_they_were_read(
    validator: Validator,
) -> None:
    """patient-lines takes forwarded lines in batches as validate-lines does: a claim's
    three lines write its claim state and its patient's history once, to the partition
    the forwarded records were read from, with the verdicts of `j9262 validate`."""
    off = make_harness(validator, Settings(_env_file=None, one_hop=False))
    docs = claim("forwarded-batch", {}, {"service_date": "2026-03-02"}, {"units": 100})
    records = [encode(doc) for doc in docs]
    patient = docs[0]["claim"]["patient"]["patient_id"]
    forwarded = [
        off.to(off.topics.patient_lines, asyncio.run(off.validate_lines((None, r))))[0]
        for r in records
    ]
    partition = 3
    sent = asyncio.run(
        off.one_batch(
            off.agents.patient_lines,
            [
                (f.value, {"key": f.key, "headers": f.headers, "partition": partition})
                for f in forwarded
            ],
            channel=off.forwarded_channel(),
        )
    )
    assert changelog_writes(sent) == [
        ("claims", docs[0]["claim"]["claim_id"], partition),
        ("history", patient, partition),
    ]
    offline = validate_offline(validator, records)
    verdicts = [orjson.loads(s.value) for s in off.to(off.topics.verdicts, sent)]
    assert [strip(v) for v in verdicts] == [strip(v) for v in offline.verdicts]


def test_a_failed_deadline_tick_is_taken_so_asyncio_does_not_report_it() -> None:
    """Nothing awaits a tick's send; the producer counts a failure. Untaken, asyncio
    reported each failed tick again, with a traceback, when it was dropped."""
    reports: list[str] = []

    async def ticks_fail() -> None:
        loop = asyncio.get_running_loop()
        loop.set_exception_handler(lambda _, context: reports.append(context["message"]))
        for taken in (True, False):  # the second, untaken, shows a report would come
            sent = loop.create_future()
            if taken:
                sent.add_done_callback(agents.taken)
            sent.set_exception(ConnectionError("broker gone"))
            await asyncio.sleep(0)  # the done callbacks run
            del sent
            gc.collect()

    asyncio.run(ticks_fail())
    assert reports == ["Future exception was never retrieved"]
