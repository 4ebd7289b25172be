"""`j9262 validate`'s state beyond its memory budget waits on disk and changes nothing."""

from __future__ import annotations

import io
import itertools
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.offline import spill
from streams.offline.runner import run
from streams.offline.spill import KeyFilter, SpillError, SpillMap
from streams.samples import demo_sample, encode, event
from streams.validation.validator import Validator
from tests.conftest import examples


@pytest.mark.parametrize("write_batch", [1, 4, 512])
def test_spill_map_is_a_mapping_whatever_it_holds_in_memory(write_batch: int) -> None:
    with SpillMap[list[int]](budget=3, weight=len, write_batch=write_batch) as spilled:
        plain: dict[str, list[int]] = {}
        for i in range(200):
            key = f"k{i % 37}"
            value = [i] * (i % 4 + 1)
            for m in (spilled, plain):
                m[key] = value
            if i % 5 == 0:
                other = f"k{(i * 7) % 37}"
                assert spilled.get(other) == plain.get(other)
            if i % 11 == 0 and key in plain:
                del spilled[key], plain[key]
        assert len(spilled) == len(plain)
        assert sorted(spilled) == sorted(plain)
        assert dict(spilled.items()) == plain
        assert spilled.get("absent") is None
        assert spilled.get("absent", [0]) == [0]
        assert "absent" not in spilled
        with pytest.raises(KeyError):
            del spilled["absent"]
        folder = Path(spilled._folder.name)
        assert folder.exists()
    assert not folder.exists()


@pytest.mark.parametrize("write_batch", [1, 512])
def test_iteration_sees_each_key_once_while_values_change(write_batch: int) -> None:
    with SpillMap[int](budget=2, write_batch=write_batch) as m:
        for i in range(50):
            m[f"k{i}"] = i
        seen = []
        for key in m:
            seen.append(key)
            m[key] += 1000  # a read and a write, which evict others to disk again
        assert sorted(seen) == sorted(f"k{i}" for i in range(50))
        assert all(m[f"k{i}"] == i + 1000 for i in range(50))


def test_asking_for_a_key_waiting_to_be_written_keeps_it() -> None:
    with SpillMap[int](budget=40, write_batch=100) as m:
        for i in range(42):
            m[f"k{i}"] = i  # k0 and k1 evicted, not written yet (2 of 40 weigh little)
        assert not m._spilled and set(m._pending) == {"k0", "k1"}
        assert "k0" in m and "k1" in m
        assert "k0" in m and "k1" in m  # still there
        assert [m[f"k{i}"] for i in range(42)] == list(range(42))
        assert len(m) == 42


def test_evicted_values_are_written_once_they_weigh_a_sixteenth_of_the_budget() -> None:
    with SpillMap[list[int]](budget=160, weight=len, write_batch=100) as m:
        m["big"] = [0] * 9
        m["next"] = [1] * 160  # evicts "big": 9 of 160 weigh less than a sixteenth
        assert not m._spilled
        m["last"] = [2]  # evicts "next": 169 waiting
        assert m._spilled and not m._pending
        assert m["big"] == [0] * 9 and m["next"] == [1] * 160


def test_a_full_disk_is_an_os_error_naming_the_folder() -> None:
    """SQLite's own limit stands in for a full disk: the same SQLITE_FULL error."""
    with SpillMap[bytes](budget=1, write_batch=1) as m:
        m._db.run("PRAGMA max_page_count=8")
        with pytest.raises(SpillError, match="full") as raised:
            for i in range(1000):
                m[f"k{i}"] = bytes(2000)
        assert isinstance(raised.value, OSError)
        assert m._folder.name in str(raised.value)


def test_values_come_back_through_the_maps_codec_once_written() -> None:
    with SpillMap[list[int]](
        budget=1,
        dump=lambda v: ",".join(map(str, v)).encode(),
        load=lambda b: [int(x) for x in b.split(b",")],
        write_batch=2,
    ) as m:
        for i in range(10):
            m[f"k{i}"] = [i, i + 1]
        assert m._spilled
        assert [m[f"k{i}"] for i in range(10)] == [[i, i + 1] for i in range(10)]


