"""The worker process: a stop that hangs still ends, with a clear log line."""

from __future__ import annotations

import subprocess
import sys
import time

from streams.worker import EXIT_STOP_TIMED_OUT


def test_a_hung_stop_exits_after_the_timeout() -> None:
    script = "import time\nfrom streams.worker import exit_after\nexit_after(0.5)\ntime.sleep(60)\n"
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=30, check=False
    )
    assert result.returncode == EXIT_STOP_TIMED_OUT
    assert time.monotonic() - started < 20
    assert "stopping took longer than 0.5 s" in result.stderr
