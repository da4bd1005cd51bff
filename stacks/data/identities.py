"""Pod Identity roles of the workloads that call AWS, each limited to this environment's resources."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from constructs import Construct

from envspec import Names
from envspec.naming import AI_WORKER, BACKEND
from stacks.iam import PodIdentity
from stacks.policy import Condition, Statement

# Where the AI worker writes the drafts it generates; it only reads everything else.
WORKER_OUTPUT_PREFIX = "generated/"


def _use_key_through(key_arns: Sequence[str], service: str, region: str, actions: list[str]) -> Statement:
    return Statement(
        sid=f"UseKeyThrough{service.capitalize()}",
        actions=actions,
        resources=list(key_arns),
        conditions=[Condition("StringEquals", "kms:ViaService", [f"{service}.{region}.amazonaws.com"])],
    )


def _read_secrets(sid: str, arns: list[str]) -> Statement:
    return Statement(sid=sid, actions=["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"], resources=arns)


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
        self.backend = PodIdentity(
            self,
            "backend",
            names,
            cluster_name,
            names.app_service_account(BACKEND),
            "backend",
            permissions=[
                Statement(sid="ListFiles", actions=["s3:ListBucket"], resources=[files_bucket_arn]),
                Statement(
                    sid="ReadWriteFiles",
                    actions=["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject", "s3:DeleteObject"],
                    resources=[f"{files_bucket_arn}/*"],
                ),
                s3_key,
                # Its database login reaches it through External Secrets only (database-secret): the pod
                # never reads a database credential from Secrets Manager itself.
                _read_secrets("ReadOwnSecrets", [secret_arns[name] for name in ("redis-secret", "ai-keys-secret")]),
                secrets_decrypt,
            ],
        )
        self.ai_worker = PodIdentity(
            self,
            "ai_worker",
            names,
            cluster_name,
            names.app_service_account(AI_WORKER),
            "ai-worker",
            permissions=[
                Statement(sid="ReadFiles", actions=["s3:GetObject", "s3:GetObjectVersion"], resources=[f"{files_bucket_arn}/*"]),
                Statement(sid="WriteDrafts", actions=["s3:PutObject"], resources=[f"{files_bucket_arn}/{WORKER_OUTPUT_PREFIX}*"]),
                s3_key,
                _read_secrets("ReadAiKeys", [secret_arns["ai-keys-secret"]]),
                secrets_decrypt,
            ],
        )
        self.external_secrets = PodIdentity(
            self,
            "external_secrets",
            names,
            cluster_name,
            names.external_secrets_service_account,
            "external-secrets",
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
