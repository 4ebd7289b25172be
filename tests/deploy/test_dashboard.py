"""The Grafana dashboard: well-formed, and every query names a metric the worker exports."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from streams.ops.metrics import Metrics

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "deploy" / "grafana" / "dashboards" / "j9262.json"
PROVISIONING = ROOT / "deploy" / "grafana" / "provisioning"
METRIC = re.compile(r"\b(j9262_[a-z0-9_]+)")


@pytest.fixture(scope="module")
def dashboard() -> dict[str, Any]:
    return json.loads(DASHBOARD.read_text())


SUFFIXES = {
    "counter": ("_total",),
    "histogram": ("_bucket", "_sum", "_count"),
    "gauge": ("",),
    "info": ("_info",),
}


def exported_names() -> set[str]:
    """The sample names a worker exposes, by metric type (counters end in _total...)."""
    return {
        family.name + suffix
        for family in Metrics("r", "d").registry.collect()
        for suffix in SUFFIXES[family.type]
    }


def queries(dashboard: dict[str, Any]) -> list[str]:
    return [t["expr"] for p in dashboard["panels"] for t in p["targets"]]


def test_dashboard_is_a_grafana_dashboard(dashboard: dict[str, Any]) -> None:
    assert dashboard["uid"] and dashboard["title"]
    assert isinstance(dashboard["schemaVersion"], int) and dashboard["schemaVersion"] >= 30
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    for panel in dashboard["panels"]:
        assert panel["type"] in {"timeseries", "bargauge", "stat", "table"}
        assert {"x", "y", "w", "h"} <= panel["gridPos"].keys()
        assert panel["gridPos"]["x"] + panel["gridPos"]["w"] <= 24
        assert panel["targets"] and all(t["refId"] for t in panel["targets"])
    titles = " ".join(p["title"].lower() for p in dashboard["panels"])
    for topic in ("throughput", "disposition", "findings", "dead letters", "latency", "lag"):
        assert topic in titles


def test_every_query_names_an_exported_metric(dashboard: dict[str, Any]) -> None:
    exported = exported_names()
    for expr in queries(dashboard):
        names = METRIC.findall(expr)
        assert names, f"no j9262 metric in {expr!r}"
        assert set(names) <= exported, f"{set(names) - exported} in {expr!r} are not exported"


def test_every_query_is_valid_promql(dashboard: dict[str, Any], tmp_path: Path) -> None:
    rules = {
        "groups": [
            {
                "name": "dashboard",
                "rules": [
                    {
                        "record": f"dashboard:panel_{i}",
                        "expr": expr.replace("$__rate_interval", "5m"),
                    }
                    for i, expr in enumerate(queries(dashboard))
                ],
            }
        ]
    }
    path = tmp_path / "dashboard-rules.yml"
    path.write_text(yaml.safe_dump(rules))
    promtool = shutil.which("promtool")
    assert promtool, "promtool is missing: `make test` installs Debian's prometheus package"
    result = subprocess.run(
        [promtool, "check", "rules", str(path)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_alerts_only_use_exported_metrics() -> None:
    exported = exported_names() | {"up"}
    rules = yaml.safe_load((ROOT / "deploy" / "prometheus" / "alerts.yml").read_text())
    for group in rules["groups"]:
        for rule in group["rules"]:
            assert set(METRIC.findall(rule["expr"])) <= exported, rule["alert"]


def test_provisioning_points_at_the_dashboards() -> None:
    providers = yaml.safe_load((PROVISIONING / "dashboards" / "dashboards.yml").read_text())
    assert providers["providers"][0]["options"]["path"] == "/var/lib/grafana/dashboards"
    sources = yaml.safe_load((PROVISIONING / "datasources" / "prometheus.yml").read_text())
    assert sources["datasources"][0]["type"] == "prometheus"
