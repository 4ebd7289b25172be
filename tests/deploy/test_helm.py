"""The chart renders with Helm's own engine and yields valid Kubernetes objects."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import helm_python as helm
import kubernetes_validate
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "helm" / "j9262-validator"
KUBE_VERSION = "1.30.0"
# Custom resources (Prometheus Operator, KEDA) have no schema in kubernetes-validate.
CRDS = {"ServiceMonitor", "PrometheusRule", "ScaledObject", "TriggerAuthentication"}

ALL_ON: dict[str, Any] = {
    "persistence": {"enabled": True, "storageClass": "fast"},
    "metrics": {"serviceMonitor": {"enabled": True}, "prometheusRule": {"enabled": True}},
    "autoscaling": {"keda": {"enabled": True}},
    "refdata": {"files": {"payer_policies.yaml": "plan_types: {}\npayers: {}\n"}},
    "kafka": {
        "bootstrapServers": "b1.kafka:9093,b2.kafka:9093",
        "securityProtocol": "SASL_SSL",
        "sasl": {"existingSecret": "kafka-sasl"},
        "tls": {"existingSecret": "kafka-tls", "certKey": "tls.crt", "keyKey": "tls.key"},
    },
    "config": {"extraEnv": [{"name": "J9262_BATCH_SIZE", "value": "1000"}]},
    "podLabels": {"team": "billing"},
    "tolerations": [{"key": "dedicated", "operator": "Equal", "value": "billing"}],
}


@pytest.fixture(scope="module")
def chart() -> helm.Chart:
    return helm.Chart.load(str(CHART))


def objects(chart: helm.Chart, values: dict[str, Any] | None) -> list[dict[str, Any]]:
    rendered = chart.render(values, name="claims", namespace="billing")
    docs = []
    for path, text in rendered.items():
        if path.endswith(".txt"):
            continue
        docs += [d for d in yaml.safe_load_all(text) if d]
    return docs


def by_kind(docs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {d["kind"]: d for d in docs}


@pytest.mark.parametrize("values", [None, ALL_ON], ids=["defaults", "every-toggle-on"])
def test_rendered_objects_are_valid_kubernetes(chart: helm.Chart, values: Any) -> None:
    docs = objects(chart, values)
    assert docs
    for doc in docs:
        if doc["kind"] in CRDS:
            assert doc["apiVersion"] and doc["metadata"]["name"] and doc["spec"]
            continue
        kubernetes_validate.validate(doc, KUBE_VERSION, strict=True)


def test_defaults_are_a_hardened_deployment(chart: helm.Chart) -> None:
    kinds = by_kind(objects(chart, None))
    assert set(kinds) == {"Deployment", "Service", "ServiceAccount", "PodDisruptionBudget"}
    pod = kinds["Deployment"]["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]
    assert {v["name"]: v for v in pod["volumes"]}.keys() == {"data", "tmp"}
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["J9262_STORE"] == "memory://"
    assert env["J9262_BROKER_URL"] == "kafka://kafka:9092"
    # Each pod tells the others its own address, not the 0.0.0.0 it binds.
    assert env["J9262_WEB_URL"] == "http://$(POD_IP):6066"
    names = [e["name"] for e in container["env"]]
    assert names.index("POD_IP") < names.index("J9262_WEB_URL")


def test_every_toggle_on(chart: helm.Chart) -> None:
    docs = objects(chart, ALL_ON)
    kinds = by_kind(docs)
    assert {
        "StatefulSet",
        "ServiceMonitor",
        "PrometheusRule",
        "ScaledObject",
        "TriggerAuthentication",
        "ConfigMap",
    } <= set(kinds)
    assert "Deployment" not in kinds
    sts = kinds["StatefulSet"]
    assert "replicas" not in sts["spec"]  # KEDA owns the replica count
    assert sts["spec"]["volumeClaimTemplates"][0]["spec"]["storageClassName"] == "fast"
    container = sts["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e for e in container["env"]}
    assert env["J9262_STORE"]["value"] == "rocksdb://"
    assert env["J9262_BROKER_URL"]["value"] == "kafka://b1.kafka:9093;kafka://b2.kafka:9093"
    assert env["J9262_SASL_PASSWORD"]["valueFrom"]["secretKeyRef"]["name"] == "kafka-sasl"
    assert env["J9262_SSL_CAFILE"]["value"] == "/etc/j9262/tls/ca.crt"
    assert env["J9262_REFDATA_DIR"]["value"] == "/etc/j9262/refdata"
    scaled = kinds["ScaledObject"]["spec"]
    assert scaled["scaleTargetRef"] == {"kind": "StatefulSet", "name": sts["metadata"]["name"]}
    assert scaled["triggers"][0]["metadata"]["consumerGroup"] == "j9262-validator"
    rules = kinds["PrometheusRule"]["spec"]["groups"][0]["rules"]
    assert {r["alert"] for r in rules} >= {"J9262WorkerDown", "J9262ConsumerLagGrowing"}
    assert 'job="claims-j9262-validator"' in rules[0]["expr"]


def test_keda_scales_on_cpu_only_when_asked(chart: helm.Chart) -> None:
    def triggers(keda: dict[str, Any]) -> dict[str, dict[str, Any]]:
        values = {"autoscaling": {"keda": {"enabled": True, **keda}}}
        scaled = by_kind(objects(chart, values))["ScaledObject"]["spec"]
        return {t["type"]: t for t in scaled["triggers"]}

    assert set(triggers({})) == {"kafka"}
    cpu = triggers({"cpuAverage": "600m"})["cpu"]
    assert cpu["metricType"] == "AverageValue"
    assert cpu["metadata"] == {"value": "600m"}
    with pytest.raises(helm.HelmValuesError):
        chart.validate_schema({"autoscaling": {"keda": {"cpuAverage": "60%"}}})


def test_unknown_values_are_rejected(chart: helm.Chart) -> None:
    with pytest.raises(helm.HelmValuesError, match="additional properties 'replicas'"):
        chart.validate_schema({"replicas": 3})
    with pytest.raises(helm.HelmValuesError):
        chart.validate_schema({"kafka": {"securityProtocol": "TLS"}})
    with pytest.raises(helm.HelmValuesError):
        chart.render({"metrics": {"serviceMonitor": {"enabeld": True}}}, name="x")


def test_lint_is_clean() -> None:
    report = helm.lint(str(CHART), strict=True)
    assert report["errors"] == []
    assert [m for m in report["messages"] if m["severity"] >= 2] == []


def test_chart_alerts_are_the_deploy_alerts() -> None:
    assert (CHART / "files" / "alerts.yml").read_text() == (
        ROOT / "deploy" / "prometheus" / "alerts.yml"
    ).read_text()
