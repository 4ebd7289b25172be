"""The worker's long-lived objects kept out of the garbage collector's full passes.

A worker builds most of what it keeps at start (reference data, Faust's services,
modules) and then makes short-lived objects a line at a time. Python's full
collection walks every tracked object each time, and stops the worker while it
does: 111-152 ms a pass in a latency run (`bench.py`, `full_collections_ms`), the
receipt p99 of that third of the run. Frozen objects are never walked again, so a
full pass costs what was allocated since. Objects frozen here stay for the life of
the process even if they later become garbage in a cycle; that is why it is done
twice only, at start and once the tables are recovered, not after each rebalance
(docs/adr/0009-frozen-heap.md).
"""

from __future__ import annotations

import gc


def settle() -> int:
    """Collect what is garbage now, then freeze the rest: the number of objects frozen."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()
