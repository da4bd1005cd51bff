"""Register every environment's stacks on a cdktf App, in dependency order."""

from __future__ import annotations

from collections.abc import Iterable

from cdktf import App

from envspec import EnvironmentSpec, names_for
from envspec.naming import DR_LAYERS, LAYERS
from stacks.backup.stack import BackupStack
from stacks.base import EnvironmentStack
from stacks.ci import CiStack
from stacks.cluster.stack import ClusterStack
from stacks.data.stack import DataStack
from stacks.data.standby import StandbyDataStack
from stacks.edge.failover import FailoverDnsStack
from stacks.edge.stack import EdgeStack
from stacks.network.stack import NetworkStack
from stacks.observability.stack import ObservabilityStack
from stacks.security.stack import SecurityStack
from stacks.state import StateStack


def add_environment(app: App, spec: EnvironmentSpec) -> list[EnvironmentStack]:
    state = StateStack(app, spec)
    network = NetworkStack(app, spec)
    cluster = ClusterStack(app, spec, network=network)
    data = DataStack(app, spec, network=network, cluster=cluster)
    observability = ObservabilityStack(app, spec, network=network, cluster=cluster)
    edge = EdgeStack(app, spec, cluster=cluster)
    security = SecurityStack(app, spec)
    backup = BackupStack(app, spec)
    ci = CiStack(app, spec)
    built = [state, network, cluster, data, observability, edge, security, backup, ci]
    if tuple(stack.layer for stack in built) != LAYERS:
        raise RuntimeError("envspec.naming.LAYERS must list the layers built here, in order")
    return built + add_standby(app, spec, primary_network=network)


def add_standby(app: App, spec: EnvironmentSpec, *, primary_network: NetworkStack) -> list[EnvironmentStack]:
    """The standby's stacks in the DR region (`<env>-dr-*`), the primary's constructs on the standby's names;
    none for `dr.mode: backup-restore`. The primary's Argo CD reaches the standby's API from the primary's
    NAT addresses (docs/disaster-recovery.md, "GitOps for two clusters")."""
    if not spec.dr.has_standby:
        return []
    names = names_for(spec).standby
    network = NetworkStack(app, spec, names=names)
    cluster = ClusterStack(app, spec, network=network, names=names, argocd_source_cidrs=primary_network.nat_public_cidrs)
    data = StandbyDataStack(app, spec, names=names, network=network, cluster=cluster)
    edge = EdgeStack(app, spec, cluster=cluster, names=names)
    dns = FailoverDnsStack(app, spec, names=names)
    built: list[EnvironmentStack] = [network, cluster, data, edge, dns]
    if tuple(f"dr-{stack.layer}" for stack in built) != DR_LAYERS:
        raise RuntimeError("envspec.naming.DR_LAYERS must list the standby's layers built here, in order")
    return built


def build(app: App, specs: Iterable[EnvironmentSpec]) -> list[EnvironmentStack]:
    return [stack for spec in specs for stack in add_environment(app, spec)]
