"""The worker's changelog-backed tables: patient histories and claims in progress."""

from __future__ import annotations

import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterator, MutableMapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import faust
from faust.streams import (
    _current_event,  # private: tests/test_private_api.py
    current_event,
)
from faust.types import EventT, TableT
from pydantic import BaseModel

from streams.settings import Settings
from streams.stream.state_codec import StateCodec
from streams.validation.history import PatientHistory
from streams.validation.rollup import ClaimState

M = TypeVar("M", bound=BaseModel)


HELD_SHARE = 64
"""A state is held only if its JSON is at most 1/64 of the budget. Patients on
treatment have histories of about 95 kB: a budget holding only a few of them keeps
replacing them, and models that live a while only to be dropped cost the garbage
collector more than parsing saves (`benchmarks/worker_core.py`). A budget raised to
hold such patients (8 MB: up to 128 kB) takes them in."""


class ModelTable(MutableMapping[str, M], Generic[M]):
    """A table whose values stay the bytes its changelog carries (`StateCodec`: the
    model's JSON, compressed), with the models of the few keys used last kept parsed.

    A claim is kept for days after its verdict. As models, each claim and history
    line is a handful of objects the garbage collector walks on every full
    collection, and those pauses grew with the table; as bytes they are one
    object it never looks at. But the lines of one claim, and of one patient,
    often come together, and parsing a state costs many times decompressing it
    (a patient on treatment's 90-day history, about 95 kB of JSON: milliseconds).
    So the keys read or written last keep their model beside the bytes it was read
    from or written as, up to `cache_bytes` of their JSON (see `HELD_SHARE` for the
    largest state held). A read uses the model only while the table still holds
    those very bytes: whatever else changes the table (a changelog recovery, a
    rebalance) changes the bytes, and the value is parsed again. The models are
    never changed in place (a history's `record` and a claim's `with_line` return
    new ones), which is what makes handing out the same model twice safe.

    Inside `batched()` writes wait for the end of the batch, and a key written by
    several lines of the batch is serialized, compressed and sent to its changelog
    once, as its last state; reads in between get the model written.
    """

    def __init__(
        self,
        table: MutableMapping[str, bytes],
        model: type[M],
        codec: StateCodec | None = None,
        *,
        cache_bytes: int = 0,
        dump: Callable[[M], bytes] | None = None,
    ) -> None:
        self.table = table
        self.model = model
        self.codec = codec or StateCodec()
        self.dump = dump or _pydantic_json
        """A value's JSON: pydantic's, unless the model writes it cheaper
        (`PatientHistory.stored_json`, the same bytes)."""
        self.cache_bytes = cache_bytes
        self._parsed: OrderedDict[str, tuple[bytes, M, int]] = OrderedDict()
        self._held = 0  # the JSON bytes of the models in _parsed
        self.cached_reads = 0
        """Reads answered by a held model (for `j9262_table_reads_total`)."""
        self.parsed_reads = 0
        """Reads that parsed the stored bytes."""
        self.batch_reads = 0
        """Reads answered by a state written earlier in the same batch."""
        self.writes = 0
        """States written to the table (each one a changelog record)."""
        self.writes_saved = 0
        """Writes a later one of the same batch took the place of."""
        self._pending: dict[str, tuple[M, EventT[Any] | None]] | None = None
        """Inside `batched()`: the states written, and the event each was written for."""

    @contextmanager
    def batched(self) -> Iterator[None]:
        """Writes inside go to the table at the end, each key once, in the partition of
        the event it was last written for.

        A patient's lines, and a claim's, often come in one batch: a patient on
        treatment's history is some 95 kB, which every line would write whole and the
        next parse again. Recovery needs only the last state of a key, and the batch
        is acknowledged after this writes (the agent awaits nothing in between), so a
        worker that dies first reads the whole batch again, as before."""
        if self._pending is not None:  # nested: the outer scope writes
            yield
            return
        self._pending = {}
        try:
            yield
        finally:
            pending, self._pending = self._pending, None
            for key, (value, event) in pending.items():
                if event is None:
                    self._write(key, value)
                    continue
                with writing_for(event):
                    self._write(key, value)

    def __getitem__(self, key: str) -> M:
        if self._pending is not None and (written := self._pending.get(key)) is not None:
            self.batch_reads += 1
            return written[0]
        stored = self.table[key]
        held = self._parsed.get(key)
        if held is not None and (held[0] is stored or held[0] == stored):
            self._parsed.move_to_end(key)
            self.cached_reads += 1
            return held[1]
        self.parsed_reads += 1
        json = self.codec.decode(stored)
        value = self.model.model_validate_json(json)
        self._keep(key, stored, value, len(json))
        return value

    def __setitem__(self, key: str, value: M) -> None:
        if self._pending is not None:
            if key in self._pending:
                self.writes_saved += 1
            self._pending[key] = (value, current_event())
            return
        self._write(key, value)

    def _write(self, key: str, value: M) -> None:
        self.writes += 1
        json = self.dump(value)
        stored = self.codec.encode(json)
        self.table[key] = stored
        self._keep(key, stored, value, len(json))

    def _keep(self, key: str, stored: bytes, value: M, size: int) -> None:
        self._forget(key)
        if size * HELD_SHARE > self.cache_bytes:
            return
        self._parsed[key] = (stored, value, size)
        self._held += size
        while self._held > self.cache_bytes:
            _, (_, _, dropped) = self._parsed.popitem(last=False)
            self._held -= dropped

    def _forget(self, key: str) -> None:
        held = self._parsed.pop(key, None)
        if held is not None:
            self._held -= held[2]

    def json(self, key: str) -> bytes | None:
        """A stored value's JSON, for a reader that parses less than the model
        (the deadline index); None if the key is absent."""
        if self._pending is not None and (written := self._pending.get(key)) is not None:
            return self.dump(written[0])
        stored = self.table.get(key)
        return None if stored is None else self.codec.decode(stored)

    def __contains__(self, key: object) -> bool:
        return (self._pending is not None and key in self._pending) or key in self.table

    def __delitem__(self, key: str) -> None:
        self._forget(key)
        if self._pending is not None and self._pending.pop(key, None) is not None:
            self.table.pop(key, None)
            return
        del self.table[key]

    def __iter__(self) -> Iterator[str]:
        if not self._pending:
            return iter(self.table)
        return iter([*self.table, *(k for k in self._pending if k not in self.table)])

    def __len__(self) -> int:
        if not self._pending:
            return len(self.table)
        return len(self.table) + sum(1 for k in self._pending if k not in self.table)


