"""`j9262 validate` on the formats hospitals send: X12 837, HL7 v2 DFT, FHIR R4 JSON.

The format is read from the first bytes, as the stream reads it (streams.adapters), unless
`--input-format` names it. JSON Lines keep the runner's own line-by-line path. Any other
file is cut into source records without being read whole (an X12 interchange ISA..IEA, an
HL7 message or MLLP frame; a FHIR document or NDJSON export is one record, since its Claims
refer to the other resources in it). Each record is adapted; each failure is a dead letter
with the record's bytes, and each event goes through the runner's per-line validation, one
at a time, so memory grows with one record, not with the file.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterable, Iterator, MutableMapping
from dataclasses import dataclass, field
from itertools import chain
from typing import IO

import orjson

from streams.adapters import Format, Options, adapt, detect
from streams.adapters.hl7v2 import ProfileError
from streams.adapters.settle import options_from, settle
from streams.contract.decoding import dead_letter, source_of
from streams.contract.models import ClaimLineEvent, DeadLetter, LineVerdict
from streams.offline.runner import Misuse, Produced, results
from streams.settings import Settings
from streams.validation.history import PatientHistory
from streams.validation.validator import Validator

__all__ = [
    "INPUT_FORMATS",
    "Format",
    "Produced",
    "SourceRecord",
    "Tally",
    "adapted_results",
    "chunks",
    "credits_note",
    "open_detected",
    "options",
    "split",
]

INPUT_FORMATS = ("auto", "jsonl", "x12", "hl7", "fhir")
"""`--input-format` choices; `auto` reads the first bytes."""
HEAD_BYTES = 4096
CHUNK_BYTES = 1 << 16

_FORCED = {"jsonl": Format.JSON_LINES, "x12": Format.X12_837P, "hl7": Format.HL7V2_DFT}


class Replayed(io.RawIOBase):
    """A stream whose first bytes were read to tell its format, readable again from byte 0
    (stdin cannot seek back)."""

    def __init__(self, head: bytes, rest: IO[bytes]) -> None:
        super().__init__()
        self._head = memoryview(head)
        self._rest = rest

    def readable(self) -> bool:
        return True

    def fileno(self) -> int:
        return self._rest.fileno()

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        if self._head:
            n = min(len(buffer), len(self._head))
            buffer[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        data = self._rest.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def open_detected(source: IO[bytes], chosen: str = "auto") -> tuple[Format, IO[bytes]]:
    """The input's content format and the input again from its first byte.

    Anything `auto` does not recognise as X12, HL7 or FHIR is read as JSON Lines, so a
    file of bad lines still gets one dead letter per line, as before adapters existed.
    """
    if chosen not in INPUT_FORMATS:
        raise Misuse(f"--input-format {chosen!r}: choose one of {', '.join(INPUT_FORMATS)}")
    head = source.read(HEAD_BYTES)
    stream = io.BufferedReader(Replayed(head, source), buffer_size=CHUNK_BYTES)
    if chosen == "fhir":
        return Format.FHIR_R4, stream
    if chosen != "auto":
        return _FORCED[chosen], stream
    fmt = detect(head)
    if fmt in (Format.X12_837P, Format.X12_837I, Format.HL7V2_DFT, Format.FHIR_R4):
        return fmt, stream
    return Format.JSON_LINES, stream


def chunks(stream: IO[bytes]) -> Iterator[bytes]:
    return iter(lambda: stream.read(CHUNK_BYTES), b"")


@dataclass(frozen=True, slots=True)
class SourceRecord:
    """One record of the file: its bytes and the 1-based line it starts on."""

    line: int
    data: bytes


def split(pieces: Iterable[bytes], fmt: Format) -> Iterator[SourceRecord]:
    """The file's records in order; every byte that is not blank lands in one of them."""
    if fmt in (Format.X12_837P, Format.X12_837I):
        return _cut(pieces, _x12_end)
    if fmt is Format.HL7V2_DFT:
        return _cut(pieces, _hl7_end)
    return _cut(pieces, lambda buf, final, start: None)


EndOf = Callable[[bytearray, bool, int], int | None]
"""Where the first record of the buffer ends (None: read more); the third argument is
where to start looking, as what comes before it was searched already."""
_LEADING_BLANKS = re.compile(rb"[\xef\xbb\xbf \t\r\n]*")
_TRAILING_BLANKS = re.compile(rb"[ \t\r\n]*")
_OVERLAP = 4096
"""Bytes searched again when a record's end is looked for after more input arrives: more
than any end marker (an IEA segment, a frame end) spans."""