def test_key_filter_never_forgets_a_key_and_seldom_claims_one() -> None:
    seen = KeyFilter(capacity=1000)
    for i in range(1000):
        seen.add(f"CLM-{i}")
    assert all(seen.maybe(f"CLM-{i}") for i in range(1000))
    false_positives = sum(seen.maybe(f"other-{i}") for i in range(10_000))
    assert false_positives < 500  # about 1% when full, by design


def test_the_filter_grows_with_the_keys_on_disk() -> None:
    with SpillMap[int](budget=1, write_batch=3) as m:
        for i in range(20_000):
            m[f"k{i}"] = i
        assert m._on_disk.capacity >= 20_000 - 1  # grown past its first 4,096
        assert all(f"k{i}" in m for i in range(0, 20_000, 7))
        assert "absent" not in m


def many_lines(copies: int) -> list[bytes]:
    """The demo sample again and again with new claim ids (same patients, so their
    histories grow), plus lines of claims completed earlier, repeated."""
    out = []
    for copy in range(copies):
        for raw in demo_sample():
            out.append(raw.replace(b'"CLM-', f'"CLM-{copy}-'.encode()))
    repeat = encode(event("again"))
    return [repeat, *out, repeat, *itertools.islice(out, 0, 200, 3)]


@pytest.mark.parametrize("write_batch", [1, 512])
def test_outputs_are_the_same_when_state_waits_on_disk(
    validator: Validator, write_batch: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through the runner's own maps, whose histories and claims wait as JSON."""
    monkeypatch.setattr(spill, "WRITE_BATCH", write_batch)
    records = many_lines(6)

    def outputs(budget: int) -> tuple[bytes, bytes, bytes]:
        files = io.BytesIO(), io.BytesIO(), io.BytesIO()
        run(
            validator,
            records,
            source_name="t",
            max_bytes=1 << 20,
            out=files[0],
            dead_out=files[1],
            claims_out=files[2],
            state_budget=budget,
        )
        return tuple(_without_times(f.getvalue()) for f in files)  # type: ignore[return-value]

    in_memory, on_disk = outputs(10**9), outputs(3)
    assert in_memory == on_disk
    assert in_memory[2].count(b"claim-verdict/v1") > 300


def _without_times(data: bytes) -> bytes:
    """The outputs with their wall-clock stamps blanked: those alone differ between runs."""
    return re.sub(rb'"(validated_at|received_at)":"[^"]*"', b"", data)


_KEYS = st.sampled_from([f"k{i}" for i in range(12)])
_SET = st.tuples(st.just("set"), _KEYS, st.lists(st.integers(0, 9), max_size=3))
_OPS = st.lists(
    st.one_of(
        _SET,
        _SET,
        st.tuples(st.just("get"), _KEYS),
        st.tuples(st.just("in"), _KEYS),
        st.tuples(st.just("del"), _KEYS),
        st.tuples(st.just("len")),
        st.tuples(st.just("items")),
    ),
    max_size=100,
)


@settings(max_examples=examples(0.5))
@given(
    ops=_OPS,
    budget=st.integers(1, 8),
    write_batch=st.integers(1, 8),
    write_weight=st.one_of(st.none(), st.integers(1, 30)),
)
def test_any_sequence_of_operations_reads_as_a_dict_would(
    ops: list[tuple[Any, ...]], budget: int, write_batch: int, write_weight: int | None
) -> None:
    """Whatever is held, waiting to be written or on disk, the map answers as a dict."""
    plain: dict[str, list[int]] = {}
    with SpillMap[list[int]](
        budget,
        weight=lambda v: 1 + len(v),
        write_batch=write_batch,
        write_weight=write_weight,
    ) as spilled:
        for op, *args in ops:
            if op == "set":
                key, value = args
                spilled[key] = value
                plain[key] = value
            elif op == "get":
                assert spilled.get(args[0]) == plain.get(args[0])
            elif op == "in":
                assert (args[0] in spilled) == (args[0] in plain)
            elif op == "del":
                if args[0] in plain:
                    del spilled[args[0]], plain[args[0]]
                else:
                    with pytest.raises(KeyError):
                        del spilled[args[0]]
            elif op == "len":
                assert len(spilled) == len(plain)
            else:
                assert dict(spilled.items()) == plain
        assert dict(spilled.items()) == plain
