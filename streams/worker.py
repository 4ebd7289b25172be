"""Runs the Faust worker process with the app built from settings."""

from __future__ import annotations

import logging

from streams.settings import Settings

log = logging.getLogger(__name__)


def run_worker(settings: Settings) -> int:
    """Blocks until SIGTERM/SIGINT; Faust then commits offsets and stops its services."""
    from faust.worker import Worker

    from streams.app import create_app
    from streams.logs import logging_config

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    app = create_app(settings)
    worker = Worker(
        app,
        loglevel=settings.log_level,
        logging_config=logging_config(settings.log_level, settings.log_format),
        quiet=True,
        redirect_stdouts=False,
        workdir=str(settings.data_dir),
    )
    log.info(
        "starting worker app_id=%s broker=%s topics=%s",
        settings.app_id,
        settings.broker_url,
        settings.topic_lines,
    )
    try:
        worker.execute_from_commandline()
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0
