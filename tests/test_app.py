"""The Faust app: built from settings, and its start-up heap frozen once started."""

from __future__ import annotations

import asyncio
import gc
from pathlib import Path

import faust
import pytest

from streams.app import create_app
from streams.settings import Settings


def test_a_started_app_keeps_its_start_up_heap_out_of_collections(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def faust_started(self: faust.App) -> None:
        """Faust's own start-up (recovery, timers, web server) is not under test here."""

    monkeypatch.setattr(faust.App, "on_started", faust_started)
    app = create_app(Settings(_env_file=None, data_dir=tmp_path))
    assert gc.get_freeze_count() == 0
    try:
        asyncio.run(app.on_started())
        assert gc.get_freeze_count() > 10_000
    finally:
        gc.unfreeze()
