"""Secrets Manager secrets the Kubernetes layer reads through External Secrets.

Terraform creates every secret and writes only what it knows: the application's and the migration's
database logins (generated passwords, write-only, once: the rotation function rotates them from then
on; the master password stays in RDS's own managed secret, for the role bootstrap, the rotation
function and break-glass only), the Redis URL and Grafana's
generated admin login (write-only values: Terraform sends them and keeps no copy in state). Values Terraform cannot
know (the OpenAI key, the registry credential, alert receiver URLs) are put in by operators; see
docs/data.md, "Secrets".
"""

from __future__ import annotations

from cdktf import Fn
from cdktf_cdktf_provider_aws.secretsmanager_secret import SecretsmanagerSecret, SecretsmanagerSecretReplica
from cdktf_cdktf_provider_aws.secretsmanager_secret_version import SecretsmanagerSecretVersion
from constructs import Construct

from envspec import EnvironmentSpec, Names
from envspec.naming import DATABASE_APP_USER, DATABASE_MIGRATION_USER, POSTGRES_PORT, SecretBinding
from envspec.topology import DATABASE_MIGRATION_SECRET, DATABASE_SECRET, REDIS_SECRET
from stacks.checkov import skip_check
from stacks.data.cache import RedisCache
from stacks.data.database import Database
from stacks.data.generated_password import ephemeral_password
from stacks.kms import CustomerManagedKey

GRAFANA_ADMIN_USER = "admin"
DATABASE_PASSWORD_LENGTH = 40
DATABASE_LOGINS = {DATABASE_SECRET.kubernetes_name: DATABASE_APP_USER, DATABASE_MIGRATION_SECRET.kubernetes_name: DATABASE_MIGRATION_USER}
GRAFANA_PASSWORD_LENGTH = 32
ROTATION_REASON = (
    "rotated by their owners, not a Lambda: RDS rotates the database password in its own managed secret, "
    "operators rotate third-party keys at the issuer"
)


class ApplicationSecrets(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        spec: EnvironmentSpec,
        names: Names,
        key: CustomerManagedKey,
        database: Database,
        cache: RedisCache,
        dr_key: CustomerManagedKey | None = None,
    ):
        super().__init__(scope, construct_id)
        self.secrets: dict[str, SecretsmanagerSecret] = {}
        for binding in names.synced_secrets:
            secret = SecretsmanagerSecret(
                self,
                binding.kubernetes_name.replace("-", "_"),
                name=binding.remote_name,
                description=self._describe(binding, DATABASE_LOGINS.get(binding.kubernetes_name)),
                kms_key_id=key.arn,
                recovery_window_in_days=spec.backup.secret_recovery_window_days,
                # Copies in the DR region, so a regional failover finds its credentials.
                replica=[SecretsmanagerSecretReplica(region=spec.aws.dr_region, kms_key_id=dr_key.arn)] if dr_key else None,
                tags={"Name": binding.remote_name, "ConsumedBy": f"{binding.namespace}/{binding.kubernetes_name}"},
            )
            if binding.kubernetes_name not in DATABASE_LOGINS:
                skip_check(secret, "CKV2_AWS_57", ROTATION_REASON)
            self.secrets[binding.kubernetes_name] = secret

        # Rotated by the rotation function (stacks/data/rotation.py), which needs these first versions.
        self.logins = {
            kubernetes_name: self._database_login(kubernetes_name, username, database)
            for kubernetes_name, username in DATABASE_LOGINS.items()
        }
        SecretsmanagerSecretVersion(
            self,
            "redis_connection",
            secret_id=self.secrets[REDIS_SECRET.kubernetes_name].id,
            secret_string_wo=Fn.jsonencode({"url": cache.url}),
            # Write-only values are sent only when their version changes: a new token generation
            # writes a new URL.
            secret_string_wo_version=spec.cache.auth_token_version,
        )

        grafana = names.grafana_admin_secret
        user_key, password_key = grafana.keys
        generated = ephemeral_password(self, name="grafana_admin_password", length=GRAFANA_PASSWORD_LENGTH)
        SecretsmanagerSecretVersion(
            self,
            "grafana_admin_login",
            secret_id=self.secrets[grafana.kubernetes_name].id,
            secret_string_wo=f'${{jsonencode({{"{user_key}" = "{GRAFANA_ADMIN_USER}", "{password_key}" = {generated}}})}}',
            # Sent once: operators rotate the password in Secrets Manager, and Terraform, which keeps
            # no copy, never reverts it.
            secret_string_wo_version=1,
        )

    def _database_login(self, kubernetes_name: str, username: str, database: Database) -> SecretsmanagerSecretVersion:
        """The initial login of one database role, in the alternating-users rotation's format, written
        once (write-only, version 1): rotation rewrites the secret and Terraform never reverts it."""
        instance = database.instance
        label = kubernetes_name.replace("-", "_")
        generated = ephemeral_password(self, name=f"{label}_password", length=DATABASE_PASSWORD_LENGTH)
        document = {
            "engine": '"postgres"',
            # Inside the ${...} expression a reference stands bare (cdktf writes it without `${}`).
            "host": instance.address,
            "port": str(POSTGRES_PORT),
            "dbname": instance.db_name,
            "username": f'"{username}"',
            "password": generated,
            "masterarn": instance.master_user_secret.get(0).secret_arn,
        }
        body = ", ".join(f'"{key}" = {value}' for key, value in document.items())
        return SecretsmanagerSecretVersion(
            self,
            f"{label}_login",
            secret_id=self.secrets[kubernetes_name].id,
            secret_string_wo=f"${{jsonencode({{{body}}})}}",
            secret_string_wo_version=1,
        )

    @staticmethod
    def _describe(binding: SecretBinding, database_user: str | None) -> str:
        if database_user is not None:
            return (
                f"Login of PostgreSQL role {database_user} or its twin (engine, host, port, dbname, username, password, masterarn); "
                f"rendered by External Secrets into the url of Secret {binding.namespace}/{binding.kubernetes_name}"
            )
        keys = ", ".join(binding.keys)
        return f"JSON with {keys}; read by External Secrets into Secret {binding.namespace}/{binding.kubernetes_name}"

    def arn(self, kubernetes_name: str) -> str:
        return self.secrets[kubernetes_name].arn
