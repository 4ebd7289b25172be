"""`j9262 validate`: the stream's rules over a JSON Lines file, without Kafka."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO

from streams.decoding import Rejection, dead_letter, decode, source_of
from streams.events import ClaimLineEvent, ClaimVerdict, DeadLetter, DeadLetterReason, LineVerdict
from streams.verdicts import Validator


@dataclass
class Summary:
    lines: int = 0
    verdicts: int = 0
    dead_letters: int = 0
    by_disposition: dict[str, int] = field(default_factory=dict)


def results(
    validator: Validator, lines: Iterable[bytes], source_name: str, max_bytes: int
) -> Iterator[tuple[ClaimLineEvent | None, LineVerdict | DeadLetter]]:
    """One verdict (with its event) or dead letter per non-blank line, in input order."""
    for number, raw in enumerate(lines, start=1):
        record = raw.rstrip(b"\r\n")
        if not record.strip():
            continue
        value = decode(record, max_bytes)
        if isinstance(value, Rejection):
            yield None, dead_letter(value, record, source_of(source_name, None, number, None))
            continue
        try:
            yield value, validator.validate(value)
        except Exception as exc:
            yield (
                value,
                dead_letter(
                    Rejection(
                        DeadLetterReason.INTERNAL_ERROR,
                        f"validation raised {type(exc).__name__}: {exc}",
                        event_id=value.event_id,
                    ),
                    record,
                    source_of(source_name, None, number, None),
                ),
            )


def claim_verdicts(
    validator: Validator, verdicts: list[LineVerdict], totals: dict[str, int | None]
) -> list[ClaimVerdict]:
    by_claim: dict[str, list[LineVerdict]] = {}
    for v in verdicts:
        by_claim.setdefault(v.claim_id, []).append(v)
    return [validator.roll_up(cid, vs, totals.get(cid)) for cid, vs in by_claim.items()]


def run(
    validator: Validator,
    lines: Iterable[bytes],
    *,
    source_name: str,
    max_bytes: int,
    out: IO[bytes],
    dead_out: IO[bytes] | None,
    claims_out: IO[bytes] | None,
) -> Summary:
    summary = Summary()
    kept: list[LineVerdict] = []
    totals: dict[str, int | None] = {}
    for event, item in results(validator, lines, source_name, max_bytes):
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
        out.write(item.model_dump_json().encode() + b"\n")
        if claims_out is not None and event is not None:
            kept.append(item)
            totals[item.claim_id] = event.claim.total_lines
    if claims_out is not None:
        for cv in claim_verdicts(validator, kept, totals):
            claims_out.write(cv.model_dump_json().encode() + b"\n")
    return summary
