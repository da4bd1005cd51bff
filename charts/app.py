"""Build one cdk8s App per environment; each synthesizes into its own folder."""

from __future__ import annotations

from pathlib import Path

from cdk8s import App, YamlOutputType

from charts.base import EnvironmentChart
from charts.gitops import GitOpsChart
from charts.namespaces import NamespacesChart
from envspec import EnvironmentSpec


def add_environment(app: App, spec: EnvironmentSpec) -> list[EnvironmentChart]:
    # GitOpsChart last: it describes how every other chart of the folder reaches the cluster.
    return [NamespacesChart(app, spec), GitOpsChart(app, spec)]


def build(spec: EnvironmentSpec, outdir: Path) -> App:
    app = App(outdir=str(outdir), yaml_output_type=YamlOutputType.FILE_PER_CHART)
    add_environment(app, spec)
    return app
