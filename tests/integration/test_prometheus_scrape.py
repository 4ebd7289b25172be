"""A real Prometheus server scrapes a running worker; its API returns the verdict counter."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from streams.samples import event
from streams.settings import Settings
from streams.stream.kafka.embedded import free_port, wait_for_port
from tests.integration.conftest import Workers, publish_and_wait

pytestmark = pytest.mark.integration


def query(port: int, promql: str) -> list[dict[str, object]]:
    url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode({"query": promql})
    with urllib.request.urlopen(url, timeout=5) as resp:
        body = json.loads(resp.read())
    assert body["status"] == "success"
    return list(body["data"]["result"])


def wait_ready(port: int, timeout: float) -> None:
    """Prometheus opens its port before its storage is ready, and answers 503 until then."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/-/ready", timeout=5):
                return
        except (urllib.error.HTTPError, urllib.error.URLError):
            assert time.monotonic() < deadline, f"prometheus not ready after {timeout} s"
            time.sleep(0.2)


def test_prometheus_scrapes_the_verdict_counter(
    settings: Settings, workers: Workers, tmp_path: Path
) -> None:
    prometheus = shutil.which("prometheus")
    assert prometheus, "prometheus is missing: `make test` installs Debian's prometheus package"
    workers.start()
    docs = [event(f"prom-{i}") for i in range(20)]
    docs += [event("prom-bad", line={"units": 3.5})]
    publish_and_wait(settings, docs)

    config = tmp_path / "prometheus.yml"
    config.write_text(
        "global: {scrape_interval: 1s}\n"
        "scrape_configs:\n"
        "  - job_name: j9262-validator\n"
        f"    static_configs: [{{targets: ['127.0.0.1:{settings.web_port}']}}]\n"
    )
    port = free_port()
    with (tmp_path / "prometheus.log").open("wb") as log:
        server = subprocess.Popen(
            [
                prometheus,
                f"--config.file={config}",
                f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                f"--web.listen-address=127.0.0.1:{port}",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for_port("127.0.0.1", port, 30)
        wait_ready(port, 30)
        deadline = time.monotonic() + 60
        result: list[dict[str, object]] = []
        while time.monotonic() < deadline:
            result = query(port, "sum by (disposition) (j9262_verdicts_total)")
            if result:
                break
            time.sleep(0.5)
        got = {r["metric"]["disposition"]: float(r["value"][1]) for r in result}  # type: ignore[index]
        assert got == {"pass": 20.0, "fail": 1.0}
        up = query(port, 'up{job="j9262-validator"}')
        assert float(up[0]["value"][1]) == 1.0  # type: ignore[index]
    finally:
        server.terminate()
        server.wait(20)
