"""The worker's core without Kafka: what a line costs through the tables' stored form.

    .venv/bin/python benchmarks/worker_core.py [--cache-mb 0,2,8] [--batch 1,500] [--repeats 3]
                                             [--lines 10000] [--patients 50]

Each line is decoded, answered against its patient's history and rolled up into its
claim, as the one-hop worker does, with both tables as `ModelTable`s over plain dicts:
every read decompresses and parses the stored state unless a parsed one is held
(`J9262_TABLE_CACHE_MB`) or an earlier line of the batch wrote it, every write
serializes and compresses it, once a key a batch (`--batch 1`: at every line). Runs
the mix and patients on treatment (90-day histories), each table budget and batch in
turn, on the process's CPU clock (a shared host moves wall time far more), and
counts the reads that parsed nothing.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from bench import in_turn, long_histories, mix

from streams import refdata
from streams.contract.decoding import Rejection, decode
from streams.settings import Settings
from streams.stream.state_codec import StateCodec
from streams.stream.tables import ModelTable, Tables
from streams.validation.answer import ClaimMessage, add_to_claim, answer_line
from streams.validation.history import PatientHistory
from streams.validation.rollup import ClaimState
from streams.validation.validator import Validator


def run(
    check: Validator, records: list[bytes], cache_mb: int, batch: int = 1
) -> tuple[float, float]:
    """(µs of CPU a line, share of table reads that parsed nothing: a held state or one
    written earlier in the batch), the tables written once a key every `batch` lines,
    as the agents write them."""
    settings = Settings(_env_file=None)
    codec = StateCodec(settings.table_compression)
    budget = cache_mb * 1024 * 1024
    histories = ModelTable(
        {}, PatientHistory, codec, cache_bytes=budget, dump=PatientHistory.stored_json
    )
    claims = ModelTable({}, ClaimState, codec, cache_bytes=budget)
    now = datetime.now(UTC)
    start = time.process_time_ns()
    for first in range(0, len(records), batch):
        with Tables(histories, claims).batched():
            for raw in records[first : first + batch]:
                event = decode(raw, settings.max_message_bytes)
                if isinstance(event, Rejection):
                    continue
                verdict = answer_line(check, event, histories, settings.duplicate_window_days)
                if isinstance(verdict, Rejection):
                    continue
                text = verdict.__pydantic_serializer__.to_json(verdict)
                message = ClaimMessage.for_line(event, verdict, text.decode())
                add_to_claim(check, claims, message, now, settings.claim_wait_s)
    spent = time.process_time_ns() - start
    unparsed = sum(t.cached_reads + t.batch_reads for t in (histories, claims))
    reads = unparsed + sum(t.parsed_reads for t in (histories, claims))
    return spent / len(records) / 1000, unparsed / max(reads, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--cache-mb", type=lambda text: [int(v) for v in text.split(",")], default=[0, 2, 8]
    )
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--batch",
        type=lambda text: [int(v) for v in text.split(",")],
        default=[1, 500],
        help="lines a table write waits for (1: each line writes; 500: the worker's batch)",
    )
    parser.add_argument("--lines", type=int, default=10_000)
    parser.add_argument("--patients", type=int, default=50, help="patients on treatment")
    args = parser.parse_args()
    check = Validator(refdata.load())
    loads = {"mix": mix(args.lines), "on treatment": long_histories(args.patients)}
    for name, records in loads.items():
        variants = [(mb, batch) for mb in args.cache_mb for batch in args.batch]
        figures: dict[tuple[int, int], list[float]] = {v: [] for v in variants}
        shares: dict[tuple[int, int], float] = {}
        for i in range(args.repeats):  # interleaved, alternating the order
            for mb, batch in in_turn(variants, i):
                us, shares[mb, batch] = run(check, records, mb, batch)
                figures[mb, batch].append(us)
        for (mb, batch), runs in figures.items():
            each = " / ".join(f"{us:.0f}" for us in runs)
            print(
                f"{name} ({len(records):,} lines), {mb} MB held, written every {batch}"
                f" lines: {each} µs of CPU a line;"
                f" {shares[mb, batch]:.0%} of reads answered by a held or batch's state"
            )


if __name__ == "__main__":
    main()
