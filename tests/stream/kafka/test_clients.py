"""The reader's check on jumps in a partition's offsets.

See streams.stream.kafka.clients.GapCheck.
"""

from __future__ import annotations

from aiokafka import TopicPartition

from streams.stream.kafka.clients import GapCheck

P0, P1 = TopicPartition("verdicts", 0), TopicPartition("verdicts", 1)


def taken(check: GapCheck, partition: TopicPartition, offsets: list[int]) -> list[int | None]:
    return [check.check(partition, o) for o in offsets]


def test_offsets_in_sequence_are_taken() -> None:
    check = GapCheck()
    assert taken(check, P0, [0, 1, 2, 3]) == [None] * 4


def test_a_jump_is_fetched_again_from_the_first_offset_not_seen() -> None:
    check = GapCheck()
    assert taken(check, P0, [0, 1, 2]) == [None] * 3
    assert check.check(P0, 7) == 3
    # The batch that was being stored is there on the second fetch.
    assert taken(check, P0, [3, 4, 5, 6, 7, 8]) == [None] * 6


def test_a_jump_seen_twice_is_real_and_read_past() -> None:
    check = GapCheck()
    check.check(P0, 0)
    assert check.check(P0, 5) == 1
    assert taken(check, P0, [5, 6]) == [None, None]
    # A later jump is checked again, once.
    assert check.check(P0, 9) == 7
    assert taken(check, P0, [9, 10]) == [None, None]


def test_the_first_record_is_checked_against_a_known_start() -> None:
    check = GapCheck()
    check.expected[P0] = 0
    assert check.check(P0, 4) == 0
    assert check.check(P1, 4) is None, "no start known: nothing to compare with"


def test_partitions_are_checked_apart() -> None:
    check = GapCheck()
    check.check(P0, 0)
    check.check(P1, 10)
    assert check.check(P1, 11) is None
    assert check.check(P0, 1) is None
    assert check.check(P0, 3) == 2
