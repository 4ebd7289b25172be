"""Table values as their changelog JSON: what the store keeps and what the agents see."""

from __future__ import annotations

import gc
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any, cast

import faust

from streams.settings import Settings
from streams.stream import tables
from streams.stream.state_codec import StateCodec
from streams.stream.tables import ModelTable
from streams.validation.answer import answer_line
from streams.validation.history import PatientHistory
from streams.validation.rollup import ClaimState
from streams.validation.validator import Validator
from tests.conftest import claim_with_line, make_event


def claim_state(validator: Validator, name: str) -> ClaimState:
    return claim_with_line(validator, make_event(name, claim={"total_lines": 2}))


def test_values_are_kept_as_the_changelog_json(validator: Validator) -> None:
    """Uncompressed, the bytes the ModelCodec wrote before."""
    raw: dict[str, bytes] = {}
    claims = ModelTable(raw, ClaimState, StateCodec("none"))
    state = claim_state(validator, "kept")
    claims[state.claim_id] = state
    assert raw == {state.claim_id: state.model_dump_json(by_alias=True).encode()}
    assert claims[state.claim_id] == state
    assert claims[state.claim_id] is not claims[state.claim_id]


def test_values_are_stored_compressed_and_read_back(validator: Validator) -> None:
    raw: dict[str, bytes] = {}
    claims = ModelTable(raw, ClaimState)
    state = claim_state(validator, "compressed")
    claims[state.claim_id] = state
    text = state.model_dump_json(by_alias=True).encode()
    assert len(raw[state.claim_id]) * 4 < len(text)
    assert claims.json(state.claim_id) == text
    assert claims[state.claim_id] == state
    assert claims.json("absent") is None


def test_either_form_reads_whatever_a_worker_writes(validator: Validator) -> None:
    """A changelog written before compression, or by a worker with it off, recovers
    on a worker with it on, and the other way round."""
    plain: dict[str, bytes] = {}
    packed: dict[str, bytes] = {}
    state = claim_state(validator, "both")
    ModelTable(plain, ClaimState, StateCodec("none"))[state.claim_id] = state
    ModelTable(packed, ClaimState, StateCodec("zstd"))[state.claim_id] = state
    assert plain != packed
    for reader in ("zstd", "none"):
        for written in (plain, packed):
            assert ModelTable(written, ClaimState, StateCodec(reader))[state.claim_id] == state


def test_declared_tables_compress_as_configured(validator: Validator) -> None:
    state = claim_state(validator, "configured")
    for setting, compressed in (("zstd", True), ("none", False)):
        settings = Settings(_env_file=None, table_compression=setting)
        app = faust.App(f"tables-{setting}", broker="kafka://localhost:1", autodiscover=False)
        declared = tables.declare(app, settings)
        assert declared.claims.codec is declared.histories.codec
        written = declared.claims.codec.encode(state.model_dump_json(by_alias=True).encode())
        assert written.startswith(b"{") is not compressed


def test_it_reads_and_writes_like_a_mapping(validator: Validator) -> None:
    claims = ModelTable({}, ClaimState)
    assert claims.get("absent") is None
    first, second = claim_state(validator, "a"), claim_state(validator, "b")
    claims[first.claim_id] = first
    claims[second.claim_id] = second
    assert (len(claims), list(claims)) == (2, [first.claim_id, second.claim_id])
    del claims[first.claim_id]
    assert first.claim_id not in claims
    claims.table["unparsed"] = b"not a claim"
    assert "unparsed" in claims  # membership reads no value
    del claims["unparsed"]
    assert list(claims.values()) == [second]


class CopyingStore(dict[str, bytes]):
    """Hands out a copy of each value, as RocksDB does: equal bytes, a new object."""

    def __getitem__(self, key: str) -> bytes:
        return bytes(bytearray(super().__getitem__(key)))


def json_size(state: ClaimState) -> int:
    return len(state.model_dump_json(by_alias=True))


def test_the_next_read_of_a_key_reuses_the_model_it_was_written_as(
    validator: Validator,
) -> None:
    """The next line of the same claim or patient skips parsing its state."""
    state = claim_state(validator, "hot")
    for store in ({}, CopyingStore()):
        claims = ModelTable(store, ClaimState, cache_bytes=1 << 20)
        claims[state.claim_id] = state
        assert claims[state.claim_id] is state
        assert claims.get(state.claim_id) is state


