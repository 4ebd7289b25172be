"""The contract's topics, and the codec that hands agents models instead of dicts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import faust

from streams.decoding import Rejection, decode
from streams.events import ClaimLineEvent
from streams.settings import Settings


class ClaimLineCodec(faust.Codec):
    """Decodes to a ClaimLineEvent or a Rejection, and never raises.

    Faust drops a record whose codec raises; returning the rejection instead
    lets the agent dead-letter it, so nothing is lost.
    """

    def __init__(self, max_bytes: int, **kwargs: Any) -> None:
        super().__init__(max_bytes=max_bytes, **kwargs)
        self.max_bytes = max_bytes

    def _loads(self, s: bytes) -> ClaimLineEvent | Rejection:
        return decode(s, self.max_bytes)

    def _dumps(self, s: Any) -> bytes:
        if isinstance(s, ClaimLineEvent):
            return s.model_dump_json(by_alias=True).encode()
        return bytes(s)


@dataclass(frozen=True)
class Topics:
    lines: faust.TopicT
    verdicts: faust.TopicT
    claim_verdicts: faust.TopicT
    dead_letters: faust.TopicT


def declare(app: faust.App, settings: Settings) -> Topics:
    def out(name: str) -> faust.TopicT:
        return app.topic(name, key_serializer="raw", value_serializer="raw")

    return Topics(
        lines=app.topic(
            settings.topic_lines,
            key_serializer="raw",
            value_serializer=ClaimLineCodec(settings.max_message_bytes),
            allow_empty=True,
        ),
        verdicts=out(settings.topic_verdicts),
        claim_verdicts=out(settings.topic_claim_verdicts),
        dead_letters=out(settings.topic_dead_letters),
    )
