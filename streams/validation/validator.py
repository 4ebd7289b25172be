"""From a decoded event to its LineVerdict, and from line verdicts to a ClaimVerdict.

`Validator.validate` is the one entry point the stream agent and the offline
command share.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Protocol

from streams.contract.encoding import PlainClaimVerdict
from streams.contract.encoding import claim_verdict as claim_verdict_of
from streams.contract.models import (
    LINE_VERDICT_SCHEMA,
    ClaimLineEvent,
    Disposition,
    Enrichment,
    Finding,
    LineVerdict,
    Severity,
)
from streams.refdata import ReferenceData
from streams.validation.enrichment import enrich
from streams.validation.history import CYCLE_DAYS, HistoryContext, HistoryLine, PatientHistory
from streams.validation.rollup import ClaimState
from streams.validation.rules import RULESET_VERSION, LineContext, evaluate
from streams.validation.rules.claim import claim_findings
from streams.validation.rules.history import CODES as HISTORY_CODES
from streams.validation.trusted import trusted

_NAMESPACE = uuid.UUID("6f2b7a4e-5f3c-4e49-9d2a-2c1e3b0a9262")
_RANK = {Disposition.OUT_OF_SCOPE: 0, Disposition.PASS: 1, Disposition.WARN: 2, Disposition.FAIL: 3}


class LineOutcome(Protocol):
    """What a claim's roll-up reads of each line: a LineVerdict or a stored ClaimLine."""

    @property
    def line_number(self) -> int: ...
    @property
    def disposition(self) -> Disposition: ...
    @property
    def verdict_id(self) -> str: ...


def _uuid5_text(sha1: bytes) -> str:
    """`str(uuid.UUID(bytes=sha1[:16], version=5))` without building the UUID object
    (a tenth of the id's cost): version 5 in the high nibble of byte 6, the RFC 4122
    variant in the top bits of byte 8."""
    b = bytearray(sha1[:16])
    b[6] = (b[6] & 0x0F) | 0x50
    b[8] = (b[8] & 0x3F) | 0x80
    h = b.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def disposition_of(findings: Iterable[Finding]) -> Disposition:
    severities = {f.severity for f in findings}
    if Severity.ERROR in severities:
        return Disposition.FAIL
    if Severity.WARNING in severities:
        return Disposition.WARN
    return Disposition.PASS


def worst(dispositions: Iterable[Disposition]) -> Disposition:
    return max(dispositions, key=_RANK.__getitem__, default=Disposition.OUT_OF_SCOPE)


class Validator:
    """Holds the reference data; validates one event at a time, without I/O."""

    def __init__(self, refdata: ReferenceData) -> None:
        self.refdata = refdata
        self.ruleset_version = RULESET_VERSION
        self._id_prefix = hashlib.sha1(
            _NAMESPACE.bytes + f"{self.ruleset_version}|{refdata.version}|".encode(),
            usedforsecurity=False,
        )

    def verdict_id(self, event: ClaimLineEvent) -> str:
        """Same event, ruleset and reference data: same id, whatever the delivery.

        `uuid.uuid5(_NAMESPACE, f"{ruleset}|{refdata}|{event JSON}")`, computed from a
        hash of the fixed prefix made once: a line's id costs one serialization and
        one SHA-1 update instead of the whole derivation.
        """
        digest = self._id_prefix.copy()
        digest.update(event.__pydantic_serializer__.to_json(event, by_alias=True))
        return _uuid5_text(digest.digest())

    def stateful(self, event: ClaimLineEvent) -> bool:
        """Lines the cross-line rules look at: J9262, its predecessor and look-alikes."""
        return event.line.hcpcs in self.refdata.tracked_codes

    def validate_with_history(
        self, event: ClaimLineEvent, history: PatientHistory, duplicate_window_days: int
    ) -> tuple[LineVerdict, PatientHistory]:
        """The verdict given the patient's history, and the history with this line added."""
        window = timedelta(days=duplicate_window_days)
        context = HistoryContext(history, window, HistoryLine.of(event))
        verdict = self.validate(event, context)
        if event.event_id in history.findings:
            return verdict, history
        kept = [f for f in verdict.findings if f.code in HISTORY_CODES]
        retention = max(CYCLE_DAYS, duplicate_window_days) + 1
        return verdict, history.record(event, kept, retention, context.line)

    def answer_claim(self, state: ClaimState) -> PlainClaimVerdict:
        """The claim's verdict on the lines it holds, with its JSON."""
        return self.roll_up(
            state.claim_id,
            list(state.lines.values()),
            state.total_lines,
            claim_findings(state, self.refdata),
        )

    def validate(self, event: ClaimLineEvent, history: HistoryContext | None = None) -> LineVerdict:
        """The line's verdict, built from the validated event and the findings without
        validating them again (`trusted`)."""
        facts = enrich(event, self.refdata)
        if facts.in_scope:
            findings = evaluate(LineContext(event, facts, self.refdata, history))
            disposition = disposition_of(findings)
            enrichment = facts.to_model()
        else:
            findings, disposition, enrichment = [], Disposition.OUT_OF_SCOPE, Enrichment()
        return trusted(
            LineVerdict,
            {
                "schema_": LINE_VERDICT_SCHEMA,
                "verdict_id": self.verdict_id(event),
                "event_id": event.event_id,
                "claim_id": event.claim.claim_id,
                "line_number": event.line.line_number,
                "hcpcs": event.line.hcpcs,
                "disposition": disposition,
                "findings": findings,
                "enrichment": enrichment,
                "ruleset_version": self.ruleset_version,
                "reference_data_version": self.refdata.version,
                "validated_at": datetime.now(UTC),
            },
        )

    def roll_up(
        self,
        claim_id: str,
        lines: Sequence[LineOutcome],
        total_lines: int | None,
        findings: Sequence[Finding] = (),
    ) -> PlainClaimVerdict:
        """The claim's verdict as plain values and its JSON, written once: a roll-up
        comes at nearly every line, and its readers send the text."""
        by_line = {v.line_number: v for v in lines}
        refs = [(n, v.disposition, v.verdict_id) for n, v in sorted(by_line.items())]
        dispositions = [d for _, d, _ in refs]
        if findings:
            dispositions.append(disposition_of(findings))
        return claim_verdict_of(
            claim_id=claim_id,
            disposition=worst(dispositions),
            complete=total_lines is not None and len(by_line) >= total_lines,
            total_lines=total_lines,
            lines=refs,
            findings=list(findings),
            ruleset_version=self.ruleset_version,
            reference_data_version=self.refdata.version,
            validated_at=datetime.now(UTC),
        )
