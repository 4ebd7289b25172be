"""Where a keyed record lands, so a line already there is answered without a second hop.

The forward to the patient topic sends `key=patient_id` and lets the producer's
default partitioner choose: aiokafka's, Java's murmur2 of the key's bytes. A
publisher keying by patient with the same partitioner puts a line on the partition
its patient's state already lives on (the input, the internal topics and the
changelogs share a partition count, so Faust's assignor hands them out together).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiokafka.partitioner import murmur2

log = logging.getLogger(__name__)


def partition_for(key: bytes, partitions: int) -> int:
    """The partition aiokafka's DefaultPartitioner (and Java's) picks for `key`."""
    hashed: int = murmur2(key)
    return (hashed & 0x7FFFFFFF) % partitions


class HomePartition:
    """Whether an input record already sits on its patient's partition.

    Only when the input topic has exactly `partitions` partitions: with another
    count the same number names a different partition of the tables. `learn` asks
    `count` for the input's partition count once, and again after each rebalance
    (`forget`); until it is known, or if asking failed, every line is forwarded,
    as before one hop existed.
    """

    def __init__(self, partitions: int, count: Callable[[], Awaitable[int | None]]) -> None:
        self.partitions = partitions
        self._count = count
        self._input_partitions: int | None = None
        self.asked = False

    def forget(self) -> None:
        """A rebalance may come with new metadata: ask for the count again."""
        self.asked = False

    async def learn(self) -> None:
        self.asked = True
        try:
            self._input_partitions = await self._count()
        except Exception as exc:  # no metadata: forwarding is always correct
            self._input_partitions = None
            log.warning("input partition count unknown (%r): every line is forwarded", exc)
        if self._input_partitions not in (None, self.partitions):
            log.warning(
                "the input topic has %s partitions, J9262_TOPIC_PARTITIONS is %s: "
                "every line is forwarded (docs/contract.md, input keys)",
                self._input_partitions,
                self.partitions,
            )

    def holds(self, partition: int | None, patient_id: str) -> bool:
        return (
            partition is not None
            and self._input_partitions == self.partitions
            and partition == partition_for(patient_id.encode(), self.partitions)
        )
