"""What `j9262 broker` says when the broker process dies on its own."""

from __future__ import annotations

import io
import signal
import subprocess
import sys

from streams.stream.kafka.embedded import BrokerDied, OutputTail, describe_exit


def test_the_exit_code_follows_the_brokers_and_is_never_zero() -> None:
    assert BrokerDied(-signal.SIGKILL, []).exit_code == 137
    assert BrokerDied(101, []).exit_code == 101
    assert BrokerDied(0, []).exit_code == 1  # ending unasked is a failure, whatever its code
    assert describe_exit(-signal.SIGTERM) == "was killed by SIGTERM"
    assert describe_exit(3) == "exited with code 3"


def test_the_report_quotes_the_last_lines_of_output() -> None:
    script = "for i in range(30): print(f'line {i}')\nraise SystemExit(7)\n"
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE)
    assert child.stdout is not None
    echoed = io.StringIO()
    tail = OutputTail(child.stdout, echoed, keep=3)
    died = BrokerDied(child.wait(), tail.last())
    assert echoed.getvalue().splitlines() == [f"line {i}" for i in range(30)]
    assert died.report().splitlines() == [
        "the embedded broker exited with code 7; its last output:",
        "  line 27",
        "  line 28",
        "  line 29",
    ]
    assert (
        BrokerDied(-9, []).report()
        == "the embedded broker was killed by SIGKILL; it printed nothing"
    )
