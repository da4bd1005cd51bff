"""`secrets`: the ClusterSecretStore for this environment's Secrets Manager and the ExternalSecrets
that produce every Secret the application pods read. No secret value is ever in these manifests."""

from __future__ import annotations

from cdk8s import ApiObjectMetadata
from constructs import Construct

from charts.base import EnvironmentChart
from envspec import EnvironmentSpec, Names
from envspec.naming import APP_NAMESPACE, CLUSTER_SECRET_STORE, MONITORING_NAMESPACE, SecretBinding
from imports.io.external_secrets import (
    ClusterSecretStore,
    ClusterSecretStoreSpec,
    ClusterSecretStoreSpecConditions,
    ClusterSecretStoreSpecProvider,
    ClusterSecretStoreSpecProviderAws,
    ClusterSecretStoreSpecProviderAwsService,
    ExternalSecret,
    ExternalSecretSpec,
    ExternalSecretSpecData,
    ExternalSecretSpecDataFrom,
    ExternalSecretSpecDataFromFind,
    ExternalSecretSpecDataFromRewrite,
    ExternalSecretSpecDataFromRewriteRegexp,
    ExternalSecretSpecDataRemoteRef,
    ExternalSecretSpecSecretStoreRef,
    ExternalSecretSpecSecretStoreRefKind,
    ExternalSecretSpecTarget,
    ExternalSecretSpecTargetCreationPolicy,
    ExternalSecretSpecTargetTemplate,
    ExternalSecretSpecTargetTemplateEngineVersion,
)

REFRESH = "1h"  # how soon a changed secret reaches the cluster
# RDS rotates the master password without notice: pick the new one up within minutes.
DATABASE_REFRESH = "5m"
# The RDS-managed master secret is named `rds!db-<uuid>`; External Secrets finds it by the tag RDS puts on it.
RDS_MASTER_TAG = "aws:rds:primaryDBInstanceArn"
DATABASE_URL = (
    "postgresql://{{ .username }}:{{ (.master | fromJson).password | urlquery }}@{{ .host }}:{{ .port }}/{{ .dbname }}?sslmode=require"
)


def store_ref() -> ExternalSecretSpecSecretStoreRef:
    return ExternalSecretSpecSecretStoreRef(kind=ExternalSecretSpecSecretStoreRefKind.CLUSTER_SECRET_STORE, name=CLUSTER_SECRET_STORE)


def property_refs(binding: SecretBinding) -> list[ExternalSecretSpecData]:
    """Each key of the Kubernetes Secret from the JSON property of the same name."""
    return [
        ExternalSecretSpecData(secret_key=key, remote_ref=ExternalSecretSpecDataRemoteRef(key=binding.remote_name, property=key))
        for key in binding.keys
    ]


def external_secret(scope: Construct, binding: SecretBinding) -> ExternalSecret:
    """A Secret whose keys are the JSON properties of one Secrets Manager secret."""
    template = None
    if binding.type != "Opaque":
        template = ExternalSecretSpecTargetTemplate(type=binding.type, engine_version=ExternalSecretSpecTargetTemplateEngineVersion.V2)
    return ExternalSecret(
        scope,
        binding.kubernetes_name,
        metadata=ApiObjectMetadata(name=binding.kubernetes_name, namespace=binding.namespace),
        spec=ExternalSecretSpec(
            refresh_interval=REFRESH,
            secret_store_ref=store_ref(),
            target=ExternalSecretSpecTarget(
                name=binding.kubernetes_name, creation_policy=ExternalSecretSpecTargetCreationPolicy.OWNER, template=template
            ),
            data=property_refs(binding),
        ),
    )


def database_external_secret(scope: Construct, names: Names) -> ExternalSecret:
    """`database-secret`/`url`: host, port, database and user from the Terraform-written secret, the
    password from the RDS-managed secret (RDS rotates it; the next refresh picks it up)."""
    binding = names.app_secret("database-secret")
    connection = [
        ExternalSecretSpecData(secret_key=key, remote_ref=ExternalSecretSpecDataRemoteRef(key=binding.remote_name, property=key))
        for key in ("host", "port", "dbname", "username")
    ]
    return ExternalSecret(
        scope,
        binding.kubernetes_name,
        metadata=ApiObjectMetadata(name=binding.kubernetes_name, namespace=binding.namespace),
        spec=ExternalSecretSpec(
            refresh_interval=DATABASE_REFRESH,
            secret_store_ref=store_ref(),
            target=ExternalSecretSpecTarget(
                name=binding.kubernetes_name,
                creation_policy=ExternalSecretSpecTargetCreationPolicy.OWNER,
                template=ExternalSecretSpecTargetTemplate(
                    engine_version=ExternalSecretSpecTargetTemplateEngineVersion.V2, data={"url": DATABASE_URL}
                ),
            ),
            data=connection,
            data_from=[
                ExternalSecretSpecDataFrom(
                    find=ExternalSecretSpecDataFromFind(tags={RDS_MASTER_TAG: names.database_arn}),
                    # The found secret arrives under its generated name; call it `master`.
                    rewrite=[
                        ExternalSecretSpecDataFromRewrite(regexp=ExternalSecretSpecDataFromRewriteRegexp(source="^.*$", target="master"))
                    ],
                )
            ],
        ),
    )


class SecretsChart(EnvironmentChart):
    def __init__(self, scope: Construct, spec: EnvironmentSpec):
        super().__init__(scope, "secrets", spec)
        names = self.names
        ClusterSecretStore(
            self,
            "store",
            metadata=ApiObjectMetadata(name=CLUSTER_SECRET_STORE),
            spec=ClusterSecretStoreSpec(
                # No credentials here: the External Secrets controller's own Pod Identity reads the secrets.
                provider=ClusterSecretStoreSpecProvider(
                    aws=ClusterSecretStoreSpecProviderAws(
                        service=ClusterSecretStoreSpecProviderAwsService.SECRETS_MANAGER, region=spec.aws.region
                    )
                ),
                conditions=[ClusterSecretStoreSpecConditions(namespaces=[APP_NAMESPACE, MONITORING_NAMESPACE])],
            ),
        )
        database_external_secret(self, names)
        for binding in names.app_secrets:
            if binding.kubernetes_name != "database-secret":
                external_secret(self, binding)
