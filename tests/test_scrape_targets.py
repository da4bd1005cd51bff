"""ServiceMonitors and the PodMonitor: Prometheus scrapes each component's `metrics` port under the
job name the alerts and dashboards use (`up{job="ai-subsidy-backend"}`)."""

from __future__ import annotations

from typing import Any

import pytest

from charts.observability import promql
from envspec.naming import APP_NAMESPACE, METRICS_PATH, METRICS_PORT, METRICS_PORT_NAME, MONITORING_NAMESPACE, MONITORING_SELECTOR_LABELS
from envspec.topology import AI_WORKER, BACKEND, FRONTEND, Component
from tests.conftest import ENVIRONMENTS, Synthesis


def _job_name(monitor: dict[str, Any], labels: dict[str, str]) -> str:
    """The job name prometheus-operator gives a monitor's targets: the value of `jobLabel` on the
    selected Service/Pod, else `<namespace>/<monitor name>` (PodMonitor) or the Service name."""
    job_label = monitor["spec"].get("jobLabel")
    if job_label and job_label in labels:
        return labels[job_label]
    return f"{monitor['metadata']['namespace']}/{monitor['metadata']['name']}"


def _selects(monitor: dict[str, Any], namespace: str, labels: dict[str, str]) -> bool:
    spec = monitor["spec"]
    return namespace in spec["namespaceSelector"]["matchNames"] and spec["selector"]["matchLabels"].items() <= labels.items()


@pytest.mark.parametrize("env", ENVIRONMENTS)
@pytest.mark.parametrize(("component", "kind"), [(BACKEND, "ServiceMonitor"), (FRONTEND, "ServiceMonitor"), (AI_WORKER, "PodMonitor")])
def test_each_component_is_scraped_under_its_job_name(env: str, component: Component, kind: str, synthesis: Synthesis) -> None:
    (monitor,) = synthesis.find(env, kind, component.name)
    assert monitor["metadata"]["namespace"] == MONITORING_NAMESPACE
    assert MONITORING_SELECTOR_LABELS.items() <= monitor["metadata"]["labels"].items()
    assert _selects(monitor, APP_NAMESPACE, component.selector_labels)
    assert _job_name(monitor, component.selector_labels) == component.name
    (endpoint,) = monitor["spec"]["endpoints" if kind == "ServiceMonitor" else "podMetricsEndpoints"]
    assert (endpoint["port"], endpoint["path"]) == (METRICS_PORT_NAME, METRICS_PATH)
    assert endpoint["interval"] == "30s" and endpoint["scrapeTimeout"] == "10s"


def test_the_backend_job_is_the_one_the_alerts_query() -> None:
    assert promql.BACKEND_JOB == "ai-subsidy-backend"
    assert set(promql.APPLICATION_JOBS) == {"ai-subsidy-backend", "ai-subsidy-frontend", "ai-worker"}


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_monitors_select_no_other_component(env: str, synthesis: Synthesis) -> None:
    monitors = synthesis.find(env, "ServiceMonitor") + synthesis.find(env, "PodMonitor")
    # Karpenter's monitor (kube-system) is tests/test_karpenter_alerts.py's.
    monitors = [m for m in monitors if APP_NAMESPACE in m["spec"]["namespaceSelector"]["matchNames"]]
    assert len(monitors) == 3
    for component in (BACKEND, FRONTEND, AI_WORKER):
        selecting = [m["metadata"]["name"] for m in monitors if _selects(m, APP_NAMESPACE, component.selector_labels)]
        assert selecting == [component.name]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_monitors_match_the_synthesized_workloads(env: str, synthesis: Synthesis) -> None:
    """Against the Kubernetes layer's objects: every monitor selects its Service or pods, and the
    named port is the metrics port."""
    deployments = {doc["metadata"]["name"]: doc for doc in synthesis.find(env, "Deployment")}
    services = {doc["metadata"]["name"]: doc for doc in synthesis.find(env, "Service")}
    for component in (BACKEND, FRONTEND):
        (monitor,) = synthesis.find(env, "ServiceMonitor", component.name)
        service = services[component.service_name]
        assert _selects(monitor, service["metadata"]["namespace"], service["metadata"]["labels"])
        assert _job_name(monitor, service["metadata"]["labels"]) == component.name
        ports = {port["name"]: port["port"] for port in service["spec"]["ports"]}
        assert ports[METRICS_PORT_NAME] == METRICS_PORT
    for component in (BACKEND, FRONTEND, AI_WORKER):
        template = deployments[component.name]["spec"]["template"]
        ports = {port["name"]: port["containerPort"] for c in template["spec"]["containers"] for port in c.get("ports", [])}
        assert ports[METRICS_PORT_NAME] == METRICS_PORT
    (pod_monitor,) = synthesis.find(env, "PodMonitor", AI_WORKER.name)
    template = deployments[AI_WORKER.name]["spec"]["template"]
    assert _selects(pod_monitor, deployments[AI_WORKER.name]["metadata"]["namespace"], template["metadata"]["labels"])
