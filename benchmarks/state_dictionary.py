"""The table values' zstd dictionary: how `state-v1.zdict` was built, and what each
way of storing a value costs.

    .venv/bin/python benchmarks/state_dictionary.py            # sizes and CPU per value
    .venv/bin/python benchmarks/state_dictionary.py --write F  # a candidate dictionary

A dictionary, once shipped, is frozen: changelogs written with it must read forever
(`streams/stream/state_codec.py`). A better one ships as the next version beside it.
The content is synthetic: the benchmark mix's states, no patient data.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from bench import mix, patients

from streams import refdata
from streams.contract.decoding import Rejection, decode
from streams.stream.state_codec import StateCodec
from streams.validation.answer import ClaimMessage, add_to_claim, answer_line
from streams.validation.history import PatientHistory
from streams.validation.rollup import ClaimState
from streams.validation.validator import Validator

SIZE = 16 * 1024


def held_states(records: list[bytes]) -> tuple[list[bytes], list[bytes]]:
    """The claims' and the histories' stored JSON after `records`, as a worker keeps them."""
    validator = Validator(refdata.load())
    histories: dict[str, PatientHistory] = {}
    claims: dict[str, ClaimState] = {}
    now = datetime(2026, 12, 6, tzinfo=UTC)
    for raw in records:
        event = decode(raw, 1 << 20)
        if isinstance(event, Rejection):
            continue
        verdict = answer_line(validator, event, histories, 30)
        if isinstance(verdict, Rejection):
            continue
        add_to_claim(validator, claims, ClaimMessage.for_line(event, verdict), now, 300.0)

    def js(model: ClaimState | PatientHistory) -> bytes:
        return model.__pydantic_serializer__.to_json(model, by_alias=True)

    return [js(c) for c in claims.values()], [js(h) for h in histories.values()]


def candidate() -> bytes:
    """Every 40th claim and history of the mix, then a one-line claim: the end of a raw
    dictionary is the cheapest to refer to, so the commonest shape goes last."""
    claims, histories = held_states(mix(4000))
    one_line, one_history = held_states(patients(1))
    content = b"".join(histories[::40] + claims[::40] + one_history + one_line)
    return content[-SIZE:]


def measure(values: list[bytes], codec: StateCodec) -> tuple[float, float, float]:
    """Mean stored bytes, and CPU µs to store and to read one value."""

    def cpu(fn: Callable[[bytes], bytes], items: list[bytes]) -> tuple[list[bytes], float]:
        start = time.process_time()
        out = [fn(v) for v in items]
        return out, (time.process_time() - start) / len(items) * 1e6

    stored, write_us = cpu(codec.encode, values)
    back, read_us = cpu(codec.decode, stored)
    assert back == values
    return sum(map(len, stored)) / len(stored), write_us, read_us


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--write", type=Path, help="write a candidate dictionary here")
    args = parser.parse_args()
    if args.write:
        args.write.write_bytes(candidate())
        print(f"wrote {args.write} ({args.write.stat().st_size:,} bytes)")
        return
    claims, histories = held_states(mix(20000))
    held, held_histories = held_states(patients(2000))
    for name, values in (
        ("claims of the mix", claims),
        ("histories of the mix", histories),
        ("one-line claims (bench rss_patients)", held),
        ("their histories", held_histories),
    ):
        plain = sum(map(len, values)) / len(values)
        print(f"{name}: {len(values):,} values, JSON {plain:,.0f} B")
        for label, codec in (("none", StateCodec("none")), ("zstd", StateCodec("zstd"))):
            size, write_us, read_us = measure(values, codec)
            print(
                f"  {label:5} {size:7,.0f} B ({plain / size:4.1f}x)  "
                f"store {write_us:5.1f} µs  read {read_us:5.1f} µs"
            )


if __name__ == "__main__":
    main()
