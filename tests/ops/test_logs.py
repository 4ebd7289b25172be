"""Error text kept out of the log: an exception about a line can quote claim data.
And a lost broker's flood of identical library errors kept out too."""

from __future__ import annotations

import asyncio
import gc
import logging
from logging import INFO, LogRecord

import pytest
from pydantic import ValidationError

from streams.ops.logs import AsyncioWithheld, RepeatFilter, withheld
from streams.validation.rollup import ClaimState


def test_an_exception_is_logged_by_type_and_frames_without_its_text() -> None:
    patient = "PT-SECRET"
    with pytest.raises(ValueError, match="SECRET") as caught:
        raise ValueError(f"patient {patient}")  # the traceback shows this line
    text = withheld(caught.value)
    assert text.startswith("ValueError (its text withheld")
    assert "in test_an_exception_is_logged_by_type_and_frames_without_its_text" in text
    assert "SECRET" not in text


def test_a_validation_error_keeps_its_fields_and_messages_but_not_the_values() -> None:
    stored = b'{"claim_id": "CLM-SECRET", "lines": "PT-SECRET"}'
    with pytest.raises(ValidationError, match="SECRET") as caught:
        ClaimState.model_validate_json(stored)
    text = withheld(caught.value)
    assert "claim_type: Field required" in text
    assert "lines: Input should be an object" in text
    assert "SECRET" not in text


def record(name: str, msg: str, *args: object, created: float, level: int = 40) -> LogRecord:
    rec = LogRecord(name, level, __file__, 1, msg, args, None)
    rec.created = created
    return rec


def test_a_repeated_library_error_passes_once_per_interval_with_a_count() -> None:
    quiet = RepeatFilter(interval_s=10)
    template = "Unable connect to node with id %s: %s"
    passed = [
        quiet.filter(record("aiokafka", template, node, "refused", created=t))
        for t, node in [(0, 1), (0.1, 2), (5, 1), (9.9, 3), (10.5, 1), (11, 1)]
    ]
    assert passed == [True, False, False, False, True, False]
    again = record("aiokafka", template, 1, "refused", created=20.5)
    assert quiet.filter(again)
    assert again.getMessage().endswith("[1 more like this in the last 10 s not logged]")


def test_other_messages_levels_and_loggers_are_not_held_back() -> None:
    quiet = RepeatFilter(interval_s=10)
    assert quiet.filter(record("aiokafka.consumer.fetcher", "Failed fetch %s", 1, created=0))
    assert quiet.filter(record("aiokafka", "Unable to update metadata from %s", 1, created=0))
    assert quiet.filter(record("faust.worker", "Ready", created=0, level=INFO))
    assert quiet.filter(record("faust.worker", "Ready", created=0, level=INFO))
    assert quiet.filter(record("streams.stream.agents", "dead letter %s", 1, created=0))
    assert quiet.filter(record("streams.stream.agents", "dead letter %s", 2, created=0))
    assert quiet.filter(record("faustish", "x", created=0))
    assert quiet.filter(record("faustish", "x", created=0))


class Kept(logging.Handler):
    """The records that reach it, after the handler's filters, formatted."""

    def __init__(self, *filters: logging.Filter) -> None:
        super().__init__()
        for f in filters:
            self.addFilter(f)
        self.setFormatter(logging.Formatter("%(name)s %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: LogRecord) -> None:
        self.lines.append(self.format(record))


def dropped_unretrieved(exc: BaseException) -> None:
    """A future that failed with `exc` and was dropped without anyone taking its
    exception: asyncio reports it through its logger."""

    async def fail() -> None:
        future = asyncio.get_running_loop().create_future()
        future.set_exception(exc)
        del future
        gc.collect()

    asyncio.run(fail())


def test_asyncios_report_of_an_untaken_exception_keeps_what_and_where_not_the_text() -> None:
    kept = Kept(AsyncioWithheld())
    logger = logging.getLogger("asyncio")
    logger.addHandler(kept)
    try:
        patient = "PT-SECRET"
        try:
            raise ValueError(f"patient {patient}")  # the frames show this line
        except ValueError as exc:
            dropped_unretrieved(exc)
    finally:
        logger.removeHandler(kept)
    [line] = [ln for ln in kept.lines if "never retrieved" in ln]
    assert line.startswith("asyncio Future exception was never retrieved: ValueError (its text")
    assert "in test_asyncios_report_of_an_untaken_exception" in line  # where it was raised
    assert "SECRET" not in "\n".join(kept.lines)


def test_asyncios_reports_of_the_same_failure_pass_once_per_interval() -> None:
    quiet = RepeatFilter(interval_s=60)
    kept = Kept(AsyncioWithheld(), quiet)
    logger = logging.getLogger("asyncio")
    logger.addHandler(kept)
    try:
        for _ in range(5):
            dropped_unretrieved(ConnectionError("node 111 not ready"))
    finally:
        logger.removeHandler(kept)
    assert len(kept.lines) == 1
    assert kept.lines[0].startswith("asyncio Future exception was never retrieved: ConnectionError")
