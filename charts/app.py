"""Build one cdk8s App per environment; each synthesizes into its own folder."""

from __future__ import annotations

from pathlib import Path

from cdk8s import App, YamlOutputType

from charts.alert_routing import AlertRoutingChart
from charts.alert_rules import AlertRulesChart
from charts.base import EnvironmentChart
from charts.dashboards import DashboardsChart
from charts.gitops import GitOpsChart
from charts.namespaces import NamespacesChart
from charts.network_policies import NetworkPoliciesChart
from charts.scheduling import SchedulingChart
from charts.scrape_targets import ScrapeTargetsChart
from charts.secrets import SecretsChart
from charts.storage import StorageChart
from charts.workloads import WorkloadsChart
from envspec import EnvironmentSpec, names_for
from envspec.naming import APPLICATION_CHARTS, MONITORING_CHARTS


def add_environment(app: App, spec: EnvironmentSpec) -> list[EnvironmentChart]:
    application = [
        NamespacesChart(app, spec),
        SchedulingChart(app, spec),
        SecretsChart(app, spec),
        NetworkPoliciesChart(app, spec),
        WorkloadsChart(app, spec),
    ]
    if tuple(chart.node.id for chart in application) != APPLICATION_CHARTS:
        raise RuntimeError("envspec.naming.APPLICATION_CHARTS must list the application charts built here, in order")
    monitoring = [ScrapeTargetsChart(app, spec), AlertRulesChart(app, spec), AlertRoutingChart(app, spec), DashboardsChart(app, spec)]
    if tuple(chart.node.id for chart in monitoring) != MONITORING_CHARTS:
        raise RuntimeError("envspec.naming.MONITORING_CHARTS must list the monitoring charts built here, in order")

    charts = [StorageChart(app, spec), *application, *monitoring]
    # GitOpsChart last: it describes how every other chart of the folder reaches the cluster.
    return [*charts, GitOpsChart(app, spec, charts=[chart.node.id for chart in charts])]


def build(spec: EnvironmentSpec, outdir: Path) -> App:
    app = App(outdir=str(outdir), yaml_output_type=YamlOutputType.FILE_PER_CHART)
    add_environment(app, spec)
    return app


def standby_build(spec: EnvironmentSpec, outdir: Path) -> App | None:
    """The standby cluster's charts (`dist/<env>-dr/`), from the standby's spec; None without a standby."""
    if not spec.dr.has_standby:
        return None
    return build(names_for(spec).standby.spec, outdir)
