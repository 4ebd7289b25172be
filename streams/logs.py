"""Logging setup: readable text or one JSON object per line, to stderr.

Log lines name event ids and offsets, never patient ids, claim ids or NDCs.
"""

from __future__ import annotations

import logging
import logging.config
from datetime import UTC, datetime
from typing import Any

import orjson


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
        "root": {"level": level, "handlers": ["default"]},
        # aiokafka logs every connection hiccup at ERROR; keep it to warnings and up.
        "loggers": {"aiokafka": {"level": "WARNING" if level != "DEBUG" else "DEBUG"}},
    }


def setup(level: str, fmt: str) -> None:
    logging.config.dictConfig(logging_config(level, fmt))
