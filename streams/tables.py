"""The worker's changelog-backed tables: patient histories and claims in progress."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import faust
from faust.types import TableT

from streams.claims import ClaimState
from streams.codecs import ModelCodec
from streams.history import PatientHistory
from streams.settings import Settings


@dataclass(frozen=True)
class Tables:
    histories: TableT[str, PatientHistory]
    claims: TableT[str, ClaimState]


def declare(app: faust.App, settings: Settings) -> Tables:
    """Keys are str on the wire as raw UTF-8, like the topics' keys, so a key's table
    partition is its topic partition and web requests route to the owner."""

    def table(name: str, model: type[Any], help_: str) -> TableT[str, Any]:
        codec = ModelCodec(model)
        changelog = app.topic(
            f"{settings.app_id}-{name}-changelog",
            key_type=str,
            key_serializer="raw",
            value_serializer=codec,
            partitions=settings.topic_partitions,
            compacting=True,
            deleting=False,
            internal=True,
        )
        table = app.Table(
            name,
            partitions=settings.topic_partitions,
            key_type=str,
            changelog_topic=changelog,
            help=help_,
        )
        # Faust derives a table's serializers from its types (str -> json); the store,
        # created on first use, must encode like the changelog.
        table.key_serializer, table.value_serializer = "raw", codec  # type: ignore[attr-defined]
        return table

    return Tables(
        histories=table("patient-history", PatientHistory, "Recent J9262-family lines by patient"),
        claims=table("claims", ClaimState, "Claims in progress and their latest verdict"),
    )
