"""One hop per line through the broker and a worker: a patient's lines keyed by patient
id are answered where they are read, keyed by claim id through the patient topic, with
the same verdicts, history findings included."""

from __future__ import annotations

import asyncio
import zlib
from typing import Any

import pytest
from confluent_kafka import Producer

from streams.samples import ADMIN_96401, claim, encode, event
from streams.settings import Settings
from streams.stream.kafka.clients import key_of, patient_key_of, scrape_metrics
from streams.stream.kafka.partitions import partition_for
from tests.integration.conftest import Workers, publish_and_wait, read_until
from tests.integration.test_reliability import kill_one_of_two, on_treatment
from tests.integration.test_stateful_stream import by_event, codes, wait_ready

pytestmark = pytest.mark.integration


def claim_id_off(patient_id: str, name: str, partitions: int) -> str:
    """A claim id whose key lands on another partition than its patient's, so a line
    keyed by it must take the second hop."""
    home = partition_for(patient_id.encode(), partitions)
    n = 0
    while partition_for(f"CLM-{name}-{n}".encode(), partitions) == home:
        n += 1
    return f"CLM-{name}-{n}"


def patient_lines(prefix: str, partitions: int) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """A two-line claim of one patient, and a second claim repeating its J9262 line."""
    patient = f"P-{prefix}"

    def of(name: str, *lines: dict[str, Any]) -> list[dict[str, Any]]:
        ident = claim_id_off(patient, f"{prefix}-{name}", partitions)
        return claim(
            f"{prefix}-{name}",
            *lines,
            claim={"claim_id": ident, "patient": {"patient_id": patient}},
        )

    first = of("first", {}, ADMIN_96401)
    [again] = of("again", {})
    return first, again


def routed(settings: Settings) -> tuple[float, float]:
    series = scrape_metrics(settings).get("j9262_lines_routed_total", {})
    return series.get((("route", "local"),), 0.0), series.get((("route", "forwarded"),), 0.0)


def outcome(verdicts: dict[str, dict[str, Any]], docs: list[dict[str, Any]]) -> list[Any]:
    return [(verdicts[d["event_id"]]["disposition"], codes(verdicts[d["event_id"]])) for d in docs]


def test_lines_keyed_by_patient_are_answered_in_one_hop_alike(
    settings: Settings, workers: Workers
) -> None:
    workers.start()
    wait_ready(settings)
    n = settings.topic_partitions

    # Keyed by patient: one partition, in order, so the repeat follows its original
    # even when both are published at once.
    first, again = patient_lines("byp", n)
    local = by_event(publish_and_wait(settings, [*first, again], key=patient_key_of))
    assert routed(settings) == (3, 0)

    # Keyed by claim: each line forwarded; the repeat waits for its original's verdict,
    # since lines of two claims may be answered in either order.
    first_c, again_c = patient_lines("byc", n)
    assert all(
        partition_for(key_of(encode(d)) or b"", n)
        != partition_for(d["claim"]["patient"]["patient_id"].encode(), n)
        for d in [*first_c, again_c]
    )
    forwarded = by_event(publish_and_wait(settings, first_c))
    forwarded |= by_event(publish_and_wait(settings, [again_c]))
    assert routed(settings) == (3, 3)

    assert outcome(local, [*first, again]) == outcome(forwarded, [*first_c, again_c])
    assert codes(local[again["event_id"]]) == ["DUPLICATE_LINE"]
    assert codes(local[first[0]["event_id"]]) == []

    # Both paths roll the claims up.
    claim_ids = {d["claim"]["claim_id"] for d in (first[0], again, first_c[0], again_c)}
    rolled = asyncio.run(
        read_until(
            settings,
            settings.topic_claim_verdicts,
            lambda found: claim_ids <= {c["claim_id"] for c in found if c["complete"]},
            timeout=60,
        )
    )
    done = {c["claim_id"]: c for c in rolled if c["complete"]}
    assert [
        (done[d["claim"]["claim_id"]]["disposition"], codes(done[d["claim"]["claim_id"]]))
        for d in (first[0], again)
    ] == [
        (done[d["claim"]["claim_id"]]["disposition"], codes(done[d["claim"]["claim_id"]]))
        for d in (first_c[0], again_c)
    ]
    log = workers.log()
    assert "Traceback" not in log, log[-3000:]
    assert "heap settled once tables were recovered" in log  # streams.ops.heap


def test_keyed_by_patient_two_workers_one_killed_the_other_takes_over(
    settings: Settings, workers: Workers
) -> None:
    """Lines answered where they are read, through a kill -9 and the rebalance after it:
    every line answered, and a line answered twice answered alike (its history came
    back from the changelog the first answer wrote)."""
    kill_one_of_two(settings, workers, on_treatment("onehop-pair", 6000, 300), patient_key_of)
    local, forwarded = routed(settings)
    assert local > 0
    assert forwarded == 0


def test_librdkafka_keyed_by_patient_with_murmur2_is_answered_in_one_hop(
    settings: Settings, workers: Workers
) -> None:
    """The contract tells librdkafka users to set `partitioner=murmur2_random`: a client
    nobody here wrote then lands each line on its patient's partition, as aiokafka and
    the Java client do. Its default (`consistent_random`, CRC32) lands some elsewhere:
    those are forwarded, and answered alike."""
    workers.start()
    wait_ready(settings)
    n = settings.topic_partitions
    docs = {
        partitioner: [
            event(
                f"rd-{partitioner}-{i}",
                claim={"patient": {"patient_id": f"P-rd-{partitioner[:3]}-{i}"}},
            )
            for i in range(40)
        ]
        for partitioner in ("murmur2_random", "consistent_random")
    }
    # CRC32 and murmur2 disagree on some of these patients, so the default must forward.
    assert any(
        zlib.crc32(d["claim"]["patient"]["patient_id"].encode()) % n
        != partition_for(d["claim"]["patient"]["patient_id"].encode(), n)
        for d in docs["consistent_random"]
    )
    answered: dict[str, dict[str, Any]] = {}
    for partitioner, batch in docs.items():
        producer = Producer(
            {"bootstrap.servers": ",".join(settings.bootstrap_servers), "partitioner": partitioner}
        )
        failures: list[Any] = []
        for d in batch:
            producer.produce(
                settings.topic_lines,
                encode(d),
                d["claim"]["patient"]["patient_id"].encode(),
                on_delivery=lambda error, _, f=failures: f.append(error) if error else None,
            )
        assert (producer.flush(60), failures) == (0, [])
        answered |= by_event(
            asyncio.run(
                read_until(
                    settings,
                    settings.topic_verdicts,
                    lambda found, b=batch: (
                        {d["event_id"] for d in b} <= {v["event_id"] for v in found}
                    ),
                    timeout=120,
                )
            )
        )
        if partitioner == "murmur2_random":
            assert routed(settings) == (len(batch), 0)
    local, forwarded = routed(settings)
    assert forwarded > 0 and local + forwarded == 2 * len(docs["murmur2_random"])
    assert {answered[d["event_id"]]["disposition"] for b in docs.values() for d in b} == {"pass"}
