"""The `dashboards` chart: Grafana dashboards as ConfigMaps the Grafana sidecar loads by label.
(Grafana's admin login is an ExternalSecret of the `secrets` chart: Grafana needs it to start.)"""

from __future__ import annotations

from cdk8s_plus_27 import k8s
from constructs import Construct

from charts.base import EnvironmentChart
from charts.observability import dashboard
from envspec import EnvironmentSpec
from envspec.naming import GRAFANA_DASHBOARD_LABELS, MONITORING_NAMESPACE


class DashboardsChart(EnvironmentChart):
    def __init__(self, scope: Construct, spec: EnvironmentSpec):
        super().__init__(scope, "dashboards", spec=spec, namespace=MONITORING_NAMESPACE)
        self.config_map = k8s.KubeConfigMap(
            self,
            "ai-subsidy-system",
            metadata=k8s.ObjectMeta(name="ai-subsidy-system-dashboard", labels=dict(GRAFANA_DASHBOARD_LABELS)),
            data={dashboard.FILE_NAME: dashboard.dashboard_json(self.names)},
        )
