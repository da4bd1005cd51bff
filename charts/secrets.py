"""The `secrets` chart: the ClusterSecretStore and the ExternalSecrets that produce the application's Secrets.

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
from envspec import EnvironmentSpec
from envspec.naming import (
    APP_NAMESPACE,
    CLUSTER_SECRET_STORE,
    DATABASE_CONNECTION_KEYS,
    MONITORING_NAMESPACE,
    PROJECT_TAG,
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

    def _external_secret(self, binding: SecretBinding) -> eso.ExternalSecret:
        database = binding.kubernetes_name == DATABASE_SECRET
        sync = self.spec.secret_sync
        return eso.ExternalSecret(
            self,
            binding.kubernetes_name,
            metadata=ApiObjectMetadata(name=binding.kubernetes_name, namespace=binding.namespace),
            spec=eso.ExternalSecretSpec(
                refresh_interval=sync.database_refresh_interval if database else sync.refresh_interval,
                refresh_policy=eso.ExternalSecretSpecRefreshPolicy.PERIODIC,
                secret_store_ref=eso.ExternalSecretSpecSecretStoreRef(
                    kind=eso.ExternalSecretSpecSecretStoreRefKind.CLUSTER_SECRET_STORE, name=CLUSTER_SECRET_STORE
                ),
                target=eso.ExternalSecretSpecTarget(
                    name=binding.kubernetes_name,
                    # The Secret goes with its ExternalSecret, but survives the remote secret's deletion:
                    # running pods keep working while someone restores it.
                    creation_policy=eso.ExternalSecretSpecTargetCreationPolicy.OWNER,
                    deletion_policy=eso.ExternalSecretSpecTargetDeletionPolicy.RETAIN,
                    template=eso.ExternalSecretSpecTargetTemplate(
                        engine_version=eso.ExternalSecretSpecTargetTemplateEngineVersion.V2,
                        type=binding.type,
                        metadata=eso.ExternalSecretSpecTargetTemplateMetadata(
                            labels={"app.kubernetes.io/part-of": PROJECT_TAG, "app.kubernetes.io/managed-by": "external-secrets"}
                        ),
                        data={"url": DATABASE_URL_TEMPLATE} if database else None,
                    ),
                ),
                data=[
                    eso.ExternalSecretSpecData(
                        secret_key=key, remote_ref=eso.ExternalSecretSpecDataRemoteRef(key=binding.remote_name, property=key)
                    )
                    for key in (DATABASE_CONNECTION_KEYS if database else binding.keys)
                ],
                data_from=[self._master_password()] if database else None,
            ),
        )

    def _master_password(self) -> eso.ExternalSecretSpecDataFrom:
        """The RDS-managed secret of the environment's instance, whatever RDS named it, under MASTER_KEY."""
        return eso.ExternalSecretSpecDataFrom(
            find=eso.ExternalSecretSpecDataFromFind(tags=self.names.database_master_secret_tags),
            rewrite=[
                eso.ExternalSecretSpecDataFromRewrite(regexp=eso.ExternalSecretSpecDataFromRewriteRegexp(source="^.*$", target=MASTER_KEY))
            ],
        )
