"""The golden corpus through the broker and a worker: the same verdicts as offline."""

from __future__ import annotations

import asyncio

import pytest

from streams.cli.demo import collect
from streams.samples import encode
from streams.settings import Settings
from streams.stream.kafka.clients import publish
from tests.golden import CASES
from tests.integration.conftest import Workers

pytestmark = pytest.mark.integration


def test_golden_corpus_through_the_stream(settings: Settings, workers: Workers) -> None:
    docs = [case.doc() for case in CASES]
    asyncio.run(publish(settings, [encode(d) for d in docs]))
    workers.start()
    verdicts, letters = asyncio.run(collect(settings, len(docs), timeout=120))
    assert letters == []
    got = {v.event_id: (v.disposition.value, [f.code for f in v.findings]) for v in verdicts}
    expected = {d["event_id"]: (c.disposition, c.codes) for c, d in zip(CASES, docs, strict=True)}
    assert got == expected
