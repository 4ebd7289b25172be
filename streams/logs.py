"""Logging setup: readable text or one JSON object per line, to stderr.

Log lines name event ids and offsets, never patient ids, claim ids or NDCs.
"""

from __future__ import annotations

import logging
import logging.config
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


def logging_config(level: str, fmt: str) -> dict[str, Any]:
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
        "handlers": {
            "default": {
                "class": "logging.StreamHandler",
                "formatter": "default",
                "stream": "ext://sys.stderr",
            }
        },
        # DEBUG is for this project's loggers only: the Kafka and Faust libraries log
        # raw fetch responses (record bytes: claim and patient data) at DEBUG.
        "root": {"level": "INFO" if level == "DEBUG" else level, "handlers": ["default"]},
        "loggers": {"streams": {"level": level}},
    }


def setup(level: str, fmt: str) -> None:
    logging.config.dictConfig(logging_config(level, fmt))
