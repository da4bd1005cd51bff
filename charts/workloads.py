"""The `workloads` chart: the backend, the frontend and the AI worker, their migration Job and the Ingress."""

from __future__ import annotations

from constructs import Construct

from charts.application import settings_for
from charts.base import EnvironmentChart
from charts.database_bootstrap import DatabaseBootstrapJob
from charts.ingress import PublicIngress
from charts.migration import MigrationJob, MigrationProps
from charts.workload import Workload, WorkloadProps
from envspec import EnvironmentSpec
from envspec.naming import APP_NAMESPACE, PROJECT_TAG
from envspec.topology import BACKEND, COMPONENTS, REGISTRY_SECRET, Component, workload
from synth.errors import construct_error


class WorkloadsChart(EnvironmentChart):
    def __init__(self, scope: Construct, spec: EnvironmentSpec):
        super().__init__(scope, "workloads", spec=spec, namespace=APP_NAMESPACE)
        self._check_secret_references()
        self.workloads = {component.key: Workload(self, component.name, props=self._props(component)) for component in COMPONENTS}
        # The standby's database is a read replica: the schema and the roles arrive by replication, and a
        # migration or a CREATE ROLE there would fail (a replica is read-only) and fail the sync with it.
        if not self.names.is_standby:
            self._database_jobs(spec)
        self.ingress = PublicIngress(
            self, "ingress", names=self.names, labels={"app.kubernetes.io/name": "ai-subsidy", "app.kubernetes.io/component": "ingress"}
        )

    def _database_jobs(self, spec: EnvironmentSpec) -> None:
        backend = spec.workloads.backend
        self.migration = MigrationJob(
            self,
            "migration",
            props=MigrationProps(
                image=backend.image.reference,
                resources=backend.resources,
                deadline_seconds=spec.workloads.migration_deadline_seconds,
                pull_secret=REGISTRY_SECRET.kubernetes_name,
                labels=self._labels(BACKEND, "migration"),
            ),
        )
        self.database_bootstrap = DatabaseBootstrapJob(
            self,
            "database-bootstrap",
            names=self.names,
            labels=self._labels(BACKEND, "database-bootstrap"),
            secret=self.names.database_bootstrap_secret.kubernetes_name,
            pull_secret=REGISTRY_SECRET.kubernetes_name,
        )

    def _labels(self, component: Component, role: str | None = None) -> dict[str, str]:
        return {
            "app.kubernetes.io/part-of": PROJECT_TAG,
            "app.kubernetes.io/name": component.name,
            "app.kubernetes.io/component": role or component.container_name,
            "app.kubernetes.io/version": workload(self.spec, component).image.tag,
        }

    def _props(self, component: Component) -> WorkloadProps:
        spec_workload = workload(self.spec, component)
        nodes = self.spec.cluster.node_groups.application
        return WorkloadProps(
            component=component,
            image=spec_workload.image.reference,
            resources=spec_workload.resources,
            autoscaling=spec_workload.autoscaling,
            settings=settings_for(component, self.names),
            pull_secret=REGISTRY_SECRET.kubernetes_name,
            zone_spread=self.spec.workloads.zone_spread,
            node_selector=dict(nodes.labels) if nodes else {},
            taints=nodes.taints if nodes else (),
            labels=self._labels(component),
            idle_replicas=0 if self.names.is_standby and not self.spec.dr.application_runs_idle else None,
        )

    def _check_secret_references(self) -> None:
        """Refuse at synth time a pod reference to a Secret or key no ExternalSecret produces."""
        produced = {binding.kubernetes_name: binding.keys for binding in self.names.app_secrets}
        wanted = [(entry.secret, entry.key) for component in COMPONENTS for entry in component.secret_env]
        wanted.append((REGISTRY_SECRET.kubernetes_name, ".dockerconfigjson"))
        missing = [f"{secret}/{key}" for secret, key in wanted if key not in produced.get(secret, ())]
        if missing:
            raise construct_error(self, f"pods reference secret keys that no ExternalSecret produces: {', '.join(missing)}")
