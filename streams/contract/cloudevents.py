"""CloudEvents attributes (binary content mode) on the records the worker writes.

Consumers that route or trace with CloudEvents (Knative, Dapr, an event mesh) read the
`ce_*` headers of the Kafka protocol binding (CloudEvents 1.0) without parsing the
value; consumers that do not are unaffected, since the value stays the contract's JSON.
"""

from __future__ import annotations

from datetime import datetime

SPEC_VERSION = b"1.0"
CONTENT_TYPE = b"application/json"

LINE_VERDICT = "org.j9262.claim-line-verdict.v1"
DEAD_LETTER = "org.j9262.dead-letter.v1"


def cloudevent_headers(
    kind: str, event_id: str, source: str, time: datetime, subject: str | None = None
) -> list[tuple[str, bytes]]:
    """`ce_id` must be unique per source and stable for the same record: a verdict's id,
    or a dead letter's input position. `subject` names the claim (never a patient)."""
    headers = [
        ("ce_specversion", SPEC_VERSION),
        ("ce_id", event_id.encode()),
        ("ce_source", source.encode()),
        ("ce_type", kind.encode()),
        ("ce_time", time.isoformat().replace("+00:00", "Z").encode()),
        ("content-type", CONTENT_TYPE),
    ]
    if subject is not None:
        headers.append(("ce_subject", subject.encode()))
    return headers