def _cut(pieces: Iterable[bytes], end_of: EndOf) -> Iterator[SourceRecord]:
    """Records cut where `end_of` says the first one ends.

    A record keeps the blank bytes after it, so a file of one record is that record byte
    for byte, and its events get the ids they get when the file is published as one
    message (ids derive from the record's bytes). Blanks before the first record and a
    byte-order mark are dropped. The cut does not depend on how the file was read, and a
    long record is searched once, not again with every piece that extends it.
    """
    buf = bytearray()
    line = 1
    searched = 0
    for piece in chain(pieces, [None]):
        final = piece is None
        buf += piece or b""
        while True:
            lead = _LEADING_BLANKS.match(buf).end()  # type: ignore[union-attr]
            if lead:
                line += buf.count(b"\n", 0, lead)
                del buf[:lead]
                searched = max(searched - lead, 0)
            if not buf:
                break
            end = end_of(buf, final, max(searched - _OVERLAP, 0))
            if end is None:
                if not final:
                    searched = len(buf)
                    break
                end = len(buf)
            stop = _TRAILING_BLANKS.match(buf, end).end()  # type: ignore[union-attr]
            if stop == len(buf) and not final:
                break  # the blanks may go on in the next piece
            record = bytes(buf[:stop])
            del buf[:stop]
            searched = 0
            yield SourceRecord(line, record)
            line += record.count(b"\n")


_X12_CACHE: dict[tuple[bytes, bytes], re.Pattern[bytes]] = {}


def _x12_end(buf: bytearray, final: bool, start: int) -> int | None:
    """The end of the first interchange: after its IEA segment's terminator.

    The separators are those its ISA declares (element at byte 3, segment terminator at
    byte 105). Bytes before an ISA are a record of their own (and fail as not X12).
    """
    if not buf.startswith(b"ISA"):
        at = buf.find(b"ISA")
        return at if at > 0 else None
    if len(buf) < 106:
        return None
    sep, term = bytes(buf[3:4]), bytes(buf[105:106])
    pattern = _X12_CACHE.get((sep, term))
    if pattern is None:
        t = re.escape(term)
        pattern = re.compile(t + rb"\s*IEA" + re.escape(sep) + rb"[^" + t + rb"]*" + t)
        _X12_CACHE[sep, term] = pattern
    found = pattern.search(buf, max(start, 105))
    return found.end() if found else None


_MSH_AFTER_BREAK = re.compile(rb"[\r\n]+(?=MSH)")


def _hl7_end(buf: bytearray, final: bool, start: int) -> int | None:
    """The end of the first message: its MLLP frame's end (0x1C, then CR), or, unframed,
    the segment break before the next MSH."""
    if buf.startswith(b"\x0b"):
        at = buf.find(b"\x1c", start)
        if at < 0 or (at + 1 == len(buf) and not final):
            return None
        return at + 2 if buf[at + 1 : at + 2] == b"\r" else at + 1
    found = _MSH_AFTER_BREAK.search(buf, max(start, 1))
    if found is None:
        return None
    frame = buf.find(b"\x0b", 1, found.start())
    return frame if frame > 0 else found.start()


@dataclass
class Tally:
    """What the adapted records held besides lines, for the run's summary."""

    records: int = 0
    withdrawn: int = 0
    """Charges withdrawn by a credit in the same record (no verdict for either)."""
    credits: int = 0
    """Credits whose charge is not in the file's record (reported, not validated)."""
    formats: dict[str, int] = field(default_factory=dict)


def options(settings: Settings) -> Options:
    """Adapter options from the settings; a bad profile is one line naming the file."""
    try:
        return options_from(settings)
    except ProfileError as exc:
        raise Misuse(f"J9262_HL7_PROFILE: {exc}") from None


def adapted_results(
    validator: Validator,
    records: Iterable[SourceRecord],
    fmt: Format,
    *,
    source_name: str,
    max_bytes: int,
    duplicate_window_days: int,
    histories: MutableMapping[str, PatientHistory],
    adapter_options: Options,
    tally: Tally,
) -> Iterator[tuple[ClaimLineEvent | None, LineVerdict | DeadLetter]]:
    """Per record: a dead letter per failure (the record's bytes, the format, where it
    broke), then a verdict per line through the runner's own per-line path."""
    for record in records:
        tally.records += 1
        settled = settle(adapt(record.data, format=fmt.value, options=adapter_options))
        tally.formats[settled.format.value] = tally.formats.get(settled.format.value, 0) + 1
        tally.withdrawn += len(settled.withdrawn)
        tally.credits += len(settled.credits)
        where = source_of(source_name, None, record.line, None)
        for rejection in settled.rejections:
            yield None, dead_letter(rejection, record.data, where)
        yield from results(
            validator,
            (orjson.dumps(e) for e in settled.events),
            source_name,
            max_bytes,
            duplicate_window_days,
            histories=histories,
        )


def credits_note(tally: Tally) -> str:
    """The summary line's words on HL7 credits ("" when there were none)."""
    parts = []
    if tally.withdrawn:
        parts.append(f"{tally.withdrawn} charge(s) withdrawn by a credit in the same message")
    if tally.credits:
        parts.append(f"{tally.credits} credit(s) for a charge not in the file")
    return "".join(f", {p} (no verdict)" for p in parts)
