"""A fixed replay through `j9262 validate`, written out with the timestamps removed,
so a change meant to be a speed-up can be shown to leave every output byte alone.

    .venv/bin/python benchmarks/replay.py OUT_DIR [--lines 60000]
    diff -r BEFORE_DIR AFTER_DIR

The replay is the benchmark's mix (the demo sample's kinds of lines, malformed ones
kept, made unique per copy) plus patients on treatment with 90-day histories.
Each output is one file: verdicts, dead letters, claim verdicts.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from bench import long_histories, mix, offline_run

_STAMP = re.compile(rb'"(validated_at|received_at|dead_lettered_at)":"[^"]*"')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out", type=Path)
    parser.add_argument("--lines", type=int, default=60_000)
    args = parser.parse_args()
    records = mix(args.lines) + long_histories(20)
    rate, outputs = offline_run(records)
    args.out.mkdir(parents=True, exist_ok=True)
    for name, text in outputs.items():
        (args.out / f"{name}.jsonl").write_bytes(_STAMP.sub(rb'"\1":""', text))
    print(f"{len(records)} lines: {rate:,.0f} lines/s")


if __name__ == "__main__":
    main()