def _pydantic_json(value: BaseModel) -> bytes:
    return value.__pydantic_serializer__.to_json(value, by_alias=True)


@contextmanager
def writing_for(event: EventT[Any]) -> Iterator[None]:
    """Table writes inside go to `event`'s changelog partition.

    Faust takes that partition from the stream's current event, which an agent reading
    in batches (`batches.take_batches`, filled by another task) does not have: a write
    there raises TypeError. Setting it per event lets both agents keep their batches
    and still write each line's state on its own partition."""
    token = _current_event.set(weakref.ref(event))
    try:
        yield
    finally:
        _current_event.reset(token)


@dataclass(frozen=True)
class Tables:
    histories: ModelTable[PatientHistory]
    claims: ModelTable[ClaimState]

    @contextmanager
    def batched(self) -> Iterator[None]:
        """Both tables written once a key at the end (`ModelTable.batched`)."""
        with self.histories.batched(), self.claims.batched():
            yield


def rocksdb_options(settings: Settings) -> dict[str, int]:
    """Bounded memory per RocksDB table partition (faust.stores.rocksdb.RocksDBOptions):
    with Faust's defaults (3 x 64 MB memtables, a 2 GB cache) a worker holding 100,000
    patients kept all of them in memtables, as large as with memory://."""
    mb = 1024 * 1024
    return {
        "write_buffer_size": settings.rocksdb_write_buffer_mb * mb,
        "max_write_buffer_number": 2,
        "block_cache_size": settings.rocksdb_block_cache_mb * mb,
        "block_cache_compressed_size": settings.rocksdb_block_cache_mb * mb,
    }


def declare(app: faust.App, settings: Settings) -> Tables:
    """Keys are str on the wire as raw UTF-8, like the topics' keys. Each table is
    written on the partition of the line being handled: histories on the patient's,
    claims on their patient's too (a claim's lines share a patient)."""

    def table(name: str, help_: str) -> TableT[str, bytes]:
        changelog = app.topic(
            f"{settings.app_id}-{name}-changelog",
            key_type=str,
            key_serializer="raw",
            value_type=bytes,
            value_serializer="raw",
            partitions=settings.topic_partitions,
            compacting=True,
            deleting=False,
            internal=True,
        )
        faust_table: TableT[str, bytes] = app.Table(
            name,
            partitions=settings.topic_partitions,
            key_type=str,
            value_type=bytes,
            changelog_topic=changelog,
            help=help_,
            options=rocksdb_options(settings) if settings.store.startswith("rocksdb") else None,
        )
        # Faust derives a table's serializers from its types (str -> json); the store,
        # created on first use, must encode like the changelog.
        faust_table.key_serializer = "raw"  # type: ignore[attr-defined]
        faust_table.value_serializer = "raw"  # type: ignore[attr-defined]
        return faust_table

    codec = StateCodec(settings.table_compression)
    cache_bytes = settings.table_cache_mb * 1024 * 1024
    return Tables(
        histories=ModelTable(
            table("patient-history", "Recent J9262-family lines by patient"),
            PatientHistory,
            codec,
            cache_bytes=cache_bytes,
            dump=PatientHistory.stored_json,
        ),
        claims=ModelTable(
            table("claims", "Claims in progress and their latest verdict"),
            ClaimState,
            codec,
            cache_bytes=cache_bytes,
        ),
    )
