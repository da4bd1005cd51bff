"""Scrape objects for the add-ons whose charts cannot make one Prometheus selects in time.

kube-prometheus-stack's Prometheus selects monitors by `MONITORING_SELECTOR_LABELS` (`release:
kube-prometheus-stack`) in every namespace. External Secrets renders its own ServiceMonitor with that
label (`serviceMonitor` values, charts/addons.py), and only once the cluster serves the CRD
(`renderMode: skipIfMissing`); Karpenter's is made in charts/karpenter_monitoring.py. These two are
ours, in the `scrape-targets` chart, which syncs after kube-prometheus-stack has installed the CRDs:

- AWS Load Balancer Controller (v3.4.2, `helm/aws-load-balancer-controller`): its
  `templates/servicemonitor.yaml` renders whenever `serviceMonitor.enabled`, with no check for the
  CRD, and the release syncs in the first wave (charts/gitops.py), so that Application could not
  sync on a fresh cluster. The metrics Service exists only with that value, so this is a PodMonitor
  on the pods' `selectorLabels` and their container port `metrics-server` (8080).
- Reloader (stakater/Reloader chart-v2.2.9, `deployments/kubernetes/chart/reloader`): besides the same
  first-wave problem, its `templates/podmonitor.yaml` writes `release: <release name>` before the
  extra labels it is given, so our `release` label would be a second `release` key in one mapping.
  Its pods carry `reloader-match-labels.chart` (`app: <release>-reloader`, `release: <release>`) and
  serve `/metrics` on the container port `http` (9090), which the chart's readiness probe reads.
"""

from __future__ import annotations

from dataclasses import dataclass

from cdk8s import ApiObjectMetadata
from constructs import Construct

from envspec.naming import (
    KUBE_SYSTEM,
    LOAD_BALANCER_CONTROLLER_RELEASE,
    METRICS_PATH,
    MONITORING_NAMESPACE,
    MONITORING_SELECTOR_LABELS,
    RELOADER_RELEASE,
)
from imports.com.coreos import monitoring as prom


@dataclass(frozen=True, kw_only=True)
class AddonMetrics:
    release: str
    namespace: str
    pod_labels: dict[str, str]
    port: str  # container port name
    job_label: str  # the pod label whose value names the scrape job


RELOADER = AddonMetrics(
    release=RELOADER_RELEASE,
    namespace=RELOADER_RELEASE,
    pod_labels={"app": f"{RELOADER_RELEASE}-reloader", "release": RELOADER_RELEASE},
    port="http",
    job_label="app",
)
LOAD_BALANCER_CONTROLLER = AddonMetrics(
    release=LOAD_BALANCER_CONTROLLER_RELEASE,
    namespace=KUBE_SYSTEM,
    pod_labels={"app.kubernetes.io/name": LOAD_BALANCER_CONTROLLER_RELEASE, "app.kubernetes.io/instance": LOAD_BALANCER_CONTROLLER_RELEASE},
    port="metrics-server",
    job_label="app.kubernetes.io/instance",
)
ADDON_METRICS = (LOAD_BALANCER_CONTROLLER, RELOADER)


def addon_pod_monitor(scope: Construct, *, addon: AddonMetrics, interval: str, timeout: str) -> prom.PodMonitor:
    return prom.PodMonitor(
        scope,
        f"{addon.release}_pod_monitor",
        metadata=ApiObjectMetadata(
            name=addon.release,
            namespace=MONITORING_NAMESPACE,
            labels={**MONITORING_SELECTOR_LABELS, "app.kubernetes.io/name": addon.release},
        ),
        spec=prom.PodMonitorSpec(
            selector=prom.PodMonitorSpecSelector(match_labels=dict(addon.pod_labels)),
            namespace_selector=prom.PodMonitorSpecNamespaceSelector(match_names=[addon.namespace]),
            job_label=addon.job_label,
            pod_metrics_endpoints=[
                prom.PodMonitorSpecPodMetricsEndpoints(port=addon.port, path=METRICS_PATH, interval=interval, scrape_timeout=timeout)
            ],
        ),
    )
