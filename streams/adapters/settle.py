"""What the stream and the offline command do with one record's `Adapted`: the same thing.

A charge that a credit in the same record reverses is withdrawn with its credit: neither
is a line to answer, and the claim's other lines count one line fewer so the claim still
completes. A credit whose charge came in an earlier record withdraws nothing (that charge
was answered already); it is kept in `credits` for the caller to report. Each failure
becomes the `Rejection` that the contract's dead letter is made from, naming the format
and where the record broke.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from streams.adapters.hl7v2 import load_profile
from streams.adapters.model import (
    Adapted,
    Event,
    Failure,
    Format,
    Options,
    Reversal,
    SchemaResolver,
)
from streams.adapters.registry import SchemaRegistry
from streams.contract.decoding import Rejection
from streams.contract.models import ValidationIssue
from streams.settings import Settings


@dataclass(frozen=True, slots=True)
class Settled:
    """One record's lines to answer, failures to dead-letter, and credits to report."""

    format: Format
    events: tuple[Event, ...]
    rejections: tuple[Rejection, ...]
    withdrawn: tuple[Reversal, ...] = ()
    """Credits that withdrew a charge of the same record (neither is answered)."""
    credits: tuple[Reversal, ...] = ()
    """Credits whose charge is not in the record: its earlier verdict stands."""


def settle(adapted: Adapted) -> Settled:
    reversed_ids = {r.reverses_event_id for r in adapted.reversals if r.reverses_event_id}
    withdrawn_by_claim = Counter(
        str(e["claim"]["claim_id"]) for e in adapted.events if e["event_id"] in reversed_ids
    )
    events = tuple(
        _fewer_lines(e, withdrawn_by_claim[str(e["claim"]["claim_id"])])
        for e in adapted.events
        if e["event_id"] not in reversed_ids
    )
    return Settled(
        format=adapted.format,
        events=events,
        rejections=tuple(rejection(f) for f in adapted.failures),
        withdrawn=tuple(r for r in adapted.reversals if r.reverses_event_id),
        credits=tuple(r for r in adapted.reversals if not r.reverses_event_id),
    )


def _fewer_lines(event: Event, withdrawn: int) -> Event:
    """The event with `claim.total_lines` less the claim's withdrawn charges."""
    total = event["claim"].get("total_lines")
    if not withdrawn or not isinstance(total, int):
        return event
    return {**event, "claim": {**event["claim"], "total_lines": max(total - withdrawn, 1)}}


def rejection(failure: Failure) -> Rejection:
    """The dead-letter reason, a detail naming the format and place, and `errors[0].loc`
    the place in the source's own terms (an X12 segment, an HL7 field, a FHIR path)."""
    where = failure.location
    line = ""
    if failure.claim_id is not None:
        line = f" (claim {failure.claim_id}" + (
            f", line {failure.line_number})" if failure.line_number is not None else ")"
        )
    issues = [ValidationIssue(loc=where, msg=failure.message)]
    issues += [ValidationIssue(loc=loc or "(root)", msg=msg) for loc, msg in failure.errors]
    return Rejection(
        failure.reason,
        f"{failure.format.value} {where}{line}: {failure.message}",
        issues,
    )


def adapter_options(
    patient_key: str | None,
    hl7_profile: Path | None,
    registry: SchemaResolver | None = None,
) -> Options:
    """The options a deployment's settings give (J9262_PATIENT_KEY, J9262_HL7_PROFILE,
    the schema registry); raises `ProfileError` naming the file and key of a bad profile."""
    profile = load_profile(hl7_profile) if hl7_profile is not None else None
    return Options(
        patient_key=(patient_key or "").encode(), hl7_profile=profile, schema_resolver=registry
    )


def options_from(settings: Settings) -> Options:
    """Adapter options from J9262_PATIENT_KEY, J9262_HL7_PROFILE and the schema registry
    settings, the same for the stream and the offline command (ProfileError if bad)."""
    key, credentials = settings.patient_key, settings.schema_registry_credentials
    registry = (
        SchemaRegistry(
            settings.schema_registry_url,
            credentials.get_secret_value() if credentials else None,
        )
        if settings.schema_registry_url
        else None
    )
    return adapter_options(key.get_secret_value() if key else None, settings.hl7_profile, registry)
