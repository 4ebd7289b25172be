"""Where `j9262 validate`'s CPU goes, per line: the run's main steps timed in place.

    .venv/bin/python benchmarks/validate_breakdown.py [--lines 20000] [--long] [--rules]

Each step is wrapped where the offline runner calls it and timed with the process's
CPU clock (less disturbed than wall time on a shared host); nested steps are indented
under the step that calls them, and their time is part of it. `--long` runs patients
on treatment (90-day histories) instead of the benchmark mix. `--rules` also times each
line rule and counts the lines it fired on.

Measure inside `runner.run`, as here: outside it (no frozen heap, Python's default
collection threshold) collections land in whichever step allocates most, and one rule
measured at twice its cost.
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
from streams.validation.rules import engine

spent: Counter[str] = Counter()
fired: Counter[str] = Counter()


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


def timed_rule(rule: engine.Rule) -> engine.Rule:
    """The rule, its findings listed (as `evaluate` does) and its CPU time added up."""
    label = f"{rule.__module__.rsplit('.', 1)[-1]}.{rule.__name__}"

    def wrapper(ctx: engine.LineContext) -> list[Any]:
        start = time.process_time_ns()
        try:
            found = list(rule(ctx))
        finally:
            spent[label] += time.process_time_ns() - start
        fired[label] += bool(found)
        return found

    wrapper.__name__ = label
    return wrapper


STEPS = (
    (runner, "decode", "decode (pydantic)"),
    (runner, "answer_line", "answer_line"),
    (validator, "enrich", "  enrichment"),
    (validator, "evaluate", "  rules"),
    (validator.Validator, "verdict_id", "  verdict id"),
    (history.PatientHistory, "record", "  history record"),
    (answer.ClaimMessage, "for_line", "claim message"),
    (runner, "add_to_claim", "claim roll-up"),
    (validator.Validator, "answer_claim", "  claim verdict"),
    (runner, "verdict_line", "line verdict JSON"),
    (DeadLetter, "model_dump_json", "dead letter JSON"),
    (runner, "dead_letter", "dead letters"),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lines", type=int, default=20_000)
    parser.add_argument("--long", action="store_true", help="patients on treatment")
    parser.add_argument("--rules", action="store_true", help="time each line rule too")
    args = parser.parse_args()
    records = long_histories(max(args.lines // 180, 1)) if args.long else mix(args.lines)
    check = validator.Validator(refdata.load())
    for owner, name, label in STEPS:
        timed(owner, name, label)
    rules = list(engine.RULES)
    if args.rules:
        engine.RULES[:] = [timed_rule(r) for r in rules]
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
    if args.rules:
        print("\nline rules, slowest first (us a line of the input, with two clock reads a rule")
        print("and a call of their own; lines it fired on)")
        for rule in sorted(engine.RULES, key=lambda r: -spent[r.__name__]):
            label = rule.__name__
            print(f"  {label:44s} {spent[label] / n / 1000:6.2f} us  {fired[label]:7,d}")
        engine.RULES[:] = rules


if __name__ == "__main__":
    main()
