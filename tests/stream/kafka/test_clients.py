"""The plain reader's fetch: aiokafka's own for Kafka, jump-checked for the embedded
broker (streams.stream.kafka.compat.JumpCheckedFetch)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, cast

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from streams.settings import Settings
from streams.stream.kafka import compat
from streams.stream.kafka.clients import PlainFetch, fetch_for, reader_for

P0, P1 = TopicPartition("verdicts", 0), TopicPartition("verdicts", 1)


@pytest.mark.parametrize(
    ("mode", "kind"), [("kafka", PlainFetch), ("tansu", compat.JumpCheckedFetch)]
)
def test_the_reader_fetches_as_the_setting_says(mode: str, kind: type) -> None:
    settings = Settings(_env_file=None, broker_compat=mode)

    async def built() -> object:
        return await fetch_for(settings, reader_for(settings))

    assert type(asyncio.run(built())) is kind


@dataclass
class Record:
    offset: int


class Scripted:
    """What a broker hands the reader, one fetch at a time, and where it is sent back.
    After a seek the next fetch starts there, as aiokafka's does."""

    def __init__(self, fetches: list[dict[TopicPartition, list[int]]]) -> None:
        self.fetches = fetches
        self.sought: list[tuple[TopicPartition, int]] = []

    async def getmany(self, *, timeout_ms: int, max_records: int) -> dict[Any, list[Record]]:
        batch = self.fetches.pop(0)
        return {tp: [Record(o) for o in offsets] for tp, offsets in batch.items()}

    def seek(self, tp: TopicPartition, offset: int) -> None:
        self.sought.append((tp, offset))

    async def position(self, tp: TopicPartition) -> int:
        return 0


def read(
    fetches: list[dict[TopicPartition, list[int]]], *, begin: bool = False
) -> tuple[list[dict[TopicPartition, list[int]]], list[tuple[TopicPartition, int]]]:
    consumer = Scripted(fetches)
    fetch = compat.JumpCheckedFetch(cast(AIOKafkaConsumer, consumer))

    async def run() -> list[dict[TopicPartition, list[int]]]:
        if begin:
            await fetch.begin([P0])
        taken = []
        while consumer.fetches:
            batches = await fetch(100)
            taken.append({tp: [m.offset for m in ms] for tp, ms in batches.items()})
        return taken

    return asyncio.run(run()), consumer.sought


def test_offsets_in_sequence_are_taken() -> None:
    taken, sought = read([{P0: [0, 1]}, {P0: [2, 3]}])
    assert taken == [{P0: [0, 1]}, {P0: [2, 3]}]
    assert sought == []


def test_a_jump_is_fetched_again_from_the_first_offset_not_seen() -> None:
    """The batch 3-6 was being stored when 7 was served; it is there on the second fetch."""
    taken, sought = read([{P0: [0, 1, 2, 7, 8]}, {P0: [3, 4, 5, 6, 7, 8]}])
    assert taken == [{P0: [0, 1, 2]}, {P0: [3, 4, 5, 6, 7, 8]}]
    assert sought == [(P0, 3)]


def test_a_jump_seen_twice_is_real_and_read_past() -> None:
    taken, sought = read([{P0: [0, 5]}, {P0: [5, 6]}, {P0: [9, 10]}, {P0: [9, 10]}])
    assert taken == [{P0: [0]}, {P0: [5, 6]}, {P0: []}, {P0: [9, 10]}]
    assert sought == [(P0, 1), (P0, 7)], "a later jump is checked too, once"


def test_the_first_record_is_checked_against_the_start() -> None:
    taken, sought = read([{P0: [4], P1: [4]}, {P0: [0, 1, 2, 3, 4]}], begin=True)
    assert taken == [{P0: [], P1: [4]}, {P0: [0, 1, 2, 3, 4]}], "P1 has no start known"
    assert sought == [(P0, 0)]


def test_partitions_are_checked_apart() -> None:
    taken, sought = read([{P0: [0], P1: [10]}, {P1: [11], P0: [1, 3]}])
    assert taken == [{P0: [0], P1: [10]}, {P1: [11], P0: [1]}]
    assert sought == [(P0, 2)]
