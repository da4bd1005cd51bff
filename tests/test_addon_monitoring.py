"""The add-ons' metrics reach Prometheus: each has a scrape object Prometheus selects, on the port its
chart exposes, and no NetworkPolicy stands between.

Upstream sources, at the pinned versions:
- kube-prometheus-stack-88.2.0 `values.yaml`: `serviceMonitorNamespaceSelector: {}` and
  `podMonitorNamespaceSelector: {}` (every namespace) unless the values set them.
- aws-load-balancer-controller v3.4.2 `helm/aws-load-balancer-controller/templates/servicemonitor.yaml`
  and `service.yaml`: with `serviceMonitor.enabled` a Service `<fullname>` on port `metrics-server`
  (8080) and a ServiceMonitor labelled with `aws-load-balancer-controller.labels` plus
  `serviceMonitor.additionalLabels`, `jobLabel: app.kubernetes.io/instance` (the release name).
- stakater/Reloader chart-v2.2.9 `deployments/kubernetes/chart/reloader`: pods labelled
  `reloader-match-labels.chart` (`app: <release>-reloader`, `release: <release>`), container port
  `http` 9090 serving `/metrics` (its readiness probe); `templates/podmonitor.yaml` writes those
  labels, `release` included, before `podMonitor.labels`.
"""

from __future__ import annotations

from typing import Any

import pytest

from charts.addon_monitoring import RELOADER_METRICS_PORT, RELOADER_POD_LABELS
from envspec.naming import (
    EXTERNAL_SECRETS_RELEASE,
    KARPENTER_RELEASE,
    KUBE_PROMETHEUS_RELEASE,
    KUBE_SYSTEM,
    LOAD_BALANCER_CONTROLLER_RELEASE,
    MONITORING_NAMESPACE,
    MONITORING_SELECTOR_LABELS,
    PROMETHEUS_POD_LABELS,
    RELOADER_RELEASE,
)
from tests.conftest import ENVIRONMENTS, Synthesis

# The chart's own ServiceMonitor labels (aws-load-balancer-controller.labels, v3.4.2 _helpers.tpl).
LOAD_BALANCER_CONTROLLER_LABELS = {"app.kubernetes.io/managed-by", "helm.sh/chart", "app.kubernetes.io/name", "app.kubernetes.io/instance"}
ADDON_NAMESPACES = {EXTERNAL_SECRETS_RELEASE, KUBE_SYSTEM, RELOADER_RELEASE}


def _values(synthesis: Synthesis, env: str, release: str) -> dict[str, Any]:
    (application,) = synthesis.find(env, "Application", release)
    return application["spec"]["source"]["helm"]["valuesObject"]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_prometheus_selects_monitors_in_every_namespace_by_our_label(env: str, synthesis: Synthesis) -> None:
    spec = _values(synthesis, env, KUBE_PROMETHEUS_RELEASE)["prometheus"]["prometheusSpec"]
    for kind in ("serviceMonitor", "podMonitor", "rule"):
        assert spec[f"{kind}Selector"] == {"matchLabels": MONITORING_SELECTOR_LABELS}, kind
        assert f"{kind}NamespaceSelector" not in spec, f"{kind}: the chart's default {{}} selects every namespace"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_load_balancer_controller_chart_makes_a_selected_service_monitor(env: str, synthesis: Synthesis) -> None:
    monitor = _values(synthesis, env, LOAD_BALANCER_CONTROLLER_RELEASE)["serviceMonitor"]
    assert monitor["enabled"] is True
    assert monitor["additionalLabels"] == MONITORING_SELECTOR_LABELS
    assert not LOAD_BALANCER_CONTROLLER_LABELS & set(monitor["additionalLabels"]), "a second key of a label the chart writes"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_reloader_is_scraped_by_our_pod_monitor_not_the_charts(env: str, synthesis: Synthesis) -> None:
    """The chart's PodMonitor already writes `release: reloader`: our `release` label would be a
    duplicate key, so its monitors stay off and ours selects its pods."""
    values = _values(synthesis, env, RELOADER_RELEASE)["reloader"]
    assert not values.get("podMonitor", {}).get("enabled") and not values.get("serviceMonitor", {}).get("enabled")
    assert set(MONITORING_SELECTOR_LABELS) & set(RELOADER_POD_LABELS), "the reason for our own monitor"
    (monitor,) = synthesis.find(env, "PodMonitor", RELOADER_RELEASE)
    assert monitor["metadata"]["namespace"] == MONITORING_NAMESPACE
    assert MONITORING_SELECTOR_LABELS.items() <= monitor["metadata"]["labels"].items()
    spec = monitor["spec"]
    assert spec["namespaceSelector"] == {"matchNames": [RELOADER_RELEASE]}
    assert spec["selector"] == {"matchLabels": {"app": "reloader-reloader", "release": "reloader"}}
    (endpoint,) = spec["podMetricsEndpoints"]
    assert (endpoint["port"], endpoint["path"]) == (RELOADER_METRICS_PORT, "/metrics") == ("http", "/metrics")


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_addon_that_exports_metrics_is_scraped(env: str, synthesis: Synthesis) -> None:
    assert _values(synthesis, env, EXTERNAL_SECRETS_RELEASE)["serviceMonitor"]["enabled"] is True
    assert _values(synthesis, env, LOAD_BALANCER_CONTROLLER_RELEASE)["serviceMonitor"]["enabled"] is True
    assert synthesis.find(env, "PodMonitor", RELOADER_RELEASE)
    assert synthesis.find(env, "ServiceMonitor", KARPENTER_RELEASE)


def _allows_prometheus(policy: dict[str, Any]) -> bool:
    for rule in policy["spec"].get("ingress") or []:
        for peer in rule.get("from") or [{}]:
            namespaces = peer.get("namespaceSelector", {}).get("matchLabels", {})
            pods = peer.get("podSelector", {}).get("matchLabels", {})
            if namespaces.get("kubernetes.io/metadata.name") == MONITORING_NAMESPACE and pods.items() <= PROMETHEUS_POD_LABELS.items():
                return True
    return False


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_no_network_policy_keeps_prometheus_from_the_addons(env: str, synthesis: Synthesis) -> None:
    """A NetworkPolicy selecting a pod for Ingress denies what it does not allow: any policy in an
    add-on's namespace must let Prometheus in (today there is none there)."""
    for policy in synthesis.find(env, "NetworkPolicy"):
        if policy["metadata"].get("namespace") in ADDON_NAMESPACES and "Ingress" in policy["spec"].get("policyTypes", ["Ingress"]):
            assert _allows_prometheus(policy), policy["metadata"]
    assert _values(synthesis, env, RELOADER_RELEASE)["reloader"].get("netpol", {}).get("enabled") in (None, False)
