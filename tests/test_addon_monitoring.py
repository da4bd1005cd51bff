"""The add-ons' metrics reach Prometheus: each has a scrape object Prometheus selects, on the port its
chart exposes, that can be created when it syncs, and no NetworkPolicy stands between.

Upstream sources, at the pinned versions:
- kube-prometheus-stack-88.2.0 `values.yaml`: `serviceMonitorNamespaceSelector: {}` and
  `podMonitorNamespaceSelector: {}` (every namespace) unless the values set them.
- aws-load-balancer-controller v3.4.2 `helm/aws-load-balancer-controller/templates/servicemonitor.yaml`:
  rendered whenever `serviceMonitor.enabled`, no check that the cluster serves the CRD;
  `deployment.yaml`: pods labelled `selectorLabels` (`app.kubernetes.io/name`, `app.kubernetes.io/instance`)
  with the container port `metrics-server` (8080).
- external-secrets helm-chart-2.9.0 `_helpers.tpl` `external-secrets.shouldRenderServiceMonitor`:
  `renderMode` `skipIfMissing` (the default) renders the ServiceMonitor only when
  `.Capabilities.APIVersions` has `monitoring.coreos.com/v1/ServiceMonitor`.
- stakater/Reloader chart-v2.2.9 `deployments/kubernetes/chart/reloader`: pods labelled
  `reloader-match-labels.chart` (`app: <release>-reloader`, `release: <release>`), container port
  `http` 9090 serving `/metrics` (its readiness probe); `templates/podmonitor.yaml` writes those
  labels, `release` included, before `podMonitor.labels`, and renders without a CRD check.

Argo CD cannot apply an object whose CRD the cluster does not serve yet; an Application that fails
its sync in a wave holds every later wave (charts/gitops.py).
"""

from __future__ import annotations

from typing import Any

import pytest

from charts.addon_monitoring import LOAD_BALANCER_CONTROLLER, RELOADER
from charts.gitops import wave_of
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
    argocd_application,
)
from tests.conftest import ENVIRONMENTS, Synthesis

ADDON_NAMESPACES = {EXTERNAL_SECRETS_RELEASE, KUBE_SYSTEM, RELOADER_RELEASE}
# Charts whose monitors wait for the CRD: release -> (values path of the switch, modes that wait).
WAITS_FOR_THE_CRD = {EXTERNAL_SECRETS_RELEASE: (("serviceMonitor", "renderMode"), {None, "skipIfMissing"})}


def _values(synthesis: Synthesis, env: str, release: str) -> dict[str, Any]:
    (application,) = synthesis.find(env, "Application", release)
    return application["spec"]["source"]["helm"]["valuesObject"]


def _enabled_monitors(values: dict[str, Any], path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = []
    for key, value in values.items():
        if isinstance(value, dict):
            if key in {"serviceMonitor", "podMonitor"} and value.get("enabled"):
                found.append((*path, key))
            found += _enabled_monitors(value, (*path, key))
    return found


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_prometheus_selects_monitors_in_every_namespace_by_our_label(env: str, synthesis: Synthesis) -> None:
    spec = _values(synthesis, env, KUBE_PROMETHEUS_RELEASE)["prometheus"]["prometheusSpec"]
    for kind in ("serviceMonitor", "podMonitor", "rule"):
        assert spec[f"{kind}Selector"] == {"matchLabels": MONITORING_SELECTOR_LABELS}, kind
        assert f"{kind}NamespaceSelector" not in spec, f"{kind}: the chart's default {{}} selects every namespace"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_no_addon_renders_a_monitor_before_its_crd_exists(env: str, synthesis: Synthesis) -> None:
    """An add-on syncing before kube-prometheus-stack (which installs monitoring.coreos.com) may ask
    its chart for a monitor only if the chart skips it while the CRD is missing."""
    for application in synthesis.find(env, "Application"):
        helm = application["spec"].get("source", {}).get("helm")
        release = application["metadata"]["name"]
        if not helm or wave_of(release) >= wave_of(KUBE_PROMETHEUS_RELEASE) or release == KUBE_PROMETHEUS_RELEASE:
            continue
        for path in _enabled_monitors(helm.get("valuesObject", {})):
            assert release in WAITS_FOR_THE_CRD, f"{release}: {'.'.join(path)} renders before the CRD exists"
            (switch, modes) = WAITS_FOR_THE_CRD[release]
            assert _values(synthesis, env, release)[switch[0]].get(switch[1]) in modes


def test_our_monitors_sync_after_the_operators_crds() -> None:
    assert wave_of(argocd_application("scrape-targets")) > wave_of(KUBE_PROMETHEUS_RELEASE)


@pytest.mark.parametrize("env", ENVIRONMENTS)
@pytest.mark.parametrize(
    ("addon", "namespace", "labels", "port", "job"),
    [
        (
            LOAD_BALANCER_CONTROLLER,
            KUBE_SYSTEM,
            {"app.kubernetes.io/name": "aws-load-balancer-controller", "app.kubernetes.io/instance": "aws-load-balancer-controller"},
            "metrics-server",
            "aws-load-balancer-controller",
        ),
        (RELOADER, "reloader", {"app": "reloader-reloader", "release": "reloader"}, "http", "reloader-reloader"),
    ],
    ids=["load-balancer-controller", "reloader"],
)
def test_our_pod_monitors_select_the_charts_pods(
    env: str, addon: Any, namespace: str, labels: dict[str, str], port: str, job: str, synthesis: Synthesis
) -> None:
    (monitor,) = synthesis.find(env, "PodMonitor", addon.release)
    assert monitor["metadata"]["namespace"] == MONITORING_NAMESPACE
    assert MONITORING_SELECTOR_LABELS.items() <= monitor["metadata"]["labels"].items()
    spec = monitor["spec"]
    assert spec["namespaceSelector"] == {"matchNames": [namespace]}
    assert spec["selector"] == {"matchLabels": labels}
    assert labels[spec["jobLabel"]] == job
    (endpoint,) = spec["podMetricsEndpoints"]
    assert (endpoint["port"], endpoint["path"]) == (port, "/metrics")
    (application,) = synthesis.find(env, "Application", addon.release)
    assert application["spec"]["destination"]["namespace"] == namespace


def test_the_reloader_charts_monitor_could_not_carry_our_label() -> None:
    assert set(MONITORING_SELECTOR_LABELS) & set(RELOADER.pod_labels) == {"release"}


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_addon_that_exports_metrics_is_scraped(env: str, synthesis: Synthesis) -> None:
    assert _values(synthesis, env, EXTERNAL_SECRETS_RELEASE)["serviceMonitor"]["enabled"] is True
    assert "serviceMonitor" not in _values(synthesis, env, LOAD_BALANCER_CONTROLLER_RELEASE)
    assert synthesis.find(env, "PodMonitor", LOAD_BALANCER_CONTROLLER_RELEASE)
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
