"""`j9262 demo`: the whole pipeline on one machine, then everything stops.

Starts the embedded broker and a worker process, publishes the bundled
sample (JSON events, and one X12 837P interchange as one record, as a hospital's
integration engine would send it), waits for one verdict or dead letter per JSON
record and per 837 service line, prints a summary and the 837's lines, and stops
the worker (SIGTERM) and the broker, leaving no process behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import tempfile
import time
from importlib import resources
from pathlib import Path

from pydantic import SecretStr
from rich.console import Console

from streams.adapters import adapt
from streams.cli.console import decode_record, summary_tables, verdict_row
from streams.contract.models import ClaimVerdict, DeadLetter, LineVerdict
from streams.settings import Settings
from streams.stream.kafka.clients import ensure_topics, follow, publish
from streams.stream.kafka.embedded import (
    EmbeddedBroker,
    die_with_parent,
    free_port,
    stop_process,
)


def sample_records() -> list[bytes]:
    text = resources.files("streams.samples").joinpath("demo-claims.jsonl").read_bytes()
    return [line for line in text.splitlines() if line.strip()]


def sample_x12() -> bytes:
    """A J9262 837P interchange: one claim, three service lines (one with units keyed as mg)."""
    return resources.files("streams.samples").joinpath("demo-claims.837").read_bytes()


def x12_lines(interchange: bytes) -> list[tuple[str, int]]:
    """(claim id, line number) of each service line the worker will answer."""
    return [(e["claim"]["claim_id"], e["line"]["line_number"]) for e in adapt(interchange).events]


def worker_env(settings: Settings) -> dict[str, str]:
    """This process's environment, with the J9262_* variables that reproduce `settings`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("J9262_")}
    for name in sorted(settings.model_fields_set):
        value = getattr(settings, name)
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        env[f"J9262_{name.upper()}"] = str(value)
    return env


def start_worker(env: dict[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    with log_path.open("ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "streams", "worker"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            preexec_fn=die_with_parent if sys.platform == "linux" else None,  # noqa: PLW1509
        )


async def collect(
    settings: Settings, expected: int, timeout: float
) -> tuple[list[LineVerdict], list[DeadLetter]]:
    verdicts: list[LineVerdict] = []
    letters: list[DeadLetter] = []
    deadline = time.monotonic() + timeout

    async def read() -> None:
        topics = [settings.topic_verdicts, settings.topic_dead_letters]
        async for rec in follow(settings, topics, from_beginning=True):
            item = decode_record(rec.topic, rec.value, settings)
            (letters if isinstance(item, DeadLetter) else verdicts).append(item)  # type: ignore[arg-type]
            if len(verdicts) + len(letters) >= expected or time.monotonic() > deadline:
                return

    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(read(), timeout)
    return verdicts, letters


async def collect_claims(settings: Settings, expected: int, timeout: float) -> list[ClaimVerdict]:
    """Claim verdicts until there is one per claim (incomplete claims after their wait)."""
    latest: dict[str, ClaimVerdict] = {}

    async def read() -> None:
        async for rec in follow(settings, [settings.topic_claim_verdicts], from_beginning=True):
            verdict = ClaimVerdict.model_validate_json(rec.value)
            latest[verdict.claim_id] = verdict
            if len(latest) >= expected:
                return

    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(read(), timeout)
    return list(latest.values())


def run_demo(port: int | None, timeout: float) -> int:
    console = Console(highlight=False)
    records = sample_records()
    x12 = sample_x12()
    x12_keys = x12_lines(x12)
    workdir = Path(tempfile.mkdtemp(prefix="j9262-demo-"))
    with EmbeddedBroker(port, log_file=workdir / "broker.log") as broker:
        settings = Settings(
            broker_url=broker.url,
            web_port=free_port(),
            data_dir=workdir / "data",
            app_id="j9262-demo",
            broker_compat="tansu",
            session_timeout_s=6,  # the broker holds the first join for half of it
            claim_wait_s=3,
            claim_check_interval_s=0.5,
        )
        console.print(f"embedded broker on {broker.bootstrap}; logs in {workdir}")
        asyncio.run(ensure_topics(settings, settings.contract_topics))
        worker = start_worker(worker_env(settings), workdir / "worker.log")
        try:
            sent = len(asyncio.run(publish(settings, [*records, x12]))) - 1 + len(x12_keys)
            console.print(
                f"published {len(records)} sample claim lines and an X12 837P interchange "
                f"of {len(x12_keys)} service lines; waiting for the worker..."
            )
            verdicts, letters = asyncio.run(collect(settings, sent, timeout))
            claims = asyncio.run(
                collect_claims(settings, len({v.claim_id for v in verdicts}), timeout)
            )
        finally:
            code = stop_process(worker)
    for table in summary_tables(verdicts, letters, claims):
        console.print(table)
    console.print("the 837P interchange's service lines:")
    for v in verdicts:
        if (v.claim_id, v.line_number) in x12_keys:
            console.print(f"  claim {v.claim_id} " + verdict_row(v))
    got = len(verdicts) + len(letters)
    console.print(
        f"{got}/{sent} lines and records answered; worker stopped with exit code {code}; "
        "broker stopped"
    )
    if got != sent:
        console.print(f"[red]missing answers; see {workdir / 'worker.log'}[/red]")
        return 1
    return 0 if code == 0 else 1
