"""A dict that keeps its most recently used values in memory and the rest on disk.

`j9262 validate` keeps a history per patient and a state per open claim, as the
stream keeps them in RocksDB-backed tables. Held in plain dicts they grow with
the file (a file whose lines all fall within the duplicate window keeps every
line); here at most `budget` units of them (lines, say) stay in memory and the
rest wait in an SQLite file in a temporary folder, removed when the map closes.
Values are pickled: the file is private to this run and read only by it. A key
read back stays on disk too: the copy held in memory is the newer, and replaces
the one on disk when it is evicted, so reads and new keys cost no deletes.
"""

from __future__ import annotations

import pickle
import sqlite3
import tempfile
from collections import OrderedDict
from collections.abc import Callable, Iterator, MutableMapping
from pathlib import Path
from typing import Any, Generic, TypeVar

V = TypeVar("V")
_ABSENT: Any = object()


class SpillMap(MutableMapping[str, V], Generic[V]):
    def __init__(self, budget: int, weight: Callable[[V], int] = lambda _: 1) -> None:
        self._budget = budget
        self._weight = weight
        self._cache: OrderedDict[str, tuple[V, int]] = OrderedDict()
        self._held = 0
        self._folder = tempfile.TemporaryDirectory(prefix="j9262-validate-")
        self._db = sqlite3.connect(Path(self._folder.name) / "state.sqlite", isolation_level=None)
        self._db.execute("PRAGMA journal_mode=OFF")
        self._db.execute("PRAGMA synchronous=OFF")
        self._db.execute(
            "CREATE TABLE kv (id INTEGER PRIMARY KEY AUTOINCREMENT, k TEXT UNIQUE NOT NULL, v BLOB)"
        )
        self._spilled = False
        """Whether anything was ever written to disk: until then no read queries it."""

    def close(self) -> None:
        self._db.close()
        self._folder.cleanup()

    def __enter__(self) -> SpillMap[V]:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def __getitem__(self, key: str) -> V:
        hit = self._cache.get(key)
        if hit is not None:
            self._cache.move_to_end(key)
            return hit[0]
        value: V = self._read(key)
        if value is _ABSENT:
            raise KeyError(key)
        self._hold(key, value)
        return value

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
        self._hold(key, value)
        return value

    def __contains__(self, key: object) -> bool:
        return key in self._cache or (isinstance(key, str) and self._read(key) is not _ABSENT)

    def __setitem__(self, key: str, value: V) -> None:
        # A copy left on disk is older than the one held; eviction overwrites it.
        self._drop_cached(key)
        self._hold(key, value)

    def __delitem__(self, key: str) -> None:
        cached = self._drop_cached(key)
        on_disk = self._spilled and self._db.execute("DELETE FROM kv WHERE k = ?", (key,)).rowcount
        if not (cached or on_disk):
            raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        """Every key held when iteration starts, once, even if values change meanwhile."""
        self._spill_all()
        # Rows written from here on get larger ids (AUTOINCREMENT never reuses one,
        # and a REPLACE is a new row).
        last = self._db.execute("SELECT coalesce(max(id), 0) FROM kv").fetchone()[0]
        after = 0
        while rows := self._db.execute(
            "SELECT id, k FROM kv WHERE id > ? AND id <= ? ORDER BY id LIMIT 1000",
            (after, last),
        ).fetchall():
            after = rows[-1][0]
            yield from (k for _, k in rows)

    def __len__(self) -> int:
        if not self._spilled:
            return len(self._cache)
        self._spill_all()
        count: int = self._db.execute("SELECT count(*) FROM kv").fetchone()[0]
        return count

    def _read(self, key: str) -> Any:
        """The value on disk, or _ABSENT. Until anything has spilled there is no query."""
        if not self._spilled:
            return _ABSENT
        row = self._db.execute("SELECT v FROM kv WHERE k = ?", (key,)).fetchone()
        return _ABSENT if row is None else pickle.loads(row[0])

    def _hold(self, key: str, value: V) -> None:
        weight = self._weight(value)
        self._cache[key] = (value, weight)
        self._held += weight
        while self._held > self._budget and len(self._cache) > 1:
            old, (old_value, old_weight) = self._cache.popitem(last=False)
            self._held -= old_weight
            self._write(old, old_value)

    def _drop_cached(self, key: str) -> bool:
        cached = self._cache.pop(key, None)
        if cached is not None:
            self._held -= cached[1]
        return cached is not None

    def _write(self, key: str, value: V) -> None:
        blob = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        self._db.execute("INSERT OR REPLACE INTO kv (k, v) VALUES (?, ?)", (key, blob))
        self._spilled = True

    def _spill_all(self) -> None:
        while self._cache:
            key, (value, _) = self._cache.popitem(last=False)
            self._write(key, value)
        self._held = 0
