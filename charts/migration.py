"""`MigrationJob`: `npx prisma migrate deploy` with the backend's image, before the backend rolls out.

An Argo CD PreSync hook: Argo CD runs it, waits for it and only then applies the rest of the
workloads, so the new backend never starts against an old schema. It runs once (backoffLimit 0,
restartPolicy Never): `migrate deploy` applies each migration in its own transaction and records it,
but a half-applied non-transactional statement must not be retried blindly; a failure stops the
sync and a person looks at it. The Job stays until the next sync (hook-delete-policy
BeforeHookCreation) so its logs can be read.

Its ServiceAccount is a PreSync hook too (an earlier wave), because on the first sync nothing else
of the Application exists yet. It logs in as the migration role (database-migration-secret), which
owns the schema; the roles themselves are created one wave earlier by the DatabaseBootstrapJob
(charts/database_bootstrap.py). The Secrets it reads (database-migration-secret, registry-secret) and the
network policy that lets it reach PostgreSQL come from the `secrets` and `network-policies` charts,
which Argo CD must sync before `workloads` (envspec.naming.APPLICATION_CHARTS).
"""

from __future__ import annotations

from dataclasses import dataclass

from cdk8s_plus_27 import k8s
from constructs import Construct

from charts import pod
from envspec.models import Resources
from envspec.naming import MIGRATION_JOB, MIGRATION_SELECTOR_LABELS, MIGRATION_SERVICE_ACCOUNT
from envspec.topology import MIGRATION_DATABASE_URL

HOOK = {"argocd.argoproj.io/hook": "PreSync", "argocd.argoproj.io/hook-delete-policy": "BeforeHookCreation"}
MIGRATE_COMMAND = ["npx", "prisma", "migrate", "deploy"]
# npx and Prisma write caches under $HOME (npm: $HOME/.npm); only /tmp is writable. No update checks, no telemetry.
MIGRATE_ENV = {
    "HOME": pod.TMP_PATH,
    "npm_config_update_notifier": "false",
    "CHECKPOINT_DISABLE": "1",
    "PRISMA_HIDE_UPDATE_MESSAGE": "1",
}


@dataclass(frozen=True)
class MigrationProps:
    image: str
    resources: Resources
    deadline_seconds: int
    pull_secret: str
    labels: dict[str, str]


class MigrationJob(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, props: MigrationProps):
        super().__init__(scope, construct_id)
        labels = {**props.labels, **MIGRATION_SELECTOR_LABELS}
        self.service_account = k8s.KubeServiceAccount(
            self,
            "service-account",
            metadata=k8s.ObjectMeta(
                name=MIGRATION_SERVICE_ACCOUNT, labels=labels, annotations={**HOOK, "argocd.argoproj.io/sync-wave": "-1"}
            ),
            automount_service_account_token=False,
        )
        skips = pod.checkov_skips(
            {
                "CKV_K8S_15": "the tag is the backend's release tag from the environment spec, already on the nodes that run it",
                "CKV_K8S_35": "Prisma reads the database URL from the DATABASE_URL environment variable",
                "CKV_K8S_43": "the backend image is pinned by release tag in the environment spec, which the release pipeline promotes",
            }
        )
        container = k8s.Container(
            name="migrate",
            image=props.image,
            image_pull_policy="IfNotPresent",
            command=MIGRATE_COMMAND,
            env=pod.plain_env(MIGRATE_ENV) + pod.secret_env([MIGRATION_DATABASE_URL]),
            resources=pod.resource_requirements(props.resources),
            security_context=pod.container_security_context(),
            volume_mounts=[pod.tmp_mount(), pod.rds_ca_mount()],
        )
        self.job = k8s.KubeJob(
            self,
            "job",
            metadata=k8s.ObjectMeta(name=MIGRATION_JOB, labels=labels, annotations={**HOOK, **skips}),
            spec=k8s.JobSpec(
                backoff_limit=0,
                active_deadline_seconds=props.deadline_seconds,
                template=k8s.PodTemplateSpec(
                    metadata=k8s.ObjectMeta(labels=labels),
                    spec=k8s.PodSpec(
                        restart_policy="Never",
                        service_account_name=MIGRATION_SERVICE_ACCOUNT,
                        automount_service_account_token=False,
                        enable_service_links=False,
                        image_pull_secrets=[k8s.LocalObjectReference(name=props.pull_secret)],
                        security_context=pod.pod_security_context(),
                        containers=[container],
                        volumes=[pod.tmp_volume(), pod.rds_ca_volume()],
                    ),
                ),
            ),
        )
