"""The `secrets` chart: the ClusterSecretStore, the ExternalSecrets that produce the application's
Secrets, and Grafana's admin login.

No secret value is ever in this repository or its output: External Secrets reads Secrets Manager in
the environment's region with the controller's own EKS Pod Identity (no static credentials) and
writes the Kubernetes Secrets in the cluster. The store serves only the namespaces that need it.

`database-secret` is rendered, not copied: its `url` joins the connection details the data stack
writes to `ai-subsidy/<env>/app/database` with the master password RDS manages (and rotates) in its
own secret, which is found by the tag RDS puts on it (the instance's ARN). The password is URL-encoded.
"""

from __future__ import annotations

from cdk8s import ApiObjectMetadata
from constructs import Construct

from charts.base import EnvironmentChart
from charts.external_secret import synced_secret
from envspec import EnvironmentSpec
from envspec.naming import (
    APP_NAMESPACE,
    CLUSTER_SECRET_STORE,
    DATABASE_CONNECTION_KEYS,
    MONITORING_NAMESPACE,
    SecretBinding,
)
from imports.io import external_secrets as eso

DATABASE_SECRET = "database-secret"
MASTER_KEY = "master"  # key the RDS-managed secret (a JSON document) gets in the template's data
DATABASE_URL_TEMPLATE = (
    "postgresql://{{ .username | urlquery }}:{{ (." + MASTER_KEY + " | fromJson).password | urlquery }}"
    "@{{ .host }}:{{ .port }}/{{ .dbname }}?sslmode=require"
)
# Namespaces whose ExternalSecrets may use the store: the application and Alertmanager's receivers.
STORE_NAMESPACES = (APP_NAMESPACE, MONITORING_NAMESPACE)


class SecretsChart(EnvironmentChart):
    def __init__(self, scope: Construct, spec: EnvironmentSpec):
        super().__init__(scope, "secrets", spec)
        self.store = eso.ClusterSecretStore(
            self,
            "cluster-secret-store",
            metadata=ApiObjectMetadata(name=CLUSTER_SECRET_STORE),
            spec=eso.ClusterSecretStoreSpec(
                provider=eso.ClusterSecretStoreSpecProvider(
                    aws=eso.ClusterSecretStoreSpecProviderAws(
                        service=eso.ClusterSecretStoreSpecProviderAwsService.SECRETS_MANAGER, region=spec.aws.region
                    )
                ),
                conditions=[eso.ClusterSecretStoreSpecConditions(namespaces=list(STORE_NAMESPACES))],
            ),
        )
        self.external_secrets = {binding.kubernetes_name: self._external_secret(binding) for binding in self.names.app_secrets}
        # Grafana's admin login (`grafana.admin.existingSecret` of kube-prometheus-stack): here, so the
        # Secret exists before that release starts Grafana (docs/gitops.md, "Order").
        self.grafana_admin = synced_secret(self, self.names.grafana_admin_secret, spec.secret_sync.refresh_interval)

    def _external_secret(self, binding: SecretBinding) -> eso.ExternalSecret:
        sync = self.spec.secret_sync
        if binding.kubernetes_name != DATABASE_SECRET:
            return synced_secret(self, binding, sync.refresh_interval)
        return synced_secret(
            self,
            binding,
            sync.database_refresh_interval,
            remote_keys=DATABASE_CONNECTION_KEYS,
            template_data={"url": DATABASE_URL_TEMPLATE},
            data_from=[self._master_password()],
        )

    def _master_password(self) -> eso.ExternalSecretSpecDataFrom:
        """The RDS-managed secret of the environment's instance, whatever RDS named it, under MASTER_KEY."""
        return eso.ExternalSecretSpecDataFrom(
            find=eso.ExternalSecretSpecDataFromFind(tags=self.names.database_master_secret_tags),
            rewrite=[
                eso.ExternalSecretSpecDataFromRewrite(regexp=eso.ExternalSecretSpecDataFromRewriteRegexp(source="^.*$", target=MASTER_KEY))
            ],
        )
