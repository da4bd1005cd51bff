"""`<env>-data`: PostgreSQL, Redis, the S3 buckets, application secrets and workload identities."""

from __future__ import annotations

from constructs import Construct

from envspec import EnvironmentSpec
from envspec.topology import DataStore
from stacks.base import EnvironmentStack
from stacks.checkov import skip_check
from stacks.cluster.stack import ClusterStack
from stacks.data.auth_token import RedisAuthToken
from stacks.data.cache import RedisCache
from stacks.data.database import Database
from stacks.data.identities import WorkloadIdentities
from stacks.data.network_access import store_security_group
from stacks.data.rotation import LoginRotationFunction
from stacks.data.secrets import DATABASE_LOGINS, ApplicationSecrets
from stacks.kms import CustomerManagedKey
from stacks.logs import log_service_statement
from stacks.network.stack import NetworkStack
from stacks.storage import Lifecycle, SecureBucket

DIAGNOSTICS_EXPIRY_DAYS = 90


class DataStack(EnvironmentStack):
    layer = "data"

    def __init__(self, scope: Construct, spec: EnvironmentSpec, *, network: NetworkStack, cluster: ClusterStack):
        super().__init__(scope, spec)
        names = self.names
        vpc_id = network.vpc_id
        isolated = network.isolated_subnet_ids
        cluster_sg = cluster.node_security_group_id

        self.key = CustomerManagedKey(
            self,
            "key",
            names=names,
            purpose="data",
            description=f"{names.prefix} data at rest: RDS, ElastiCache, S3, their logs",
            statements=[log_service_statement(names)],
        )
        self.secrets_key = CustomerManagedKey(
            self, "secrets_key", names=names, purpose="secrets", description=f"{names.prefix} application secrets"
        )
        dr_secrets_key = (
            CustomerManagedKey(
                self,
                "dr_secrets_key",
                names=names,
                purpose="secrets",
                description=f"{names.prefix} application secrets (DR copy)",
                provider=self.dr_provider,
            )
            if spec.backup.cross_region
            else None
        )
        # Secrets get a replica in the DR region, encrypted with the DR key. Not for the emulator target:
        # moto does not keep a replica's KMS key (it reports aws/secretsmanager), so every plan there
        # would show the replica changing and defer every read that depends on the secret.
        replica_key = dr_secrets_key if self.emulator is None else None

        database_sg = store_security_group(
            self, "database_security_group", names=names, store=DataStore.DATABASE, vpc_id=vpc_id, cluster_sg=cluster_sg
        )
        cache_sg = store_security_group(
            self, "cache_security_group", names=names, store=DataStore.CACHE, vpc_id=vpc_id, cluster_sg=cluster_sg
        )
        self.database = Database(
            self,
            "database",
            spec=spec,
            names=names,
            data_key=self.key,
            secrets_key=self.secrets_key,
            subnet_ids=isolated,
            security_group_id=database_sg.id,
        )
        self.cache_auth_token = RedisAuthToken(self, "cache_auth_token", spec=spec, names=names, key=self.secrets_key, dr_key=replica_key)
        self.cache = RedisCache(
            self,
            "cache",
            spec=spec,
            names=names,
            data_key=self.key,
            auth_token=self.cache_auth_token,
            subnet_ids=isolated,
            security_group_id=cache_sg.id,
        )

        self.access_logs = access_logs = SecureBucket(
            self,
            "access_logs",
            name=names.bucket("access-logs"),
            key=None,
            access_log_bucket=None,
            lifecycle=Lifecycle(expiration_days=365),
        )
        self.buckets = {
            "files": SecureBucket(
                self, "files", name=names.bucket("files"), key=self.key, access_log_bucket=access_logs.bucket, tags=names.backup_tags
            ),
            "diagnostics": SecureBucket(
                self,
                "diagnostics",
                name=names.bucket("diagnostics"),
                key=self.key,
                access_log_bucket=access_logs.bucket,
                lifecycle=Lifecycle(noncurrent_version_days=30, expiration_days=DIAGNOSTICS_EXPIRY_DAYS),
            ),
        }
        replication = (
            "the files bucket is replicated to the DR region by the backup stack (aws_s3_bucket_replication_configuration)"
            if spec.backup.cross_region
            else f"the {spec.profile} profile keeps no DR copy of its files (spec backup.cross_region is false)"
        )
        skip_check(self.buckets["files"].bucket, "CKV_AWS_144", replication)
        skip_check(
            self.buckets["diagnostics"].bucket,
            "CKV_AWS_144",
            "diagnostics are copies or short-lived; AWS Backup copies what must survive a region loss",
        )
        skip_check(
            access_logs.bucket,
            "CKV_AWS_144",
            "access logs are audit data for this region; losing them with the region loses nothing to restore",
        )

        self.secrets = ApplicationSecrets(
            self, "secrets", spec=spec, names=names, key=self.secrets_key, database=self.database, cache=self.cache, dr_key=replica_key
        )
        self.login_rotation = LoginRotationFunction(
            self,
            "login_rotation",
            spec=spec,
            names=names,
            logs_key=self.key,
            secrets_key=self.secrets_key,
            secrets={name: self.secrets.secrets[name] for name in DATABASE_LOGINS},
            initial_versions=list(self.secrets.logins.values()),
            master_secret_arn=self.database.instance.master_user_secret.get(0).secret_arn,
            vpc_id=vpc_id,
            subnet_ids=network.private_subnet_ids,
            database_security_group_id=database_sg.id,
            endpoint_security_group_id=network.endpoint_security_group_id,
        )
        # With a standby, External Secrets also copies its registration for Argo CD (`<env>-dr-cluster` writes it).
        registration = [names.secret_arn(names.argocd_dr_cluster_secret)] if spec.dr.has_standby else []
        WorkloadIdentities(
            self,
            "identities",
            names=names,
            cluster_name=cluster.cluster_name,
            files_bucket_arn=self.buckets["files"].bucket.arn,
            files_key_arn=self.key.arn,
            secrets_key_arns=[self.secrets_key.arn],
            secret_arns={name: self.secrets.arn(name) for name in self.secrets.secrets},
            store_secret_arns=[secret.arn for secret in self.secrets.secrets.values()] + registration,
            database_master_arn=names.database_arn,
        )

        instance = self.database.instance
        self.output("database_identifier", instance.identifier, "RDS instance identifier")
        self.output("database_arn", instance.arn, "RDS instance ARN")
        self.output("database_endpoint", instance.address, "RDS endpoint host name")
        self.output("database_master_secret_arn", instance.master_user_secret.get(0).secret_arn, "RDS-managed master user secret")
        self.output("cache_replication_group_id", self.cache.group.id, "ElastiCache replication group id")
        self.output("cache_primary_endpoint", self.cache.group.primary_endpoint_address, "Redis primary endpoint host name")
        for purpose, bucket in {**self.buckets, "access-logs": access_logs}.items():
            label = purpose.replace("-", "_")
            self.output(f"{label}_bucket", bucket.bucket.bucket, f"Name of the {purpose} bucket")
            self.output(f"{label}_bucket_arn", bucket.bucket.arn, f"ARN of the {purpose} bucket")
        self.output(
            "secret_arns",
            {b.remote_name: self.secrets.arn(b.kubernetes_name) for b in names.synced_secrets},
            "ARN of every Secrets Manager secret this stack creates, by secret name",
        )
        self.output(
            "login_rotation_function_name", self.login_rotation.function.function_name, "Lambda function rotating the database logins"
        )
        self.output("data_kms_key_arn", self.key.arn, "KMS key of the data at rest")
        self.output("secrets_kms_key_arn", self.secrets_key.arn, "KMS key of the application secrets")
