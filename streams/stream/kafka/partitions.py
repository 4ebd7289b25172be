"""Where a keyed record lands, so a line already there is answered without a second hop.

The forward to the patient topic sends `key=patient_id` and lets the producer's
default partitioner choose: aiokafka's, Java's murmur2 of the key's bytes. A
publisher keying by patient with the same partitioner puts a line on the partition
its patient's state already lives on (the input, the internal topics and the
changelogs share a partition count, so Faust's assignor hands them out together).
"""

from __future__ import annotations

from collections.abc import Callable

from aiokafka.partitioner import murmur2


def partition_for(key: bytes, partitions: int) -> int:
    """The partition aiokafka's DefaultPartitioner (and Java's) picks for `key`."""
    hashed: int = murmur2(key)
    return (hashed & 0x7FFFFFFF) % partitions


class HomePartition:
    """Whether an input record already sits on its patient's partition.

    Only when the input topic has exactly `partitions` partitions: with another
    count the same number names a different partition of the tables. The count
    comes from the consumer's metadata (`count`), asked again after a rebalance;
    while it is unknown every line is forwarded, as before one-hop existed.
    """

    def __init__(self, partitions: int, count: Callable[[], int | None]) -> None:
        self.partitions = partitions
        self._count = count
        self._input_partitions: int | None = None

    def forget(self) -> None:
        """A rebalance may come with new metadata: ask for the count again."""
        self._input_partitions = None

    def holds(self, partition: int | None, patient_id: str) -> bool:
        if partition is None:
            return False
        if self._input_partitions is None:
            self._input_partitions = self._count()
        return self._input_partitions == self.partitions and partition == partition_for(
            patient_id.encode(), self.partitions
        )
