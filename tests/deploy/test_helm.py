"""The chart renders with Helm's own engine and yields valid Kubernetes objects."""

from __future__ import annotations

import itertools
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
    assert set(kinds) == {
        "Deployment",
        "Service",
        "ServiceAccount",
        "PodDisruptionBudget",
        "NetworkPolicy",
    }
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


# Every mode the chart has: Deployment or StatefulSet, KEDA on or off, each broker
# security, NetworkPolicy on or off; the ServiceMonitor always on.
SECURITY: dict[str, dict[str, Any]] = {
    "plaintext": {},
    "sasl-ssl": ALL_ON["kafka"],
    "sasl-plaintext": {
        "securityProtocol": "SASL_PLAINTEXT",
        "sasl": {"existingSecret": "kafka-sasl", "mechanism": "SCRAM-SHA-256"},
    },
    "ssl": {"securityProtocol": "SSL", "tls": {"existingSecret": "kafka-tls"}},
    "ssl-public-ca": {"securityProtocol": "SSL"},
    "sasl-plain-ssl": {
        "securityProtocol": "SASL_SSL",
        "sasl": {"existingSecret": "kafka-sasl", "mechanism": "PLAIN"},
    },
}
MODES = [
    pytest.param(
        {
            "persistence": {"enabled": sts},
            "autoscaling": {"keda": {"enabled": keda}},
            "kafka": SECURITY[security],
            "networkPolicy": {"enabled": netpol},
            "metrics": {"serviceMonitor": {"enabled": True}},
        },
        id="-".join(
            [
                "statefulset" if sts else "deployment",
                "keda" if keda else "no-keda",
                security,
                "netpol" if netpol else "no-netpol",
            ]
        ),
    )
    for sts, keda, security, netpol in itertools.product(
        (False, True), (False, True), SECURITY, (True, False)
    )
]


def kinds_of(docs: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [d for d in docs if d["kind"] == kind]


def workload(docs: list[dict[str, Any]]) -> dict[str, Any]:
    (found,) = [d for d in docs if d["kind"] in {"Deployment", "StatefulSet"}]
    return found


def matches(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return selector.items() <= labels.items()


@pytest.mark.parametrize("values", MODES)
def test_every_mode_renders_valid_kubernetes(chart: helm.Chart, values: dict[str, Any]) -> None:
    for doc in objects(chart, values):
        if doc["kind"] not in CRDS:
            kubernetes_validate.validate(doc, KUBE_VERSION, strict=True)


@pytest.mark.parametrize("values", MODES)
def test_one_scrape_target_per_pod(chart: helm.Chart, values: dict[str, Any]) -> None:
    """The ServiceMonitor selects exactly one Service, and that Service selects the pods:
    each pod is one target. In StatefulSet mode the headless Service selects the same pods."""
    docs = objects(chart, values)
    (monitor,) = kinds_of(docs, "ServiceMonitor")
    selector = monitor["spec"]["selector"]["matchLabels"]
    services = kinds_of(docs, "Service")
    assert len(services) == (2 if values["persistence"]["enabled"] else 1)
    (scraped,) = [s for s in services if matches(selector, s["metadata"]["labels"])]
    assert "clusterIP" not in scraped["spec"]
    pod_labels = workload(docs)["spec"]["template"]["metadata"]["labels"]
    for service in services:  # both select every pod: only the ServiceMonitor tells them apart
        assert matches(service["spec"]["selector"], pod_labels)
    (endpoint,) = monitor["spec"]["endpoints"]
    assert endpoint["path"] == "/metrics"
    assert endpoint["port"] in {p["name"] for p in scraped["spec"]["ports"]}


KEDA_SASL = {"PLAIN": "plaintext", "SCRAM-SHA-256": "scram_sha256", "SCRAM-SHA-512": "scram_sha512"}


@pytest.mark.parametrize(
    "values", [m for m in MODES if m.values[0]["autoscaling"]["keda"]["enabled"]]
)
def test_keda_reads_lag_with_the_workers_security(
    chart: helm.Chart, values: dict[str, Any]
) -> None:
    docs = objects(chart, values)
    (scaled,) = kinds_of(docs, "ScaledObject")
    kafka = values["kafka"]
    protocol = kafka.get("securityProtocol", "PLAINTEXT")
    trigger = scaled["spec"]["triggers"][0]
    if protocol == "PLAINTEXT":
        assert "authenticationRef" not in trigger
        assert kinds_of(docs, "TriggerAuthentication") == []
        return
    (auth,) = kinds_of(docs, "TriggerAuthentication")
    assert trigger["authenticationRef"]["name"] == auth["metadata"]["name"]
    secrets = {s["metadata"]["name"]: s["stringData"] for s in kinds_of(docs, "Secret")}
    params = {}
    for ref in auth["spec"]["secretTargetRef"]:
        held = secrets.get(ref["name"])  # the chart's own Secret, or the user's existing one
        params[ref["parameter"]] = held[ref["key"]] if held else (ref["name"], ref["key"])

    assert params["tls"] == ("enable" if protocol.endswith("SSL") else "disable")
    if protocol.startswith("SASL_"):
        sasl = kafka["sasl"]
        assert params["sasl"] == KEDA_SASL[sasl.get("mechanism", "SCRAM-SHA-512")]
        assert params["username"] == (sasl["existingSecret"], "username")
        assert params["password"] == (sasl["existingSecret"], "password")
    else:
        assert not {"sasl", "username", "password"} & params.keys()
    tls = kafka.get("tls", {})
    if tls.get("existingSecret"):
        assert params["ca"] == (tls["existingSecret"], "ca.crt")
    else:
        assert "ca" not in params  # a public CA: the system's roots
    if tls.get("certKey"):
        assert params["cert"] == (tls["existingSecret"], tls["certKey"])
        assert params["key"] == (tls["existingSecret"], tls["keyKey"])
    else:
        assert not {"cert", "key"} & params.keys()


def test_sasl_without_its_secret_does_not_render(chart: helm.Chart) -> None:
    with pytest.raises(helm.HelmRenderError, match=r"kafka\.sasl\.existingSecret is required"):
        objects(chart, {"kafka": {"securityProtocol": "SASL_SSL"}})


def ingress_rule(docs: list[dict[str, Any]]) -> dict[str, Any]:
    (policy,) = kinds_of(docs, "NetworkPolicy")
    pod_labels = workload(docs)["spec"]["template"]["metadata"]["labels"]
    assert matches(policy["spec"]["podSelector"]["matchLabels"], pod_labels)
    (rule,) = policy["spec"]["ingress"]
    return dict(rule)


@pytest.mark.parametrize("values", MODES)
def test_network_policy_admits_only_the_labelled_namespaces_to_the_web_port(
    chart: helm.Chart, values: dict[str, Any]
) -> None:
    docs = objects(chart, values)
    if not values["networkPolicy"]["enabled"]:
        assert kinds_of(docs, "NetworkPolicy") == []
        return
    (policy,) = kinds_of(docs, "NetworkPolicy")
    assert policy["spec"]["policyTypes"] == ["Ingress"]  # egress left open by default
    rule = ingress_rule(docs)
    container = workload(docs)["spec"]["template"]["spec"]["containers"][0]
    assert [p["name"] for p in container["ports"]] == ["http"]
    assert rule["ports"] == [{"port": "http", "protocol": "TCP"}]
    selector = workload(docs)["spec"]["selector"]["matchLabels"]
    assert rule["from"] == [
        {"podSelector": {"matchLabels": selector}},  # the other workers, for claim lookups
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}},
    ]


