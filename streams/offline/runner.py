"""`j9262 validate`: the stream's rules and stateful checks over a JSON Lines file.

The stream's tables become dicts; lines are seen in input order. A claim's
verdict is written when its last line arrives; claims still missing lines at
the end of the file get theirs then, with `complete: false`.
"""

from __future__ import annotations

import csv
import gc
import logging
import math
import os
import stat
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator, MutableMapping
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Protocol

from streams.contract.decoding import Rejection, dead_letter, decode, source_of
from streams.contract.encoding import PlainClaimVerdict
from streams.contract.models import (
    ClaimFrequency,
    ClaimLineEvent,
    DeadLetter,
    LineVerdict,
)
from streams.offline.spill import SpillMap
from streams.ops.logs import withheld
from streams.validation.answer import ClaimMessage, add_to_claim, answer_line
from streams.validation.history import PatientHistory
from streams.validation.rollup import ClaimState
from streams.validation.validator import Validator

log = logging.getLogger(__name__)

SUPERSEDING = frozenset({ClaimFrequency.REPLACEMENT, ClaimFrequency.VOID})
"""Claim frequencies that take the place of an earlier claim's lines."""


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
    *,
    histories: MutableMapping[str, PatientHistory] | None = None,
) -> Iterator[tuple[ClaimLineEvent | None, LineVerdict | DeadLetter]]:
    """One verdict (with its event) or dead letter per non-blank line, in input order;
    `histories` holds the patients' histories (a dict when not given)."""
    if histories is None:
        histories = {}
    for number, raw in enumerate(lines, start=1):
        record = raw.rstrip(b"\r\n")
        if not record.strip():
            continue
        value = decode(record, max_bytes)
        if isinstance(value, Rejection):
            yield None, dead_letter(value, record, source_of(source_name, None, number, None))
            continue
        answer = answer_line(
            validator, value, histories, duplicate_window_days, on_error=_rule_failed
        )
        if isinstance(answer, Rejection):
            yield value, dead_letter(answer, record, source_of(source_name, None, number, None))
            continue
        yield value, answer


def _rule_failed(event: ClaimLineEvent, exc: Exception) -> None:
    """As the worker logs it (streams.stream.agents): the event id, the error's type and
    where it was raised, never its text."""
    log.error("rule evaluation failed for event_id=%s: %s", event.event_id, withheld(exc))


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


STATE_BUDGET = 20_000
"""Patient-history lines `run` holds in memory (about 1.5 kB each); open claims get
half as many lines, finished claim ids twice as many entries. More waits on disk."""

LINE_FORMATS = ("jsonl", "csv")
CSV_COLUMNS = (
    "claim_id",
    "line_number",
    "event_id",
    "hcpcs",
    "disposition",
    "edits",
    "first_suggestion",
    "worst_severity",
    "payer_id",
    "charge_amount",
    "verdict_id",
)
"""The columns of `--format csv`, in order (docs: README, "Offline validation")."""

_SEVERITY_ORDER = {"error": 2, "warning": 1, "info": 0}


def worst_severity(verdict: LineVerdict) -> str:
    """The most serious severity among the verdict's findings ("" when it has none)."""
    levels = [f.severity.value for f in verdict.findings]
    return max(levels, key=_SEVERITY_ORDER.__getitem__) if levels else ""


def first_suggestion(verdict: LineVerdict) -> str:
    """The fix a billing team should try first: the first finding that suggests one,
    else the catalog's fix for the first finding."""
    from streams.validation.rules.catalog import CATALOG

    for f in verdict.findings:
        if f.suggestion:
            return f.suggestion
    for f in verdict.findings:
        edit = CATALOG.get(f.code)
        if edit is not None:
            return edit.fix
    return ""


def csv_row(event: ClaimLineEvent | None, verdict: LineVerdict) -> list[str]:
    """One `--format csv` row (CSV_COLUMNS); edit codes joined with ';'."""
    amount = event.line.charge_amount if event is not None else None
    return [
        verdict.claim_id,
        str(verdict.line_number),
        verdict.event_id,
        verdict.hcpcs,
        verdict.disposition.value,
        ";".join(f.code for f in verdict.findings),
        first_suggestion(verdict),
        worst_severity(verdict),
        event.claim.payer.payer_id if event is not None else "",
        "" if amount is None else str(amount),
        verdict.verdict_id,
    ]


class _Text:
    """A text view of a binary output for the csv module, without buffering of its own."""

    def __init__(self, out: IO[bytes]) -> None:
        self._out = out

    def write(self, text: str) -> int:
        return self._out.write(text.encode())


Produced = Iterable[tuple[ClaimLineEvent | None, LineVerdict | DeadLetter]]
Producer = Callable[[MutableMapping[str, PatientHistory]], Produced]
"""Verdicts and dead letters in input order, made with the run's patient histories."""


