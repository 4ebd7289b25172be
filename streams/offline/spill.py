"""A dict that keeps its most recently used values in memory and the rest on disk.

`j9262 validate` keeps a history per patient and a state per open claim, as the
stream keeps them in RocksDB-backed tables. Held in plain dicts they grow with
the file (a file whose lines all fall within the duplicate window keeps every
line); here at most `budget` units of them (lines, say) stay in memory and the
rest wait in an SQLite file in a temporary folder, removed when the map closes.
A key read back stays on disk too: the copy held in memory is the newer, and
replaces the one on disk when it is evicted, so reads and new keys cost no deletes.

What makes waiting on disk cheap enough to leave on (measured in
docs/performance/lean-path.md): evicted values are written a batch at a time in one
transaction (one statement a value, each its own transaction, cost about 30 µs);
a key never written is known absent without a query, by a Bloom filter of the keys
on disk (most keys a run asks for are new: a new claim, a new patient); and a map
can store its values as the stream's tables do, as JSON (`dump`, `load`), which
for a pydantic model costs half or less of what pickling it does.
"""

from __future__ import annotations

import pickle
import sqlite3
import tempfile
from collections import OrderedDict
from collections.abc import Callable, Iterator, MutableMapping
from contextlib import suppress
from pathlib import Path
from typing import Any, Generic, TypeVar

V = TypeVar("V")
_ABSENT: Any = object()

WRITE_BATCH = 512
"""Evicted values written to disk together, in one transaction."""


def _pickled(value: Any) -> bytes:
    return pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)