def test_network_policy_takes_its_namespaces_peers_and_egress_from_values(
    chart: helm.Chart,
) -> None:
    billing_ui = {"podSelector": {"matchLabels": {"app": "billing-ui"}}}
    kafka_only = [{"to": [{"namespaceSelector": {"matchLabels": {"team": "kafka"}}}]}]
    values = {
        "networkPolicy": {
            "ingressNamespaces": [{"team": "observability"}, {"team": "billing"}],
            "extraIngressFrom": [billing_ui],
            "egress": kafka_only,
        }
    }
    docs = objects(chart, values)
    rule = ingress_rule(docs)
    assert rule["from"][1:] == [
        {"namespaceSelector": {"matchLabels": {"team": "observability"}}},
        {"namespaceSelector": {"matchLabels": {"team": "billing"}}},
        billing_ui,
    ]
    (policy,) = kinds_of(docs, "NetworkPolicy")
    assert policy["spec"]["policyTypes"] == ["Ingress", "Egress"]
    assert policy["spec"]["egress"] == kafka_only
    kubernetes_validate.validate(policy, KUBE_VERSION, strict=True)
    # No namespace listed: only the workers themselves reach the port.
    docs = objects(chart, {"networkPolicy": {"ingressNamespaces": []}})
    assert len(ingress_rule(docs)["from"]) == 1


def test_claim_api_token_comes_from_an_existing_secret_when_asked(chart: helm.Chart) -> None:
    def env(values: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
        container = workload(objects(chart, values))["spec"]["template"]["spec"]["containers"][0]
        return {e["name"]: e for e in container["env"]}

    assert "J9262_WEB_TOKEN" not in env(None)
    token = env({"web": {"token": {"existingSecret": "claims-api", "key": "bearer"}}})
    assert token["J9262_WEB_TOKEN"] == {
        "name": "J9262_WEB_TOKEN",
        "valueFrom": {"secretKeyRef": {"name": "claims-api", "key": "bearer"}},
    }
    assert "value" not in token["J9262_WEB_TOKEN"]
