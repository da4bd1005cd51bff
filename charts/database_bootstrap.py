"""`DatabaseBootstrapJob`: creates the application's and the migration's PostgreSQL roles before the migration.

An Argo CD PreSync hook one wave before the migration Job, with the master login RDS manages (the
only use of that login besides break-glass). Two containers: the first (Python, standard library
only: `charts/database_roles.py` itself, shipped in a ConfigMap) turns the two initial passwords into
SCRAM verifiers on a memory-backed volume; the second runs `BOOTSTRAP_SQL` with psql, verifying the
server's certificate (`verify-full`) against the mounted RDS roots. The SQL is idempotent (see
charts/database_roles.py), so the hook runs on every sync and changes nothing once the roles exist.
The pod carries the migration Job's labels, so the migration's network policy (PostgreSQL only)
applies to it.
"""

from __future__ import annotations

from pathlib import Path

from cdk8s_plus_27 import k8s
from constructs import Construct

from charts import database_roles, pod
from charts.database_roles import BOOTSTRAP_SQL, CREDENTIALS_FILE
from envspec.models import Resources
from envspec.naming import (
    DATABASE_APP_GROUP,
    DATABASE_APP_USER,
    DATABASE_MIGRATION_USER,
    DATABASE_OWNER_ROLE,
    MIGRATION_SELECTOR_LABELS,
    MIGRATION_SERVICE_ACCOUNT,
    RDS_CA_FILE,
    RDS_CA_MOUNT_PATH,
    ROTATION_CLONE_SUFFIX,
    Names,
)

JOB_NAME = "ai-subsidy-database-bootstrap"
# Pinned client images: psql of the server's major version, and a slim Python for the verifiers.
PSQL_IMAGE = "docker.io/library/postgres:15.10-bookworm"
PYTHON_IMAGE = "docker.io/library/python:3.12.8-slim-bookworm"
SCRIPTS_VOLUME, CREDENTIALS_VOLUME = "bootstrap", "credentials"
SCRIPTS_PATH, CREDENTIALS_PATH = "/bootstrap", "/run/credentials"
_RESOURCES = Resources(cpu_request="50m", memory_request="64Mi", cpu_limit="250m", memory_limit="128Mi")
HOOK = {"argocd.argoproj.io/hook": "PreSync", "argocd.argoproj.io/hook-delete-policy": "BeforeHookCreation"}


def role_variables(dbname: str) -> dict[str, str]:
    """psql variables of BOOTSTRAP_SQL: the role names from envspec.naming."""
    return {
        "owner": DATABASE_OWNER_ROLE,
        "app_group": DATABASE_APP_GROUP,
        "app_user": DATABASE_APP_USER,
        "app_clone": DATABASE_APP_USER + ROTATION_CLONE_SUFFIX,
        "migrate_user": DATABASE_MIGRATION_USER,
        "migrate_clone": DATABASE_MIGRATION_USER + ROTATION_CLONE_SUFFIX,
        "dbname": dbname,
    }


class DatabaseBootstrapJob(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, names: Names, labels: dict[str, str], secret: str, pull_secret: str):
        super().__init__(scope, construct_id)
        labels = {**labels, **MIGRATION_SELECTOR_LABELS}
        self.scripts = k8s.KubeConfigMap(
            self,
            "scripts",
            metadata=k8s.ObjectMeta(name=JOB_NAME, labels=labels, annotations={**HOOK, "argocd.argoproj.io/sync-wave": "-2"}),
            data={"bootstrap.sql": BOOTSTRAP_SQL, "database_roles.py": Path(database_roles.__file__).read_text(encoding="utf-8")},
        )
        credentials = f"{CREDENTIALS_PATH}/{CREDENTIALS_FILE}"
        variables = [f"--variable={name}={value}" for name, value in role_variables(names.database_name).items()]
        secret_env = pod.secret_env([pod.SecretEnv(key, secret, key) for key in names.database_bootstrap_secret.keys])
        mounts = [pod.tmp_mount(), k8s.VolumeMount(name=CREDENTIALS_VOLUME, mount_path=CREDENTIALS_PATH)]
        verifiers = k8s.Container(
            name="verifiers",
            image=PYTHON_IMAGE,
            image_pull_policy="IfNotPresent",
            command=["python", f"{SCRIPTS_PATH}/database_roles.py", credentials],
            env=[entry for entry in secret_env if entry.name in ("APP_PASSWORD", "MIGRATE_PASSWORD")],
            resources=pod.resource_requirements(_RESOURCES),
            security_context=pod.container_security_context(),
            volume_mounts=[*mounts, k8s.VolumeMount(name=SCRIPTS_VOLUME, mount_path=SCRIPTS_PATH, read_only=True)],
        )
        psql = k8s.Container(
            name="roles",
            image=PSQL_IMAGE,
            image_pull_policy="IfNotPresent",
            command=[
                "psql",
                "--no-psqlrc",
                "--quiet",
                *variables,
                f"--variable=credentials={credentials}",
                "-f",
                f"{SCRIPTS_PATH}/bootstrap.sql",
            ],
            env=[
                *pod.plain_env({"HOME": pod.TMP_PATH, "PGSSLMODE": "verify-full", "PGSSLROOTCERT": f"{RDS_CA_MOUNT_PATH}/{RDS_CA_FILE}"}),
                *(entry for entry in secret_env if entry.name.startswith("PG")),
            ],
            resources=pod.resource_requirements(_RESOURCES),
            security_context=pod.container_security_context(),
            volume_mounts=[*mounts, pod.rds_ca_mount(), k8s.VolumeMount(name=SCRIPTS_VOLUME, mount_path=SCRIPTS_PATH, read_only=True)],
        )
        skips = pod.checkov_skips(
            {
                "CKV_K8S_43": "public client images pinned by release tag (PSQL_IMAGE, PYTHON_IMAGE)",
                "CKV_K8S_15": "release-tagged images; IfNotPresent spares a Docker Hub pull (rate-limited) on every sync",
                "CKV_K8S_35": "psql reads its login from PG* environment variables; the passwords leave the pod only as SCRAM verifiers",
            }
        )
        self.job = k8s.KubeJob(
            self,
            "job",
            metadata=k8s.ObjectMeta(name=JOB_NAME, labels=labels, annotations={**HOOK, "argocd.argoproj.io/sync-wave": "-1", **skips}),
            spec=k8s.JobSpec(
                backoff_limit=0,
                active_deadline_seconds=300,
                template=k8s.PodTemplateSpec(
                    metadata=k8s.ObjectMeta(labels=labels),
                    spec=k8s.PodSpec(
                        restart_policy="Never",
                        service_account_name=MIGRATION_SERVICE_ACCOUNT,
                        automount_service_account_token=False,
                        enable_service_links=False,
                        image_pull_secrets=[k8s.LocalObjectReference(name=pull_secret)],
                        security_context=pod.pod_security_context(),
                        init_containers=[verifiers],
                        containers=[psql],
                        volumes=[
                            pod.tmp_volume(),
                            pod.rds_ca_volume(),
                            k8s.Volume(name=SCRIPTS_VOLUME, config_map=k8s.ConfigMapVolumeSource(name=JOB_NAME)),
                            k8s.Volume(
                                name=CREDENTIALS_VOLUME,
                                empty_dir=k8s.EmptyDirVolumeSource(medium="Memory", size_limit=k8s.Quantity.from_string("1Mi")),
                            ),
                        ],
                    ),
                ),
            ),
        )
