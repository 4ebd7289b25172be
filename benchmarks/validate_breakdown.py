"""Where `j9262 validate`'s CPU goes, per line: the run's main steps timed in place.

    .venv/bin/python benchmarks/validate_breakdown.py [--lines 20000] [--long]

Each step is wrapped where the offline runner calls it and timed with the process's
CPU clock (less disturbed than wall time on a shared host); nested steps are indented
under the step that calls them, and their time is part of it. `--long` runs patients
on treatment (90-day histories) instead of the benchmark mix.
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from bench import long_histories, mix

from streams import refdata
from streams.contract.models import DeadLetter
from streams.offline import runner
from streams.validation import answer, history, validator

spent: Counter[str] = Counter()


def timed(owner: Any, name: str, label: str) -> None:
    """Replace `owner.name` with a wrapper that adds its CPU time to `spent[label]`."""
    original: Callable[..., Any] = getattr(owner, name)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        start = time.process_time_ns()
        try:
            return original(*args, **kwargs)
        finally:
            spent[label] += time.process_time_ns() - start

    setattr(owner, name, wrapper)


STEPS = (
    (runner, "decode", "decode (pydantic)"),
    (runner, "answer_line", "answer_line"),
    (validator, "enrich", "  enrichment"),
    (validator, "evaluate", "  rules"),
    (validator.Validator, "verdict_id", "  verdict id"),
    (history.PatientHistory, "record", "  history record"),
    (answer.ClaimMessage, "for_line", "claim message"),
    (runner, "add_to_claim", "claim roll-up"),
    (validator.Validator, "claim_verdict", "  claim verdict"),
    (runner, "verdict_line", "line verdict JSON"),
    (DeadLetter, "model_dump_json", "dead letter JSON"),
    (runner, "dead_letter", "dead letters"),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lines", type=int, default=20_000)
    parser.add_argument("--long", action="store_true", help="patients on treatment")
    args = parser.parse_args()
    records = long_histories(max(args.lines // 180, 1)) if args.long else mix(args.lines)
    check = validator.Validator(refdata.load())
    for owner, name, label in STEPS:
        timed(owner, name, label)
    outputs = [io.BytesIO() for _ in range(3)]
    start = time.process_time_ns()
    runner.run(
        check,
        records,
        source_name="breakdown",
        max_bytes=1 << 20,
        out=outputs[0],
        dead_out=outputs[1],
        claims_out=outputs[2],
    )
    total = time.process_time_ns() - start
    n = len(records)
    print(f"{n} lines, {total / n / 1000:.1f} us of CPU a line ({n / total * 1e9:,.0f} lines/s)")
    for _, _, label in STEPS:
        print(f"{label:24s} {spent[label] / n / 1000:7.1f} us  {spent[label] / total:6.1%}")


if __name__ == "__main__":
    main()
