"""The `scrape-targets` chart: how Prometheus finds the application's metrics endpoints.

The backend and the frontend are scraped through their Service's `metrics` port (ServiceMonitor),
the AI worker, which has no Service, directly on its pods' `metrics` port (PodMonitor). Each
monitor selects exactly one component by its `app` label in the `ai-subsidy` namespace and takes
the scrape job's name from that label (`jobLabel: app`), so the backend's series carry
`job="ai-subsidy-backend"` whatever its Service is called. The monitors live in `monitoring` and
carry the label kube-prometheus-stack's Prometheus selects monitors by.
"""

from __future__ import annotations

from cdk8s import ApiObjectMetadata
from constructs import Construct

from charts.addon_monitoring import ADDON_METRICS, addon_pod_monitor
from charts.base import EnvironmentChart
from charts.karpenter_monitoring import karpenter_monitoring
from charts.log_agent_monitoring import log_agent_monitoring
from envspec import EnvironmentSpec
from envspec.naming import APP_NAMESPACE, METRICS_PATH, METRICS_PORT_NAME, MONITORING_NAMESPACE, MONITORING_SELECTOR_LABELS
from envspec.topology import AI_WORKER, BACKEND, FRONTEND, Component
from imports.com.coreos import monitoring as prom
from synth.errors import construct_error

SCRAPE_INTERVAL = "30s"
SCRAPE_TIMEOUT = "10s"
JOB_LABEL = "app"  # the label of Component.selector_labels whose value names the scrape job


class ScrapeTargetsChart(EnvironmentChart):
    def __init__(self, scope: Construct, spec: EnvironmentSpec):
        super().__init__(scope, "scrape-targets", spec=spec, namespace=MONITORING_NAMESPACE)
        self.service_monitors = {component.key: self._service_monitor(component) for component in (BACKEND, FRONTEND)}
        self.pod_monitor = self._pod_monitor(AI_WORKER)
        # Karpenter's ServiceMonitor and alerts: they need the operator's CRDs, like these monitors.
        karpenter_monitoring(self, spec=spec, names=self.names)
        # The add-ons whose charts cannot make their own monitor in time (charts/addon_monitoring.py).
        self.addon_monitors = {
            addon.release: addon_pod_monitor(self, addon=addon, interval=SCRAPE_INTERVAL, timeout=SCRAPE_TIMEOUT) for addon in ADDON_METRICS
        }
        log_agent_monitoring(self, names=self.names)

    @staticmethod
    def _metadata(component: Component) -> ApiObjectMetadata:
        return ApiObjectMetadata(name=component.name, labels={**MONITORING_SELECTOR_LABELS, "app.kubernetes.io/name": component.name})

    def _service_monitor(self, component: Component) -> prom.ServiceMonitor:
        if JOB_LABEL not in component.selector_labels:
            raise construct_error(self, f"{component.name}: pods must carry the `{JOB_LABEL}` label that names the scrape job")
        return prom.ServiceMonitor(
            self,
            component.name,
            metadata=self._metadata(component),
            spec=prom.ServiceMonitorSpec(
                selector=prom.ServiceMonitorSpecSelector(match_labels=dict(component.selector_labels)),
                namespace_selector=prom.ServiceMonitorSpecNamespaceSelector(match_names=[APP_NAMESPACE]),
                job_label=JOB_LABEL,
                endpoints=[
                    prom.ServiceMonitorSpecEndpoints(
                        port=METRICS_PORT_NAME, path=METRICS_PATH, interval=SCRAPE_INTERVAL, scrape_timeout=SCRAPE_TIMEOUT
                    )
                ],
            ),
        )

    def _pod_monitor(self, component: Component) -> prom.PodMonitor:
        return prom.PodMonitor(
            self,
            component.name,
            metadata=self._metadata(component),
            spec=prom.PodMonitorSpec(
                selector=prom.PodMonitorSpecSelector(match_labels=dict(component.selector_labels)),
                namespace_selector=prom.PodMonitorSpecNamespaceSelector(match_names=[APP_NAMESPACE]),
                job_label=JOB_LABEL,
                pod_metrics_endpoints=[
                    prom.PodMonitorSpecPodMetricsEndpoints(
                        port=METRICS_PORT_NAME, path=METRICS_PATH, interval=SCRAPE_INTERVAL, scrape_timeout=SCRAPE_TIMEOUT
                    )
                ],
            ),
        )