def test_a_read_parses_again_once_the_stored_bytes_change(validator: Validator) -> None:
    """A changelog recovery or another writer replaces the bytes: the held model
    no longer answers for the key."""
    raw: dict[str, bytes] = {}
    claims = ModelTable(raw, ClaimState, cache_bytes=1 << 20)
    state = claim_state(validator, "changed")
    claims[state.claim_id] = state
    other = ModelTable[ClaimState]({}, ClaimState)
    recovered = state.with_line(claim_state(validator, "changed-2").lines[1], 3)
    other[state.claim_id] = recovered
    raw[state.claim_id] = other.table[state.claim_id]
    read = claims[state.claim_id]
    assert read is not state
    assert read == recovered
    assert claims[state.claim_id] is read  # and the new model is held in turn
    del claims[state.claim_id]
    claims.table[state.claim_id] = other.table[state.claim_id]
    assert claims[state.claim_id] is not read  # a deleted key's model goes with it


def test_the_models_held_stay_within_their_json_budget(validator: Validator) -> None:
    """The keys used last are kept, up to `cache_bytes` of their JSON, each state at
    most 1/HELD_SHARE of it."""
    states = [claim_state(validator, f"budget-{i}") for i in range(tables.HELD_SHARE + 8)]
    largest = max(map(json_size, states))
    claims = ModelTable({}, ClaimState, cache_bytes=largest * tables.HELD_SHARE)
    for state in states:
        claims[state.claim_id] = state
    first, last = states[0], states[-1]
    assert claims[last.claim_id] is last
    assert claims[first.claim_id] is not first  # dropped first, parsed again
    assert claims[first.claim_id] == first
    assert claims[first.claim_id] is claims[first.claim_id]  # and now held


def test_no_budget_or_a_state_too_large_for_it_parses_every_read(validator: Validator) -> None:
    state = claim_state(validator, "unheld")
    for budget in (0, json_size(state) * tables.HELD_SHARE - 1):
        claims = ModelTable({}, ClaimState, cache_bytes=budget)
        claims[state.claim_id] = state
        assert claims[state.claim_id] is not state
        assert claims[state.claim_id] is not claims[state.claim_id]
    held = ModelTable({}, ClaimState, cache_bytes=json_size(state) * tables.HELD_SHARE)
    held[state.claim_id] = state
    assert held[state.claim_id] is state


def test_declared_tables_hold_the_configured_megabytes() -> None:
    assert Settings(_env_file=None).table_cache_mb == 0  # off unless asked for
    settings = Settings(_env_file=None, table_cache_mb=3)
    app = faust.App("tables-cache", broker="kafka://localhost:1", autodiscover=False)
    declared = tables.declare(app, settings)
    assert declared.claims.cache_bytes == declared.histories.cache_bytes == 3 * 1024 * 1024


def test_held_states_give_the_collector_nothing_to_walk(validator: Validator) -> None:
    """A full collection's pause grows with the objects it tracks; days of claims as
    models were most of them."""

    def tracked_after_holding(store: MutableMapping[str, ClaimState], count: int) -> int:
        gc.collect()
        before = len(gc.get_objects())
        for i in range(count):
            state = claim_state(validator, f"held-{i}")
            store[state.claim_id] = state
        del state
        gc.collect()
        return len(gc.get_objects()) - before

    as_models: dict[str, ClaimState] = {}
    assert tracked_after_holding(as_models, 300) >= 300 * 3
    as_bytes: dict[str, bytes] = {}
    assert tracked_after_holding(ModelTable(as_bytes, ClaimState), 300) < 10
    assert len(as_bytes) == 300


def test_rocksdb_tables_get_bounded_memory(tmp_path: Path) -> None:
    """Faust's RocksDB defaults (3 x 64 MB memtables, a 2 GB block cache per table
    partition) held 100,000 patients' state in memory; the store Faust builds for
    each table must get ours."""
    settings = Settings(_env_file=None, store="rocksdb://", rocksdb_write_buffer_mb=3)
    app = faust.App(
        "tables-test",
        broker="kafka://localhost:1",
        store="rocksdb://",
        datadir=str(tmp_path),
        autodiscover=False,
    )
    declared = tables.declare(app, settings)
    for table in (declared.histories.table, declared.claims.table):
        options = cast(Any, table).data.rocksdb_options  # the store, made on first use
        assert options.write_buffer_size == 3 * 1024 * 1024
        assert options.max_write_buffer_number == 2
        assert options.block_cache_size == settings.rocksdb_block_cache_mb * 1024 * 1024


def test_memory_tables_take_no_rocksdb_options() -> None:
    settings = Settings(_env_file=None)
    app = faust.App("tables-test-memory", broker="kafka://localhost:1", autodiscover=False)
    declared = tables.declare(app, settings)
    assert cast(Any, declared.claims.table).options is None


