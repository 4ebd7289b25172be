"""The partition a patient key lands on, as the forward and a patient-keyed publisher
put it, and when an input record counts as already there."""

from __future__ import annotations

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


def test_a_record_is_home_only_on_its_patients_partition_with_the_same_count() -> None:
    patient = "P-home"
    home = partition_for(patient.encode(), 4)
    same = HomePartition(4, lambda: 4)
    assert same.holds(home, patient)
    assert not any(same.holds(p, patient) for p in range(4) if p != home)
    assert not same.holds(None, patient)
    assert not HomePartition(4, lambda: 8).holds(home, patient)


def test_an_unknown_count_forwards_and_is_asked_again_until_known() -> None:
    counts = iter([None, 4])
    asked: list[int | None] = []

    def count() -> int | None:
        asked.append(value := next(counts))
        return value

    home = HomePartition(4, count)
    patient = "P-later"
    at = partition_for(patient.encode(), 4)
    assert not home.holds(at, patient)
    assert home.holds(at, patient)
    assert home.holds(at, patient)
    assert asked == [None, 4]  # cached once known


def test_a_rebalance_has_the_count_asked_again() -> None:
    counts = iter([4, 6])
    home = HomePartition(4, lambda: next(counts))
    patient = "P-grown"
    at = partition_for(patient.encode(), 4)
    assert home.holds(at, patient)
    home.forget()
    assert not home.holds(at, patient)


def test_a_publisher_keys_by_patient_with_the_events_patient_id() -> None:
    doc = event("keyed", claim={"patient": {"patient_id": "P-ключ"}})
    assert patient_key_of(encode(doc)) == "P-ключ".encode()
    assert patient_key_of(b"{not json") is None
    assert patient_key_of(b'{"claim": {"patient": {"patient_id": 7}}}') is None
