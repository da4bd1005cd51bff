"""A component's non-secret settings (its ConfigMap), derived from the topology and the spec.

What each component needs (Secrets, data stores, network paths, AWS access) is `envspec.topology`'s.
"""

from __future__ import annotations

from envspec.naming import METRICS_PORT, Names
from envspec.topology import BACKEND, FRONTEND, Component, workload


def settings_for(component: Component, names: Names) -> dict[str, str]:
    """Non-secret environment of a component (its ConfigMap): derived values, then the spec's `settings`."""
    spec = names.spec
    settings = {"APP_ENV": spec.name, "METRICS_PORT": str(METRICS_PORT)}
    if component.http_port is not None:
        settings |= {"NODE_ENV": "production", "PORT": str(component.http_port), "PUBLIC_URL": f"https://{spec.dns.frontend_host}"}
    if component.needs_aws:
        settings |= {"AWS_REGION": spec.aws.region}
    if component.files is not None:
        settings |= {"FILES_BUCKET": names.files_bucket}
    if component == FRONTEND:
        # Next.js standalone binds to $HOSTNAME; server-side calls go to the backend inside the cluster.
        settings |= {"HOSTNAME": "0.0.0.0", "API_INTERNAL_URL": f"{names.app_service_url(BACKEND)}/api"}  # noqa: S104
    settings |= workload(spec, component).settings
    return dict(sorted(settings.items()))
