"""The contract's topics, and the internal topics between the agents."""

from __future__ import annotations

from dataclasses import dataclass

import faust

from streams.settings import Settings
from streams.stream.codecs import ClaimLineCodec, ModelCodec
from streams.validation.answer import ClaimMessage

PATIENT_LINES = "patient-lines"
CLAIM_LINES = "claim-lines"


def internal_name(settings: Settings, name: str) -> str:
    """An internal topic's name carries the app id, so apps sharing a cluster keep apart."""
    return f"{settings.app_id}-{name}"


@dataclass(frozen=True)
class Topics:
    lines: faust.TopicT
    verdicts: faust.TopicT
    claim_verdicts: faust.TopicT
    dead_letters: faust.TopicT
    patient_lines: faust.TopicT
    """Every readable line, repartitioned by patient_id: the patient's history and
    the line's claim are kept on that partition."""
    claim_lines: faust.TopicT
    """Deadline ticks, each sent to the partition that holds its claim. Earlier
    versions sent every line's verdict here, keyed by claim_id; a record of that
    kind left over from before an upgrade is still added to its claim."""


def declare(app: faust.App, settings: Settings) -> Topics:
    def out(name: str) -> faust.TopicT:
        return app.topic(name, key_serializer="raw", value_serializer="raw")

    def internal(name: str, codec: faust.Codec) -> faust.TopicT:
        return app.topic(
            internal_name(settings, name),
            key_type=str,
            key_serializer="raw",
            value_serializer=codec,
            partitions=settings.topic_partitions,
            internal=True,
        )

    lines_codec = ClaimLineCodec(settings.max_message_bytes)
    return Topics(
        lines=app.topic(
            settings.topic_lines,
            key_serializer="raw",
            value_serializer=lines_codec,
            allow_empty=True,
        ),
        verdicts=out(settings.topic_verdicts),
        claim_verdicts=out(settings.topic_claim_verdicts),
        dead_letters=out(settings.topic_dead_letters),
        patient_lines=internal(PATIENT_LINES, lines_codec),
        claim_lines=internal(CLAIM_LINES, ModelCodec(ClaimMessage)),
    )
