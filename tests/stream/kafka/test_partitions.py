"""The partition a patient key lands on, as the forward and a patient-keyed publisher
put it, and when an input record counts as already there."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest
from aiokafka.partitioner import DefaultPartitioner, murmur2

from streams.samples import encode, event
from streams.stream.kafka.clients import patient_key_of
from streams.stream.kafka.partitions import HomePartition, partition_for

# org.apache.kafka.common.utils.UtilsTest.testMurmur2: Java's signed results.
JAVA_MURMUR2 = {
    b"21": -973932308,
    b"foobar": -790332482,
    b"a-little-bit-long-string": -985981536,
    b"a-little-bit-longer-string": -1486304829,
    b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8": -58897971,
    b"abc": 479470107,
}


@pytest.mark.parametrize(("key", "java"), JAVA_MURMUR2.items())
def test_the_hash_is_javas_murmur2(key: bytes, java: int) -> None:
    assert murmur2(key) == java % 2**32
    for partitions in (1, 4, 7, 12):
        assert partition_for(key, partitions) == (java & 0x7FFFFFFF) % partitions


@pytest.mark.parametrize("partitions", [1, 2, 4, 6, 12])
def test_the_partition_is_the_one_aiokafkas_default_partitioner_picks(partitions: int) -> None:
    everyone = list(range(partitions))
    for i in range(500):
        key = f"PAT-{i:05d}-é".encode()
        assert partition_for(key, partitions) == DefaultPartitioner()(key, everyone, everyone)


def counts(*answers: int | Exception | None) -> Callable[[], Awaitable[int | None]]:
    """A partition count lookup that gives these answers in turn."""
    given = iter(answers)

    async def count() -> int | None:
        answer = next(given)
        if isinstance(answer, Exception):
            raise answer
        return answer

    return count


def learned(home: HomePartition) -> HomePartition:
    asyncio.run(home.learn())
    return home


def test_a_record_is_home_only_on_its_patients_partition_with_the_same_count() -> None:
    patient = "P-home"
    home = partition_for(patient.encode(), 4)
    same = learned(HomePartition(4, counts(4)))
    assert same.holds(home, patient)
    assert not any(same.holds(p, patient) for p in range(4) if p != home)
    assert not same.holds(None, patient)
    assert not learned(HomePartition(4, counts(8))).holds(home, patient)


def test_until_the_count_is_known_every_line_is_forwarded() -> None:
    patient = "P-later"
    at = partition_for(patient.encode(), 4)
    home = HomePartition(4, counts(None, 4))
    assert not home.asked
    assert not home.holds(at, patient)
    asyncio.run(home.learn())
    assert home.asked
    assert not home.holds(at, patient)  # unknown topic: asked again after a rebalance
    home.forget()
    asyncio.run(home.learn())
    assert home.holds(at, patient)


def test_a_failed_lookup_forwards_and_a_rebalance_asks_again(
    caplog: pytest.LogCaptureFixture,
) -> None:
    patient = "P-grown"
    at = partition_for(patient.encode(), 4)
    home = learned(HomePartition(4, counts(4, TimeoutError("no metadata"), 6)))
    assert home.holds(at, patient)
    home.forget()
    asyncio.run(home.learn())
    assert not home.holds(at, patient)
    assert "every line is forwarded" in caplog.text
    home.forget()
    asyncio.run(home.learn())
    assert not home.holds(at, patient)  # the input grew: partition n is no longer the tables'


def test_a_publisher_keys_by_patient_with_the_events_patient_id() -> None:
    doc = event("keyed", claim={"patient": {"patient_id": "P-ключ"}})
    assert patient_key_of(encode(doc)) == "P-ключ".encode()
    assert patient_key_of(b"{not json") is None
    assert patient_key_of(b'{"claim": {"patient": {"patient_id": 7}}}') is None
