"""Which sends the outbox takes (its sending: tests/integration/test_outbox.py)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from streams.settings import Settings
from streams.stream.app import create_app
from streams.stream.kafka.batched_producer import Outbox
from streams.validation.answer import ClaimMessage


class Recording(Outbox):
    """An outbox that keeps what it is given instead of sending it."""

    def __init__(self) -> None:
        super().__init__(lambda: pytest.fail("nothing is sent"))
        self.sent: list[tuple[Any, ...]] = []

    def send(self, topic: str, key: bytes | None, value: bytes | None, **rest: Any) -> None:
        self.sent.append((topic, key, value, rest["partition"], rest["headers"]))


@pytest.mark.parametrize(
    ("changes", "batched"),
    [
        ({}, True),
        ({"batched_sends": False}, False),
        ({"processing_guarantee": "exactly_once"}, False),
    ],
)
def test_the_outbox_is_used_when_switched_on_and_at_least_once(
    tmp_path: Path, changes: dict[str, Any], batched: bool
) -> None:
    app = create_app(Settings(_env_file=None, data_dir=tmp_path, **changes))
    assert (app.outbox is not None) == batched  # type: ignore[attr-defined]


def test_bytes_go_to_the_outbox_and_models_through_faust(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path, batched_sends=True)
    app = create_app(settings)
    outbox = app.outbox = Recording()  # type: ignore[attr-defined]

    async def send() -> Any:
        topic = app.topic(settings.topic_verdicts, key_serializer="raw", value_serializer="raw")
        topic.send_soon(key=b"CLM-1", value=b"{}")
        patients = app.topic("patients", key_serializer="raw", value_serializer="raw")
        patients.send_soon(key="P-1", value=b"line", headers=[("h", b"1")])
        patients.send_soon(key="P-1", value=b"line", timestamp=5.0)  # Faust's: a set time
        ticks = app.topic("ticks", key_serializer="raw", value_serializer="json")
        ticks.send_soon(key=b"CLM-1", value=b"{}")  # Faust's: json would quote the bytes
        claim_lines = app.topic("claims", key_serializer="raw", value_serializer="raw")
        claim_lines.send_soon(key=b"CLM-1", value=ClaimMessage(kind="deadline", claim_id="C"))
        table = app.Table("t", partitions=4, key_type=str, value_type=bytes)
        table.key_serializer = table.value_serializer = "raw"  # as streams.stream.tables sets them
        return table, table.send_changelog(2, "P-1", b"history")

    table, sent = asyncio.run(send())
    assert outbox.sent == [
        (settings.topic_verdicts, b"CLM-1", b"{}", None, ()),
        ("patients", b"P-1", b"line", None, [("h", b"1")]),
        (table.changelog_topic.get_topic_name(), b"P-1", b"history", 2, ()),
    ]
    assert sent.message.partition == 2
    assert app.producer.buffer.pending.qsize() == 3