def test_histories_written_in_parts_store_the_same_bytes(validator: Validator) -> None:
    """The declared histories table writes a held patient's history from the parts the
    previous line left (`PatientHistory.stored_json`): the stored bytes, and so the
    changelog, must be those pydantic writes."""
    app = faust.App("tables-parts", broker="kafka://localhost:1", autodiscover=False)
    declared = tables.declare(app, Settings(_env_file=None, table_cache_mb=8))
    parts: dict[str, bytes] = {}
    whole: dict[str, bytes] = {}
    stores = (
        ModelTable(parts, PatientHistory, cache_bytes=8 << 20, dump=declared.histories.dump),
        ModelTable(whole, PatientHistory, cache_bytes=8 << 20),
    )
    for n in range(12):
        day = f"2026-03-{1 + n // 2:02d}"
        line = make_event(
            f"parts-{n}",
            claim={"patient": {"patient_id": "P-parts"}},
            line={"service_date": day},
            event_time=f"{day}T23:00:00Z",
        )
        for store in stores:
            answer_line(validator, line, store, 90)
        assert parts == whole
    assert stores[0].cached_reads == 11  # the held model, with its parts, was used


class CountingStore(dict[str, bytes]):
    """Counts the values written, as the changelog would carry them."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[str] = []

    def __setitem__(self, key: str, value: bytes) -> None:
        self.writes.append(key)
        super().__setitem__(key, value)


def patient_lines(patient: str, count: int) -> list[Any]:
    return [
        make_event(
            f"{patient}-{n}",
            claim={"patient": {"patient_id": patient}},
            line={"service_date": f"2026-03-{1 + n:02d}"},
            event_time=f"2026-03-{1 + n:02d}T23:00:00Z",
        )
        for n in range(count)
    ]


def test_a_batch_writes_each_key_once_its_last_state(validator: Validator) -> None:
    """Lines of one patient in one batch: the history is written once, at the end,
    as the state line by line writing would have left; reads in between see each
    line's history, so the verdicts are those of writing at every line."""
    lines = [*patient_lines("P-a", 4), *patient_lines("P-b", 2)]
    each_line = ModelTable(CountingStore(), PatientHistory, dump=PatientHistory.stored_json)
    expected = [answer_line(validator, line, each_line, 90) for line in lines]
    store = CountingStore()
    batched = ModelTable(store, PatientHistory, dump=PatientHistory.stored_json)
    with batched.batched():
        got = [answer_line(validator, line, batched, 90) for line in lines]
        assert store == {}  # nothing written before the batch ends
        assert set(batched) == {"P-a", "P-b"} and len(batched) == 2 and "P-a" in batched
        assert batched.json("P-a") == each_line.json("P-a")
    assert [v.model_dump(exclude={"validated_at"}) for v in got] == [
        v.model_dump(exclude={"validated_at"}) for v in expected
    ]
    assert store == each_line.table
    assert sorted(store.writes) == ["P-a", "P-b"]
    assert len(each_line.table.writes) == len(lines)
    assert batched.writes_saved == len(lines) - 2


def test_a_batch_that_raises_still_writes_what_it_answered(validator: Validator) -> None:
    """As when every line wrote at once: the lines before the failure keep their
    state (the batch is read again anyway, since it was not acknowledged)."""
    store: dict[str, bytes] = {}
    histories = ModelTable(store, PatientHistory)
    try:
        with histories.batched():
            answer_line(validator, patient_lines("P-raise", 1)[0], histories, 90)
            raise RuntimeError("a bug past the first line")
    except RuntimeError:
        pass
    assert list(store) == ["P-raise"]


def test_a_key_written_and_deleted_in_a_batch_is_gone(validator: Validator) -> None:
    claims = ModelTable({}, ClaimState)
    kept, dropped, stored = (claim_state(validator, n) for n in ("kept", "dropped", "stored"))
    claims[stored.claim_id] = stored
    with claims.batched():
        with claims.batched():  # a nested scope leaves the writing to the outer one
            claims[kept.claim_id] = kept
            claims[dropped.claim_id] = dropped
            claims[stored.claim_id] = stored
        assert claims.table.keys() == {stored.claim_id}
        del claims[dropped.claim_id]
        del claims[stored.claim_id]
        assert sorted(claims) == [kept.claim_id]
    assert claims.table.keys() == {kept.claim_id}
    assert claims[kept.claim_id] == kept
