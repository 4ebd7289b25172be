"""Logging setup: readable text or one JSON object per line, to stderr.

Log lines name event ids and offsets, never patient ids, claim ids or NDCs.
"""

from __future__ import annotations

import logging
import logging.config
import threading
import traceback
from datetime import UTC, datetime
from typing import Any

import orjson
from pydantic import ValidationError


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
            "pid": record.process,
        }
        if record.exc_info:
            doc["exc"] = self.formatException(record.exc_info)
        return orjson.dumps(doc).decode()


def withheld(exc: BaseException) -> str:
    """An exception's type and where it was raised, without its text: the text of an
    error about a line or stored state can quote claim data (pydantic's errors quote
    the input), so the log gets the frames, and the code lines in them, only."""
    frames = "".join(traceback.format_tb(exc.__traceback__)).rstrip()
    where = ""
    if isinstance(exc, ValidationError):  # where and what, without the input values
        where = ": " + "; ".join(
            f"{'.'.join(map(str, e['loc'])) or '(value)'}: {e['msg']}"
            for e in exc.errors(include_url=False, include_input=False, include_context=False)
        )
    return f"{type(exc).__name__}{where} (its text withheld: it may quote claim data)\n{frames}"


QUIETED = ("aiokafka", "faust", "mode", "streams.stream.kafka.transport", "asyncio")
"""Loggers of the Kafka and Faust libraries (and this project's subclasses of Faust's
services, which log under their own module's name), and asyncio's, which reports their
futures: with the broker gone, each send that failed unawaited is one such report."""


class AsyncioWithheld(logging.Filter):
    """asyncio's reports of an exception nobody retrieved (a task, a future, a callback)
    carry the exception's text twice, in the traceback and in the future's repr, and
    the text of an error about a line can quote claim data. The report keeps its first
    line (what happened) and the exception as `withheld` gives it: type and frames."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if record.name == "asyncio" and exc is not None:
            what = record.getMessage().split("\n", 1)[0]
            record.msg = f"{what}: {withheld(exc)}"
            record.args = None
            record.exc_info = None
            record.exc_text = None
        return True


class RepeatFilter(logging.Filter):
    """Lets a warning or error of the Kafka and Faust libraries through once per
    interval; the next one let through tells how many like it were held back.

    With the broker gone, aiokafka logs every failed connect, metadata update, fetch
    and coordinator lookup, about 100 lines a second, each saying the same thing.
    Records are alike when logger and message template (`record.msg`, before its
    arguments are filled in) match, so a changing node id or port still counts as a
    repeat. The count only adds a number to the message: no record content.
    """

    def __init__(self, interval_s: float = 60.0, loggers: tuple[str, ...] = QUIETED) -> None:
        super().__init__()
        self.interval_s = interval_s
        self.loggers = loggers
        self._lock = threading.Lock()  # Faust's consumer logs from its own thread
        self._windows: dict[tuple[str, str], tuple[float, int]] = {}

    def _quieted(self, name: str) -> bool:
        return any(name == n or name.startswith(n + ".") for n in self.loggers)

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING or not self._quieted(record.name):
            return True
        key = (record.name, str(record.msg))
        with self._lock:
            started, held = self._windows.get(key, (float("-inf"), 0))
            if record.created - started < self.interval_s:
                self._windows[key] = (started, held + 1)
                return False
            self._windows[key] = (record.created, 0)
        if held:
            record.msg = (
                f"{record.msg} [{held} more like this in the last "
                f"{record.created - started:.0f} s not logged]"
            )
        return True


def logging_config(level: str, fmt: str, repeat_interval_s: float = 60.0) -> dict[str, Any]:
    """A dictConfig for the worker and the command line."""
    formatter: dict[str, Any] = (
        {"()": JsonFormatter}
        if fmt == "json"
        else {"format": "%(asctime)s %(levelname)s [%(name)s] %(message)s"}
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"default": formatter},
        "filters": {
            "asyncio": {"()": AsyncioWithheld},
            "repeats": {"()": RepeatFilter, "interval_s": repeat_interval_s},
        },
        "handlers": {
            "default": {
                "class": "logging.StreamHandler",
                "formatter": "default",
                "filters": ["asyncio", "repeats"],  # in this order: repeats match the
                # withheld text, which is the same for the same failure
                "stream": "ext://sys.stderr",
            }
        },
        # DEBUG is for this project's loggers only: the Kafka and Faust libraries log
        # raw fetch responses (record bytes: claim and patient data) at DEBUG.
        "root": {"level": "INFO" if level == "DEBUG" else level, "handlers": ["default"]},
        "loggers": {"streams": {"level": level}},
    }


def setup(level: str, fmt: str, repeat_interval_s: float = 60.0) -> None:
    logging.config.dictConfig(logging_config(level, fmt, repeat_interval_s))
