"""`j9262 validate`: the stream's rules and stateful checks over a JSON Lines file.

The stream's tables become dicts; lines are seen in input order. A claim's
verdict is written when its last line arrives; claims still missing lines at
the end of the file get theirs then, with `complete: false`.
"""

from __future__ import annotations

import gc
import math
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import IO

from streams.contract.decoding import Rejection, dead_letter, decode, source_of
from streams.contract.models import ClaimLineEvent, DeadLetter, DeadLetterReason, LineVerdict
from streams.validation.answer import ClaimMessage, add_to_claim, validate_for_patient
from streams.validation.history import PatientHistory
from streams.validation.rollup import ClaimState
from streams.validation.validator import Validator


@dataclass
class Summary:
    lines: int = 0
    verdicts: int = 0
    dead_letters: int = 0
    claims: int = 0
    by_disposition: dict[str, int] = field(default_factory=dict)


def results(
    validator: Validator,
    lines: Iterable[bytes],
    source_name: str,
    max_bytes: int,
    duplicate_window_days: int = 90,
) -> Iterator[tuple[ClaimLineEvent | None, LineVerdict | DeadLetter]]:
    """One verdict (with its event) or dead letter per non-blank line, in input order."""
    histories: dict[str, PatientHistory] = {}
    for number, raw in enumerate(lines, start=1):
        record = raw.rstrip(b"\r\n")
        if not record.strip():
            continue
        value = decode(record, max_bytes)
        if isinstance(value, Rejection):
            yield None, dead_letter(value, record, source_of(source_name, None, number, None))
            continue
        try:
            if validator.stateful(value):
                verdict = validate_for_patient(validator, value, histories, duplicate_window_days)
            else:
                verdict = validator.validate(value)
        except Exception as exc:
            rejection = Rejection(
                DeadLetterReason.INTERNAL_ERROR,
                f"validation raised {type(exc).__name__}: {exc}",
                event_id=value.event_id,
            )
            yield value, dead_letter(rejection, record, source_of(source_name, None, number, None))
            continue
        yield value, verdict


@contextmanager
def _fewer_collections() -> Iterator[None]:
    """A run makes many short-lived models and keeps few: at Python's default threshold
    the collector spends about a fifth of the run rescanning reference data and
    histories. Frozen and collected less often, the run is that much faster."""
    threshold = gc.get_threshold()
    ours = gc.get_freeze_count() == 0  # leave a caller's own freeze alone
    if ours:
        gc.freeze()
    gc.set_threshold(max(threshold[0], 50_000), *threshold[1:])
    try:
        yield
    finally:
        gc.set_threshold(*threshold)
        if ours:
            gc.unfreeze()


@_fewer_collections()
def run(
    validator: Validator,
    lines: Iterable[bytes],
    *,
    source_name: str,
    max_bytes: int,
    out: IO[bytes],
    dead_out: IO[bytes] | None,
    claims_out: IO[bytes] | None,
    duplicate_window_days: int = 90,
) -> Summary:
    summary = Summary()
    claims: dict[str, ClaimState] = {}
    now = datetime.now(UTC)

    def write_claim(message: ClaimMessage, wait_s: float) -> None:
        text = add_to_claim(validator, claims, message, now, wait_s).verdict_json
        if text is not None and claims_out is not None:
            summary.claims += 1
            claims_out.write(f"{text}\n".encode())

    for event, item in results(validator, lines, source_name, max_bytes, duplicate_window_days):
        summary.lines += 1
        if isinstance(item, DeadLetter):
            summary.dead_letters += 1
            if dead_out is not None:
                dead_out.write(item.model_dump_json().encode() + b"\n")
            continue
        summary.verdicts += 1
        summary.by_disposition[item.disposition.value] = (
            summary.by_disposition.get(item.disposition.value, 0) + 1
        )
        text = item.model_dump_json()
        out.write(text.encode() + b"\n")
        if event is not None and claims_out is not None:
            write_claim(ClaimMessage.for_line(event, item, text), math.inf)
    for claim_id, state in list(claims.items()):
        if state.verdict_json is None:
            write_claim(ClaimMessage(kind="deadline", claim_id=claim_id), 0)
    return summary
