"""The worker's heap, frozen once built, is left out of the collector's passes."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from streams.ops import heap


@pytest.fixture
def unfrozen() -> Iterator[None]:
    """Each test starts and ends with nothing frozen (the offline runner freezes too)."""
    gc.unfreeze()
    yield
    gc.unfreeze()


class Node:
    def __init__(self) -> None:
        self.me = self  # a cycle: only the collector frees it


def test_what_lives_at_settling_is_frozen_and_what_is_dead_is_collected(unfrozen: None) -> None:
    kept = Node()
    dropped = weakref.ref(Node())
    frozen = heap.settle()
    assert frozen == gc.get_freeze_count() > 0
    tracked = {id(o) for o in gc.get_objects()}
    assert id(kept) not in tracked  # frozen: no generation holds it
    assert dropped() is None  # collected, not frozen


def test_objects_made_after_settling_are_still_collected(unfrozen: None) -> None:
    heap.settle()
    later = Node()
    assert id(later) in {id(o) for o in gc.get_objects()}
    del later
    assert gc.collect() > 0
