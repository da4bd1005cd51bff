"""Scrape objects for the add-ons whose charts cannot make one Prometheus selects.

kube-prometheus-stack's Prometheus selects monitors by `MONITORING_SELECTOR_LABELS` (`release:
kube-prometheus-stack`) in every namespace. External Secrets and the AWS Load Balancer Controller
render their own ServiceMonitor with that label (their `serviceMonitor` values, charts/addons.py), as
Karpenter's is made in charts/karpenter_monitoring.py. Reloader's chart (stakater/Reloader
chart-v2.2.9, `deployments/kubernetes/chart/reloader/templates/podmonitor.yaml`) writes its own
`release: <release name>` label before the extra labels it is given, so our `release` label would be
a second `release` key in the same mapping: this PodMonitor is ours instead, selecting the chart's
pod labels (`reloader-match-labels.chart`: `app: <release>-reloader`, `release: <release>`) on the
container port `http` (9090) whose `/metrics` the chart's own readiness probe reads.
"""

from __future__ import annotations

from cdk8s import ApiObjectMetadata
from constructs import Construct

from envspec.naming import METRICS_PATH, MONITORING_NAMESPACE, MONITORING_SELECTOR_LABELS, RELOADER_RELEASE
from imports.com.coreos import monitoring as prom

RELOADER_POD_LABELS = {"app": f"{RELOADER_RELEASE}-reloader", "release": RELOADER_RELEASE}
RELOADER_METRICS_PORT = "http"
RELOADER_METRICS_PORT_NUMBER = 9090
JOB_LABEL = "app"  # the job is `reloader-reloader`


def reloader_pod_monitor(scope: Construct, *, interval: str, timeout: str) -> prom.PodMonitor:
    return prom.PodMonitor(
        scope,
        "reloader_pod_monitor",
        metadata=ApiObjectMetadata(
            name=RELOADER_RELEASE,
            namespace=MONITORING_NAMESPACE,
            labels={**MONITORING_SELECTOR_LABELS, "app.kubernetes.io/name": RELOADER_RELEASE},
        ),
        spec=prom.PodMonitorSpec(
            selector=prom.PodMonitorSpecSelector(match_labels=dict(RELOADER_POD_LABELS)),
            namespace_selector=prom.PodMonitorSpecNamespaceSelector(match_names=[RELOADER_RELEASE]),
            job_label=JOB_LABEL,
            pod_metrics_endpoints=[
                prom.PodMonitorSpecPodMetricsEndpoints(
                    port=RELOADER_METRICS_PORT, path=METRICS_PATH, interval=interval, scrape_timeout=timeout
                )
            ],
        ),
    )
