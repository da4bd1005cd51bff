"""Secrets Manager secrets the Kubernetes layer reads through External Secrets.

Terraform creates every secret and writes only what it knows: the database connection details
(no password: RDS keeps the master password in its own managed secret), the Redis URL and Grafana's
generated admin login (write-only values: Terraform sends them and keeps no copy in state). Values Terraform cannot
know (the OpenAI key, the registry credential, alert receiver URLs) are put in by operators; see
the README.
"""

from __future__ import annotations

from cdktf import Fn
from cdktf_cdktf_provider_aws.secretsmanager_secret import SecretsmanagerSecret, SecretsmanagerSecretReplica
from cdktf_cdktf_provider_aws.secretsmanager_secret_version import SecretsmanagerSecretVersion
from constructs import Construct

from envspec import EnvironmentSpec, Names
from envspec.naming import POSTGRES_PORT, SecretBinding
from stacks.checkov import skip_check
from stacks.data.cache import RedisCache
from stacks.data.database import Database
from stacks.data.generated_password import ephemeral_password
from stacks.kms import CustomerManagedKey

GRAFANA_ADMIN_USER = "admin"
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
                description=self._describe(binding),
                kms_key_id=key.arn,
                recovery_window_in_days=30 if spec.is_production else 7,
                # Copies in the DR region, so a regional failover finds its credentials.
                replica=[SecretsmanagerSecretReplica(region=spec.aws.dr_region, kms_key_id=dr_key.arn)] if dr_key else None,
                tags={"Name": binding.remote_name, "ConsumedBy": f"{binding.namespace}/{binding.kubernetes_name}"},
            )
            skip_check(secret, "CKV2_AWS_57", ROTATION_REASON)
            self.secrets[binding.kubernetes_name] = secret

        instance = database.instance
        SecretsmanagerSecretVersion(
            self,
            "database_connection",
            secret_id=self.secrets["database-secret"].id,
            secret_string=Fn.jsonencode(
                {"host": instance.address, "port": POSTGRES_PORT, "dbname": instance.db_name, "username": instance.username}
            ),
        )
        SecretsmanagerSecretVersion(
            self,
            "redis_connection",
            secret_id=self.secrets["redis-secret"].id,
            secret_string_wo=Fn.jsonencode({"url": cache.url}),
            # Write-only values are sent only when their version changes: a new token generation
            # writes a new URL.
            secret_string_wo_version=spec.cache.auth_token_version,
        )

        grafana = names.grafana_admin_secret
        user_key, password_key = grafana.keys
        generated = ephemeral_password(self, "grafana_admin_password", GRAFANA_PASSWORD_LENGTH)
        SecretsmanagerSecretVersion(
            self,
            "grafana_admin_login",
            secret_id=self.secrets[grafana.kubernetes_name].id,
            secret_string_wo=f'${{jsonencode({{"{user_key}" = "{GRAFANA_ADMIN_USER}", "{password_key}" = {generated}}})}}',
            # Sent once: operators rotate the password in Secrets Manager, and Terraform, which keeps
            # no copy, never reverts it.
            secret_string_wo_version=1,
        )

    @staticmethod
    def _describe(binding: SecretBinding) -> str:
        keys = ", ".join(binding.keys)
        return f"JSON with {keys}; read by External Secrets into Secret {binding.namespace}/{binding.kubernetes_name}"

    def arn(self, kubernetes_name: str) -> str:
        return self.secrets[kubernetes_name].arn
