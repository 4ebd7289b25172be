"""The worker process: a stop that hangs still ends, with a clear log line; the
event loop it runs on."""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
from collections.abc import Iterator

import pytest
import uvloop
from aiokafka import codec

from streams.settings import Settings
from streams.stream.exits import EXIT_STOP_TIMED_OUT
from streams.stream.worker import check_codecs, missing_codecs, use_event_loop


@pytest.fixture
def policy() -> Iterator[None]:
    before = asyncio.get_event_loop_policy()
    yield
    asyncio.set_event_loop_policy(before)


def _new_loop_type() -> type:
    loop = asyncio.new_event_loop()
    loop.close()
    return type(loop)


@pytest.mark.usefixtures("policy")
def test_uvloop_makes_the_loops_faust_creates() -> None:
    assert use_event_loop("uvloop") == "uvloop"
    assert issubclass(_new_loop_type(), uvloop.Loop)


@pytest.mark.usefixtures("policy")
def test_asyncio_leaves_pythons_own_loop() -> None:
    asyncio.set_event_loop_policy(None)
    assert use_event_loop("asyncio") == "asyncio"
    assert not issubclass(_new_loop_type(), uvloop.Loop)


@pytest.mark.usefixtures("policy")
def test_without_uvloop_the_worker_says_so_and_runs_on_asyncio(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    asyncio.set_event_loop_policy(None)
    monkeypatch.setitem(sys.modules, "uvloop", None)
    with caplog.at_level(logging.WARNING, logger="streams.stream.worker"):
        assert use_event_loop("uvloop") == "asyncio"
    assert "uvloop is not installed" in caplog.text
    assert not issubclass(_new_loop_type(), uvloop.Loop)


def test_a_hung_stop_exits_after_the_timeout() -> None:
    script = (
        "import time\nfrom streams.stream.exits import exit_after\n"
        "exit_after(0.5)\ntime.sleep(60)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=30, check=False
    )
    assert result.returncode == EXIT_STOP_TIMED_OUT
    assert "stopping took longer than 0.5 s" in result.stderr


def test_without_the_codec_library_the_worker_names_what_to_install(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    assert missing_codecs() == []  # a runtime dependency
    monkeypatch.setattr(codec, "cramjam", None)
    assert missing_codecs() == ["snappy", "lz4", "zstd"]
    reason = check_codecs(Settings(_env_file=None, compression="lz4"))
    assert reason is not None
    assert "J9262_COMPRESSION=lz4" in reason
    assert "pip install 'aiokafka[lz4,snappy,zstd]'" in reason
    with caplog.at_level(logging.WARNING, logger="streams.stream.worker"):
        assert check_codecs(Settings(_env_file=None, compression="gzip")) is None
    assert "input compressed with snappy, lz4, zstd cannot be read" in caplog.text
