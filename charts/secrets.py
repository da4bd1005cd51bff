"""The `secrets` chart: the ClusterSecretStore, the ExternalSecrets that produce the application's
Secrets, and Grafana's admin login.

No secret value is ever in this repository or its output: External Secrets reads Secrets Manager in
the environment's region with the controller's own EKS Pod Identity (no static credentials) and
writes the Kubernetes Secrets in the cluster. The store serves only the namespaces that need it.

The database Secrets are rendered, not copied. `database-secret` (the application) and
`database-migration-secret` (the migration Job) each render a `url` from their own login secret,
which the Secrets Manager alternating-users rotation keeps current (docs/data.md, "Database roles").
`database-bootstrap-secret` (the role bootstrap Job only) joins the master login RDS manages, found
by the tag RDS puts on it (the instance's ARN), with the two initial passwords. Passwords are
URL-encoded.

TLS: Prisma's PostgreSQL connector (prisma-engines, quaint/src/connector/postgres/url.rs) knows only
`sslmode=disable|prefer|require` (anything else, `verify-full` included, silently becomes `prefer`)
and accepts any certificate unless `sslaccept=strict`; `sslcert` names the root certificate file.
So the URL says `sslmode=require&sslaccept=strict&sslcert=<the RDS CA file>`, which verifies the
chain and the host name; psql (libpq) in the bootstrap Job gets `verify-full` with `PGSSLROOTCERT`.
"""

from __future__ import annotations

from pathlib import Path

from cdk8s import ApiObjectMetadata
from cdk8s_plus_27 import k8s
from constructs import Construct

from charts.base import EnvironmentChart
from charts.external_secret import synced_secret
from envspec import EnvironmentSpec
from envspec.naming import (
    APP_NAMESPACE,
    CLUSTER_SECRET_STORE,
    DATABASE_CONNECTION_KEYS,
    MONITORING_NAMESPACE,
    RDS_CA_CONFIG_MAP,
    RDS_CA_FILE,
    RDS_CA_MOUNT_PATH,
    SecretBinding,
)
from envspec.topology import APPLICATION_SECRETS, DATABASE_MIGRATION_SECRET
from imports.io import external_secrets as eso

RDS_CA_BUNDLE = Path(__file__).resolve().parent / "data" / RDS_CA_FILE
DATABASE_SECRETS = tuple(secret.kubernetes_name for secret in APPLICATION_SECRETS if secret.login)
# The stage the database logins are read from: the rotation moves it to the new login only after
# testing it (External Secrets also defaults to it; stated so the contract is visible and tested).
LOGIN_VERSION_STAGE = "AWSCURRENT"
MASTER_KEY = "master"  # key the RDS-managed secret (a JSON document) gets in the template's data
MIGRATION_PREFIX = "migration_"  # the migration login's properties in the bootstrap template's data
CA_FILE = f"{RDS_CA_MOUNT_PATH}/{RDS_CA_FILE}"
DATABASE_URL_TEMPLATE = (
    "postgresql://{{ .username | urlquery }}:{{ .password | urlquery }}"
    "@{{ .host }}:{{ .port }}/{{ .dbname }}?sslmode=require&sslaccept=strict&sslcert=" + CA_FILE
)
BOOTSTRAP_TEMPLATE = {
    "PGHOST": "{{ .host }}",
    "PGPORT": "{{ .port }}",
    "PGDATABASE": "{{ .dbname }}",
    "PGUSER": "{{ (." + MASTER_KEY + " | fromJson).username }}",
    "PGPASSWORD": "{{ (." + MASTER_KEY + " | fromJson).password }}",
    "APP_PASSWORD": "{{ .password }}",
    "MIGRATE_PASSWORD": "{{ ." + MIGRATION_PREFIX + "password }}",
}
# Namespaces whose ExternalSecrets may use the store: the application and Alertmanager's receivers.
STORE_NAMESPACES = (APP_NAMESPACE, MONITORING_NAMESPACE)


class SecretsChart(EnvironmentChart):
    def __init__(self, scope: Construct, spec: EnvironmentSpec):
        super().__init__(scope, "secrets", spec=spec)
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
        self.grafana_admin = synced_secret(
            self, binding=self.names.grafana_admin_secret, refresh_interval=spec.secret_sync.refresh_interval
        )
        if not self.names.is_standby:  # the bootstrap Job's master login: no such Job on the standby (charts/workloads.py)
            self.external_secrets[self.names.database_bootstrap_secret.kubernetes_name] = self._bootstrap_secret()
        # Public certificates, not secrets: the RDS root CAs of both regions (a restore in the DR region
        # presents that region's), taken from AWS's global bundle (docs/data.md, "Database TLS").
        self.rds_ca = k8s.KubeConfigMap(
            self,
            "rds-ca",
            metadata=k8s.ObjectMeta(name=RDS_CA_CONFIG_MAP, namespace=APP_NAMESPACE),
            data={RDS_CA_FILE: RDS_CA_BUNDLE.read_text(encoding="ascii")},
        )

    def _external_secret(self, binding: SecretBinding) -> eso.ExternalSecret:
        sync = self.spec.secret_sync
        if binding.kubernetes_name not in DATABASE_SECRETS:
            return synced_secret(self, binding=binding, refresh_interval=sync.refresh_interval)
        return synced_secret(
            self,
            binding=binding,
            refresh_interval=sync.database_refresh_interval,
            remote_keys=DATABASE_CONNECTION_KEYS,
            template_data={"url": DATABASE_URL_TEMPLATE},
            version=LOGIN_VERSION_STAGE,
        )

    def _bootstrap_secret(self) -> eso.ExternalSecret:
        names = self.names
        migration = names.app_secret(DATABASE_MIGRATION_SECRET.kubernetes_name).remote_name
        return synced_secret(
            self,
            binding=names.database_bootstrap_secret,
            refresh_interval=self.spec.secret_sync.database_refresh_interval,
            remote_keys=DATABASE_CONNECTION_KEYS,
            template_data=BOOTSTRAP_TEMPLATE,
            version=LOGIN_VERSION_STAGE,
            data_from=[
                self._master_password(),
                eso.ExternalSecretSpecDataFrom(
                    extract=eso.ExternalSecretSpecDataFromExtract(key=migration, version=LOGIN_VERSION_STAGE),
                    rewrite=[
                        eso.ExternalSecretSpecDataFromRewrite(
                            regexp=eso.ExternalSecretSpecDataFromRewriteRegexp(source="^(.*)$", target=MIGRATION_PREFIX + "$1")
                        )
                    ],
                ),
            ],
        )

    def _master_password(self) -> eso.ExternalSecretSpecDataFrom:
        """The RDS-managed secret of the environment's instance, whatever RDS named it, under MASTER_KEY."""
        return eso.ExternalSecretSpecDataFrom(
            find=eso.ExternalSecretSpecDataFromFind(tags=self.names.database_master_secret_tags),
            rewrite=[
                eso.ExternalSecretSpecDataFromRewrite(regexp=eso.ExternalSecretSpecDataFromRewriteRegexp(source="^.*$", target=MASTER_KEY))
            ],
        )