class ReportSink(Protocol):
    """What `run` tells a report (streams.offline.report.Report) about each output it writes."""

    def add_line(self, event: ClaimLineEvent | None, verdict: LineVerdict) -> None: ...

    def add_dead_letter(self, letter: DeadLetter) -> None: ...

    def add_claim(self, verdict: PlainClaimVerdict) -> None: ...


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
    line_format: str = "jsonl",
    report: ReportSink | None = None,
    state_budget: int = STATE_BUDGET,
    produce: Producer | None = None,
) -> Summary:
    """Validate `lines` in order and write each output as it comes.

    Memory does not grow with the file: lines are read one at a time, a claim's
    state is dropped once its complete verdict is written (only its id is kept, so
    a repeated line does not roll the claim up twice, as in the stream), the lines
    a claim keeps for its roll-up hold no copy of their verdict, and a patient's
    history keeps only the lines within the duplicate window. What remains grows
    with the number of patients and of claims, not of lines: so histories, open
    claims and finished claim ids beyond `state_budget` (about that many lines'
    worth) wait on disk (streams.offline.spill), as JSON, as the stream's tables keep
    them in RocksDB.

    `produce`, when given, makes the verdicts and dead letters instead of `lines`
    (streams.offline.inputs: X12, HL7 and FHIR records), from the histories it is given.
    """
    with (
        SpillMap[PatientHistory](
            state_budget,
            _history_weight,
            dump=PatientHistory.stored_json,
            load=PatientHistory.model_validate_json,
        ) as histories,
        SpillMap[ClaimState](
            max(state_budget // 2, 1),
            _claim_weight,
            dump=_claim_json,
            load=ClaimState.model_validate_json,
        ) as claims,
        SpillMap[bool](state_budget * 2) as done,
    ):
        return _run(
            validator,
            results(
                validator,
                lines,
                source_name,
                max_bytes,
                duplicate_window_days,
                histories=histories,
            )
            if produce is None
            else produce(histories),
            out=out,
            dead_out=dead_out,
            claims_out=claims_out,
            line_format=line_format,
            report=report,
            claims=claims,
            done=done,
        )


def _history_weight(history: PatientHistory) -> int:
    return 1 + sum(len(lines) for lines in history.lines.values())


def _claim_json(state: ClaimState) -> bytes:
    """As the stream's claims table stores it (JSON): about a quarter of pickle's cost."""
    return state.__pydantic_serializer__.to_json(state)


def _claim_weight(state: ClaimState) -> int:
    return 1 + len(state.lines)


def _run(
    validator: Validator,
    verdicts: Iterable[tuple[ClaimLineEvent | None, LineVerdict | DeadLetter]],
    *,
    out: IO[bytes],
    dead_out: IO[bytes] | None,
    claims_out: IO[bytes] | None,
    line_format: str,
    report: ReportSink | None,
    claims: MutableMapping[str, ClaimState],
    done: MutableMapping[str, bool],
) -> Summary:
    summary = Summary()
    now = datetime.now(UTC)
    rows = csv.writer(_Text(out), lineterminator="\n") if line_format == "csv" else None
    if rows is not None:
        rows.writerow(CSV_COLUMNS)

    def write_claim(message: ClaimMessage, wait_s: float) -> None:
        verdict = add_to_claim(validator, claims, message, now, wait_s, keep_answered=False).verdict
        if verdict is None:
            return
        summary.claims += 1
        if claims_out is not None:
            claims_out.write(f"{verdict.json}\n".encode())
        if report is not None:
            report.add_claim(verdict)
        if verdict.complete:  # add_to_claim let its state go
            done[message.claim_id] = True

    for event, item in verdicts:
        summary.lines += 1
        if isinstance(item, DeadLetter):
            summary.dead_letters += 1
            if dead_out is not None:
                dead_out.write(item.model_dump_json().encode() + b"\n")
            if report is not None:
                report.add_dead_letter(item)
            continue
        summary.verdicts += 1
        disposition = str(item.disposition)  # its text, without enum.property's 0.3 us
        summary.by_disposition[disposition] = summary.by_disposition.get(disposition, 0) + 1
        if rows is not None:
            rows.writerow(csv_row(event, item))
        else:
            out.write(verdict_line(item))
        if report is not None:
            report.add_line(event, item)
        roll_up = claims_out is not None or report is not None
        if event is not None and event.claim.frequency in SUPERSEDING:
            # A replacement or void under an answered claim's id is rolled up again, as
            # the stream's claim state (kept after its verdict) does.
            done.pop(event.claim.claim_id, None)
        if event is not None and roll_up and event.claim.claim_id not in done:
            # The roll-up reads a line's verdict id and disposition only: no copy of its text.
            write_claim(ClaimMessage.for_line(event, item, ""), math.inf)
    for claim_id in claims:
        if claims[claim_id].verdict_json is None:
            write_claim(ClaimMessage(kind="deadline", claim_id=claim_id), 0)
    return summary


def verdict_line(verdict: LineVerdict) -> bytes:
    """The verdict's JSON line: `model_dump_json()` as bytes, without its text round trip."""
    return verdict.__pydantic_serializer__.to_json(verdict) + b"\n"


class Misuse(Exception):
    """A misuse of `j9262 validate` the user can fix: the message is one line."""


def open_input(path: str) -> IO[bytes]:
    """The input file ('-': stdin), or a one-line Misuse saying why it cannot be read."""
    if path == "-":
        return sys.stdin.buffer
    try:
        if Path(path).is_dir():
            raise Misuse(f"input {path!r} is a directory, not a JSON Lines file")
        return open(path, "rb")
    except FileNotFoundError:
        raise Misuse(f"input {path!r} does not exist") from None
    except PermissionError:
        raise Misuse(f"input {path!r} is not readable (permission denied)") from None
    except OSError as exc:
        raise Misuse(f"input {path!r} cannot be read: {exc.strerror or exc}") from None


def _identity(st: os.stat_result) -> tuple[int, int]:
    return st.st_dev, st.st_ino


def plan_outputs(
    source: IO[bytes], source_path: str, outputs: dict[str, str | None]
) -> dict[str, Path | None]:
    """Where each output will be written, checked before anything is read or written.

    `outputs` maps an option (e.g. "--output") to its path; None and '-' are left
    alone. A path is refused when it is the input (compared by device and inode,
    so symlinks and hard links count, and by resolved path), when another output
    of the run names the same file, when it is a directory, or when its folder is
    missing or not writable. A symlink is followed: its target gets the output.
    """
    try:
        source_id: tuple[int, int] | None = _identity(os.fstat(source.fileno()))
    except (OSError, ValueError):  # a pipe without a file number (tests' stdin)
        source_id = None
    resolved_source = None if source_path == "-" else Path(source_path).resolve()
    planned: dict[str, Path | None] = {}
    seen: dict[Path | tuple[int, int], str] = {}
    for option, raw in outputs.items():
        if raw is None or raw == "-":
            planned[option] = None
            continue
        target = Path(raw).resolve()
        keys: list[Path | tuple[int, int]] = [target]
        if target.is_dir():
            raise Misuse(f"{option} {raw!r} is a directory; name a file in it")
        if target.exists():
            ident = _identity(target.stat())
            keys.append(ident)
            if ident == source_id:
                raise Misuse(f"{option} {raw!r} is the input file; it would be overwritten")
        if target == resolved_source:
            raise Misuse(f"{option} {raw!r} is the input file; it would be overwritten")
        for key in keys:
            if key in seen:
                raise Misuse(f"{option} {raw!r} is the same file as {seen[key]}")
        seen.update(dict.fromkeys(keys, f"{option} {raw!r}"))
        folder = target.parent
        if not folder.is_dir():
            raise Misuse(f"{option} {raw!r}: folder {str(folder)!r} does not exist")
        if not os.access(folder, os.W_OK | os.X_OK):
            raise Misuse(f"{option} {raw!r}: folder {str(folder)!r} is not writable")
        planned[option] = target
    return planned


@contextmanager
def atomic_outputs(targets: dict[str, Path | None]) -> Iterator[dict[str, IO[bytes] | None]]:
    """Files open for writing, each a temporary file in its target's folder that
    replaces the target only when the block ends without error; on error every
    temporary file is removed and no target is touched. A target that exists and
    is not a regular file (/dev/null, a FIFO) is written directly."""
    opened: dict[str, IO[bytes] | None] = {}
    pending: list[tuple[IO[bytes], Path]] = []
    with ExitStack() as stack:
        try:
            for option, target in targets.items():
                if target is None:
                    opened[option] = None
                elif target.exists() and not target.is_file():
                    opened[option] = stack.enter_context(open(target, "wb"))
                else:
                    fh: IO[bytes] = tempfile.NamedTemporaryFile(  # noqa: SIM115 - renamed or removed
                        "wb",
                        dir=target.parent,
                        prefix=f".{target.name}.",
                        suffix=".tmp",
                        delete=False,
                    )
                    pending.append((fh, target))
                    opened[option] = fh
            yield opened
            for done, target in pending:
                done.close()
                os.chmod(done.name, _mode_for(target))
                os.replace(done.name, target)
        finally:
            for left, _ in pending:
                left.close()
                with suppress(FileNotFoundError):
                    os.unlink(left.name)


def _mode_for(target: Path) -> int:
    """The permissions a plain open() would give: the old file's, or 0666 less the umask."""
    with suppress(FileNotFoundError):
        return stat.S_IMODE(target.stat().st_mode)
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask
