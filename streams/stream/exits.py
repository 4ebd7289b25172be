"""The worker's exit codes, and the two ways it ends without a graceful stop.

Kept apart from `worker.py` so that the transport and the app can end the
process without importing the module that builds them.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import NoReturn

log = logging.getLogger(__name__)

EXIT_CANNOT_START = 2
"""Settings, reference data or the broker refused the start; the log says which."""
EXIT_BAD_REFDATA = 2
"""Reference data failed its checks, which run first, before the broker is contacted (one log
line per error, naming file, line and column). Also the code of a broker that refused the
worker or could not be reached; the log says which."""

EXIT_STOP_TIMED_OUT = 3
EXIT_SENDS_FAILED = 4
EXIT_CODEC_MISSING = 5
"""A record batch came compressed with a codec this install cannot read."""

CODEC_INSTALL_HINT = "install aiokafka's codec extras: pip install 'aiokafka[lz4,snappy,zstd]'"


def exit_now(code: int) -> NoReturn:
    """Ends the process at once: no graceful stop, hence no offset commit."""
    logging.shutdown()
    os._exit(code)


def exit_after(seconds: float) -> None:
    """Ends the process if a graceful stop hangs, as Faust's does on a producer flush
    that cannot finish. Nothing is lost: uncommitted events are redelivered."""

    def expire() -> None:
        log.error(
            "stopping took longer than %g s; exiting without waiting "
            "(events not yet committed will be redelivered)",
            seconds,
        )
        exit_now(EXIT_STOP_TIMED_OUT)

    timer = threading.Timer(seconds, expire)
    timer.daemon = True
    timer.start()
