"""Register every environment's stacks on a cdktf App, in dependency order."""

from __future__ import annotations

from collections.abc import Iterable

from cdktf import App

from envspec import EnvironmentSpec
from envspec.naming import LAYERS
from stacks.backup.stack import BackupStack
from stacks.base import EnvironmentStack
from stacks.ci import CiStack
from stacks.cluster.stack import ClusterStack
from stacks.data.stack import DataStack
from stacks.edge.stack import EdgeStack
from stacks.network.stack import NetworkStack
from stacks.observability.stack import ObservabilityStack
from stacks.security.stack import SecurityStack
from stacks.state import StateStack


def add_environment(app: App, spec: EnvironmentSpec) -> list[EnvironmentStack]:
    state = StateStack(app, spec)
    network = NetworkStack(app, spec)
    cluster = ClusterStack(app, spec, network)
    data = DataStack(app, spec, network, cluster)
    observability = ObservabilityStack(app, spec, network, cluster)
    edge = EdgeStack(app, spec, cluster)
    security = SecurityStack(app, spec)
    backup = BackupStack(app, spec)
    ci = CiStack(app, spec)
    built = [state, network, cluster, data, observability, edge, security, backup, ci]
    if tuple(stack.layer for stack in built) != LAYERS:
        raise RuntimeError("envspec.naming.LAYERS must list the layers built here, in order")
    return built


def build(app: App, specs: Iterable[EnvironmentSpec]) -> list[EnvironmentStack]:
    return [stack for spec in specs for stack in add_environment(app, spec)]
