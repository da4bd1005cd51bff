"""Base for every chart: the environment's spec and names, stable object names, common labels."""

from __future__ import annotations

from cdk8s import Chart
from constructs import Construct

from envspec import EnvironmentSpec, names_for
from envspec.naming import PROJECT_TAG


class EnvironmentChart(Chart):
    """A chart written to `dist/<env>/<chart id>.k8s.yaml`.

    Resource-name hashes are off: the names here are the ones runbooks and other layers type.
    """

    def __init__(self, scope: Construct, construct_id: str, *, spec: EnvironmentSpec, namespace: str | None = None):
        super().__init__(
            scope,
            construct_id,
            namespace=namespace,
            disable_resource_name_hashes=True,
            labels={"app.kubernetes.io/part-of": PROJECT_TAG, "ai-subsidy.io/environment": spec.name},
        )
        self.spec = spec
        self.names = names_for(spec)