class KeyFilter:
    """The keys written to disk, as a Bloom filter: `maybe(key)` is False only for a
    key never added, and True for an absent key about once in a hundred (then the
    query says no). About 1.2 bytes a key: when it holds what it was sized for, the
    map builds one twice as large from the keys on disk."""

    BITS_PER_KEY = 10
    PROBES = 4

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.count = 0
        self._bits = capacity * self.BITS_PER_KEY
        self._table = bytearray(self._bits // 8 + 1)

    def _positions(self, key: str) -> list[int]:
        """The key's bits: double hashing from its 64-bit hash (this process's only)."""
        h = hash(key) & 0xFFFF_FFFF_FFFF_FFFF
        step = (h >> 32) | 1
        return [(h + i * step) % self._bits for i in range(self.PROBES)]

    def add(self, key: str) -> None:
        for p in self._positions(key):
            self._table[p >> 3] |= 1 << (p & 7)
        self.count += 1

    def maybe(self, key: str) -> bool:
        """`_positions`, inlined and stopping at the first clear bit: most keys asked
        about are new, and their first bit is clear nine times in ten or more."""
        h = hash(key) & 0xFFFF_FFFF_FFFF_FFFF
        step = (h >> 32) | 1
        bits, table = self._bits, self._table
        for i in range(self.PROBES):
            p = (h + i * step) % bits
            if not table[p >> 3] & (1 << (p & 7)):
                return False
        return True


class SpillError(OSError):
    """The state waiting on disk could not be written or read back (a full disk, say):
    an OSError, so `j9262 validate` stops with one line and writes no output file."""


class _Disk:
    """The SQLite file, its errors raised as SpillError."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._db = self._guarded(sqlite3.connect, path, isolation_level=None)

    def _guarded(self, call: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        try:
            return call(*args, **kwargs)
        except sqlite3.Error as exc:
            raise SpillError(f"state waiting on disk in {self.path.parent}: {exc}") from None

    def run(self, sql: str, params: tuple[Any, ...] = ()) -> sqlite3.Cursor:
        return self._guarded(self._db.execute, sql, params)  # type: ignore[no-any-return]

    def one(self, sql: str, params: tuple[Any, ...] = ()) -> Any:
        return self._guarded(lambda: self._db.execute(sql, params).fetchone())

    def all(self, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
        return self._guarded(lambda: self._db.execute(sql, params).fetchall())  # type: ignore[no-any-return]

    def many(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        self._guarded(self._db.executemany, sql, rows)

    def close(self) -> None:
        self._db.close()


class SpillMap(MutableMapping[str, V], Generic[V]):
    def __init__(
        self,
        budget: int,
        weight: Callable[[V], int] = lambda _: 1,
        *,
        dump: Callable[[V], bytes] = _pickled,
        load: Callable[[bytes], V] = pickle.loads,
        write_batch: int | None = None,
        write_weight: int | None = None,
    ) -> None:
        self._budget = budget
        self._weight = weight
        self._dump = dump
        self._load = load
        self._cache: OrderedDict[str, tuple[V, int]] = OrderedDict()
        self._held = 0
        self._write_batch = WRITE_BATCH if write_batch is None else write_batch
        self._write_weight = -(-budget // 16) if write_weight is None else write_weight
        self._pending: dict[str, tuple[V, int]] = {}
        """Evicted values not written yet, with their weights: written `write_batch` at
        a time, or sooner once they weigh `write_weight`, by default a sixteenth of the
        budget (so the values waiting add at most that to memory: a long history weighs
        many lines)."""
        self._pending_weight = 0
        self._on_disk = KeyFilter(4096)
        self._spilled = False
        """Whether anything was ever written to disk."""
        self._folder = tempfile.TemporaryDirectory(prefix="j9262-validate-")
        self._db = _Disk(Path(self._folder.name) / "state.sqlite")
        self._db.run("PRAGMA journal_mode=OFF")
        self._db.run("PRAGMA synchronous=OFF")
        self._db.run("PRAGMA locking_mode=EXCLUSIVE")  # no lock taken and freed a query
        self._db.run(
            "CREATE TABLE kv (id INTEGER PRIMARY KEY AUTOINCREMENT, k TEXT UNIQUE NOT NULL, v BLOB)"
        )

    def close(self) -> None:
        self._db.close()
        self._folder.cleanup()

    def __enter__(self) -> SpillMap[V]:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def __getitem__(self, key: str) -> V:
        value = self.get(key, _ABSENT)
        if value is _ABSENT:
            raise KeyError(key)
        return value  # type: ignore[no-any-return]

    def get(self, key: str, default: Any = None) -> Any:
        """As `__getitem__`, without raising and catching KeyError for a new key (the
        runner asks for each line's patient and claim)."""
        hit = self._cache.get(key)
        if hit is not None:
            self._cache.move_to_end(key)
            return hit[0]
        value = self._read(key)
        if value is _ABSENT:
            return default
        self._drop_pending(key)  # held again: written when next evicted
        self._hold(key, value)
        return value

    def __contains__(self, key: object) -> bool:
        return key in self._cache or (isinstance(key, str) and self._read(key) is not _ABSENT)

    def __setitem__(self, key: str, value: V) -> None:
        # A copy left on disk is older than the one held; eviction overwrites it.
        self._drop_cached(key)
        self._drop_pending(key)
        self._hold(key, value)

    def __delitem__(self, key: str) -> None:
        cached = self._drop_cached(key)
        pending = self._drop_pending(key) is not _ABSENT
        on_disk = self._on_disk.maybe(key) and bool(
            self._db.run("DELETE FROM kv WHERE k = ?", (key,)).rowcount
        )
        if not (cached or pending or on_disk):
            raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        """Every key held when iteration starts, once, even if values change meanwhile."""
        self._spill_all()
        # Rows written from here on get larger ids (AUTOINCREMENT never reuses one,
        # and a REPLACE is a new row).
        last = self._db.one("SELECT coalesce(max(id), 0) FROM kv")[0]
        after = 0
        while rows := self._db.all(
            "SELECT id, k FROM kv WHERE id > ? AND id <= ? ORDER BY id LIMIT 1000",
            (after, last),
        ):
            after = rows[-1][0]
            yield from (k for _, k in rows)

    def __len__(self) -> int:
        if not self._pending and not self._spilled:
            return len(self._cache)
        self._spill_all()
        count: int = self._db.one("SELECT count(*) FROM kv")[0]
        return count

    def _read(self, key: str) -> Any:
        """The value evicted or on disk, or _ABSENT. A key the filter has not seen
        costs no query."""
        waiting = self._pending.get(key)
        if waiting is not None:
            return waiting[0]
        if not self._on_disk.maybe(key):
            return _ABSENT
        row = self._db.one("SELECT v FROM kv WHERE k = ?", (key,))
        return _ABSENT if row is None else self._load(row[0])

    def _hold(self, key: str, value: V) -> None:
        weight = self._weight(value)
        self._cache[key] = (value, weight)
        self._held += weight
        while self._held > self._budget and len(self._cache) > 1:
            self._evict_oldest()
        if len(self._pending) >= self._write_batch or self._pending_weight >= self._write_weight:
            self._flush()

    def _evict_oldest(self) -> None:
        """The least recently used value leaves memory to wait for the next write."""
        key, (value, weight) = self._cache.popitem(last=False)
        self._held -= weight
        self._pending[key] = (value, weight)
        self._pending_weight += weight

    def _drop_cached(self, key: str) -> bool:
        cached = self._cache.pop(key, None)
        if cached is not None:
            self._held -= cached[1]
        return cached is not None

    def _drop_pending(self, key: str) -> Any:
        """The value waiting to be written under `key`, no longer waiting, or _ABSENT."""
        waiting = self._pending.pop(key, None)
        if waiting is None:
            return _ABSENT
        self._pending_weight -= waiting[1]
        return waiting[0]

    def _flush(self) -> None:
        """Write the evicted values in one transaction."""
        if not self._pending:
            return
        rows = [(key, self._dump(value)) for key, (value, _) in self._pending.items()]
        self._pending.clear()
        self._pending_weight = 0
        if self._on_disk.count + len(rows) > self._on_disk.capacity:
            self._on_disk = self._larger_filter(len(rows))
        for key, _ in rows:
            self._on_disk.add(key)
        self._spilled = True
        self._db.run("BEGIN")
        try:
            self._db.many("INSERT OR REPLACE INTO kv (k, v) VALUES (?, ?)", rows)
        except BaseException:
            with suppress(SpillError):
                self._db.run("ROLLBACK")
            raise
        self._db.run("COMMIT")

    def _larger_filter(self, adding: int) -> KeyFilter:
        """A filter of the keys on disk with room for twice as many and `adding`."""
        larger = KeyFilter(2 * (self._on_disk.count + adding))
        for (key,) in self._db.all("SELECT k FROM kv"):
            larger.add(key)
        return larger

    def _spill_all(self) -> None:
        while self._cache:
            self._evict_oldest()
        self._flush()
