"""Build one cdk8s App per environment; each synthesizes into its own folder."""

from __future__ import annotations

from pathlib import Path

from cdk8s import App, YamlOutputType

from charts.base import EnvironmentChart
from charts.namespaces import NamespacesChart
from charts.network_policies import NetworkPoliciesChart
from charts.secrets import SecretsChart
from charts.workloads import WorkloadsChart
from envspec import EnvironmentSpec
from envspec.naming import APPLICATION_CHARTS


def add_environment(app: App, spec: EnvironmentSpec) -> list[EnvironmentChart]:
    charts = [NamespacesChart(app, spec), SecretsChart(app, spec), NetworkPoliciesChart(app, spec), WorkloadsChart(app, spec)]
    if tuple(chart.node.id for chart in charts[: len(APPLICATION_CHARTS)]) != APPLICATION_CHARTS:
        raise RuntimeError("envspec.naming.APPLICATION_CHARTS must list the application charts built here, in order")
    return charts


def build(spec: EnvironmentSpec, outdir: Path) -> App:
    app = App(outdir=str(outdir), yaml_output_type=YamlOutputType.FILE_PER_CHART)
    add_environment(app, spec)
    return app
