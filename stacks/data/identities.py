"""Pod Identity roles of the workloads that call AWS (from `envspec.topology`), each limited to this
environment's resources."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from constructs import Construct

from envspec import Names
from envspec.naming import PROJECT
from envspec.topology import AI_WORKER, BACKEND, COMPONENTS, DRAFTS_PREFIX, Component, FilesAccess
from stacks.iam import PodIdentity
from stacks.policy import Condition, Statement


def _use_key_through(key_arns: Sequence[str], service: str, region: str, actions: list[str]) -> Statement:
    return Statement(
        sid=f"UseKeyThrough{service.capitalize()}",
        actions=actions,
        resources=list(key_arns),
        conditions=[Condition("StringEquals", "kms:ViaService", [f"{service}.{region}.amazonaws.com"])],
    )


def _read_secrets(sid: str, arns: list[str]) -> Statement:
    return Statement(sid=sid, actions=["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"], resources=arns)


def _secrets_statements(component: Component, secret_arns: Mapping[str, str], decrypt: Statement) -> list[Statement]:
    readable = [secret_arns[secret.kubernetes_name] for secret in component.aws_readable_secrets]
    return [_read_secrets("ReadOwnSecrets", readable), decrypt] if readable else []


def _files_statements(access: FilesAccess | None, bucket_arn: str, key_use: Statement) -> list[Statement]:
    """The files-bucket statements of an access level (envspec.topology.FilesAccess)."""
    if access is None:
        return []
    if access is FilesAccess.READ_WRITE:
        return [
            Statement(sid="ListFiles", actions=["s3:ListBucket"], resources=[bucket_arn]),
            Statement(
                sid="ReadWriteFiles",
                actions=["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject", "s3:DeleteObject"],
                resources=[f"{bucket_arn}/*"],
            ),
            key_use,
        ]
    return [
        Statement(sid="ReadFiles", actions=["s3:GetObject", "s3:GetObjectVersion"], resources=[f"{bucket_arn}/*"]),
        Statement(sid="WriteDrafts", actions=["s3:PutObject"], resources=[f"{bucket_arn}/{DRAFTS_PREFIX}*"]),
        key_use,
    ]


class WorkloadIdentities(Construct):
    """`secret_arns`: the ARN of each application secret the pods read, by its Kubernetes Secret name (on the
    standby: the replicas' ARN patterns and its own Redis secret); `store_secret_arns`: every secret External
    Secrets copies; `database_master_arn`: the instance whose RDS-managed master secret it may read (none on the
    standby: a replica has none until promotion)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        names: Names,
        cluster_name: str,
        files_bucket_arn: str,
        files_key_arn: str,
        secrets_key_arns: Sequence[str],
        secret_arns: Mapping[str, str],
        store_secret_arns: Sequence[str],
        database_master_arn: str | None,
    ):
        super().__init__(scope, construct_id)
        region = names.region
        s3_key = _use_key_through([files_key_arn], "s3", region, ["kms:Decrypt", "kms:GenerateDataKey"])
        secrets_decrypt = _use_key_through(secrets_key_arns, "secretsmanager", region, ["kms:Decrypt"])
        # One role per component that calls AWS, from the topology: its files-bucket access and the
        # secrets it uses, less the rotating database logins (they reach pods through External Secrets only).
        self.components = {
            component.key: PodIdentity(
                self,
                component.key,
                names=names,
                cluster_name=cluster_name,
                service_account=names.app_service_account(component),
                purpose=component.name.removeprefix(f"{PROJECT}-"),
                permissions=[
                    *_files_statements(component.files, files_bucket_arn, s3_key),
                    *_secrets_statements(component, secret_arns, secrets_decrypt),
                ],
            )
            for component in COMPONENTS
            if component.needs_aws
        }
        self.backend = self.components[BACKEND.key]
        self.ai_worker = self.components[AI_WORKER.key]
        self.external_secrets = PodIdentity(
            self,
            "external_secrets",
            names=names,
            cluster_name=cluster_name,
            service_account=names.external_secrets_service_account,
            purpose="external-secrets",
            permissions=[
                _read_secrets("ReadEnvironmentSecrets", list(store_secret_arns)),
                *(
                    [
                        Statement(
                            sid="ReadRdsManagedMasterSecret",
                            actions=["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
                            resources=[f"arn:aws:secretsmanager:{region}:{names.account}:secret:rds!db-*"],
                            conditions=[
                                Condition("StringEquals", "secretsmanager:ResourceTag/aws:rds:primaryDBInstanceArn", [database_master_arn])
                            ],
                        ),
                        # ListSecrets takes no resource; External Secrets finds the RDS-managed secret by tag with it.
                        Statement(sid="FindSecretsByTag", actions=["secretsmanager:ListSecrets"], resources=["*"]),
                    ]
                    if database_master_arn
                    else []
                ),
                secrets_decrypt,
            ],
        )
