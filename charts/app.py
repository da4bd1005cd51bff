"""Build one cdk8s App per environment; each synthesizes into its own folder."""

from __future__ import annotations

from pathlib import Path

from cdk8s import App, YamlOutputType

from charts.alert_routing import AlertRoutingChart
from charts.alert_rules import AlertRulesChart
from charts.base import EnvironmentChart
from charts.dashboards import DashboardsChart
from charts.namespaces import NamespacesChart
from charts.scrape_targets import ScrapeTargetsChart
from envspec import EnvironmentSpec
from envspec.naming import MONITORING_CHARTS


def add_environment(app: App, spec: EnvironmentSpec) -> list[EnvironmentChart]:
    monitoring = [ScrapeTargetsChart(app, spec), AlertRulesChart(app, spec), AlertRoutingChart(app, spec), DashboardsChart(app, spec)]
    if tuple(chart.node.id for chart in monitoring) != MONITORING_CHARTS:
        raise RuntimeError("envspec.naming.MONITORING_CHARTS must list the monitoring charts built here, in order")
    return [NamespacesChart(app, spec), *monitoring]


def build(spec: EnvironmentSpec, outdir: Path) -> App:
    app = App(outdir=str(outdir), yaml_output_type=YamlOutputType.FILE_PER_CHART)
    add_environment(app, spec)
    return app
