"""Building blocks of a pod that passes the `restricted` Pod Security Standard and checkov.

Every application pod and the migration Job use these: a non-root user with a high UID, a read-only
root filesystem with a size-limited `emptyDir` at /tmp, no capabilities, no privilege escalation,
the runtime's default seccomp profile.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence

from cdk8s_plus_27 import k8s

from envspec.models import Resources, Taint
from envspec.naming import RDS_CA_CONFIG_MAP, RDS_CA_MOUNT_PATH
from envspec.topology import SecretEnv

__all__ = ["SecretEnv"]  # pod.SecretEnv: the env entries secret_env renders

# A UID/GID above the host's range (checkov CKV_K8S_40) that no image user maps to; files in the
# images are world-readable, and nothing writes outside /tmp.
RUN_AS_USER = 10001
TMP_VOLUME = "tmp"
TMP_PATH = "/tmp"
TMP_SIZE_LIMIT = "256Mi"
CHECKOV_SKIP = "checkov.io/skip{n}"
TAINT_EFFECTS = {"NO_SCHEDULE": "NoSchedule", "NO_EXECUTE": "NoExecute", "PREFER_NO_SCHEDULE": "PreferNoSchedule"}


def quantity(value: str) -> k8s.Quantity:
    return k8s.Quantity.from_string(value)


def pod_security_context() -> k8s.PodSecurityContext:
    return k8s.PodSecurityContext(
        run_as_non_root=True,
        run_as_user=RUN_AS_USER,
        run_as_group=RUN_AS_USER,
        fs_group=RUN_AS_USER,
        seccomp_profile=k8s.SeccompProfile(type="RuntimeDefault"),
    )


def container_security_context() -> k8s.SecurityContext:
    return k8s.SecurityContext(
        allow_privilege_escalation=False,
        privileged=False,
        read_only_root_filesystem=True,
        run_as_non_root=True,
        run_as_user=RUN_AS_USER,
        run_as_group=RUN_AS_USER,
        capabilities=k8s.Capabilities(drop=["ALL"]),
        seccomp_profile=k8s.SeccompProfile(type="RuntimeDefault"),
    )


def tmp_volume() -> k8s.Volume:
    return k8s.Volume(name=TMP_VOLUME, empty_dir=k8s.EmptyDirVolumeSource(size_limit=quantity(TMP_SIZE_LIMIT)))


def tmp_mount() -> k8s.VolumeMount:
    return k8s.VolumeMount(name=TMP_VOLUME, mount_path=TMP_PATH)


def resource_requirements(resources: Resources) -> k8s.ResourceRequirements:
    return k8s.ResourceRequirements(
        requests={"cpu": quantity(resources.cpu_request), "memory": quantity(resources.memory_request)},
        limits={"cpu": quantity(resources.cpu_limit), "memory": quantity(resources.memory_limit)},
    )


def secret_env(entries: Sequence[SecretEnv]) -> list[k8s.EnvVar]:
    return [
        k8s.EnvVar(name=entry.variable, value_from=k8s.EnvVarSource(secret_key_ref=k8s.SecretKeySelector(name=entry.secret, key=entry.key)))
        for entry in entries
    ]


def plain_env(values: Mapping[str, str]) -> list[k8s.EnvVar]:
    return [k8s.EnvVar(name=name, value=value) for name, value in values.items()]


def topology_spread(labels: Mapping[str, str], zone_spread: str) -> list[k8s.TopologySpreadConstraint]:
    """Replicas of one revision spread over zones (hard or soft, from the spec) and, softly, nodes.

    Tainted nodes (unreachable, not ready, cordoned for a drain) do not count as a domain, so a lost
    zone does not block scheduling in the others.
    """
    selector = k8s.LabelSelector(match_labels=dict(labels))
    return [
        k8s.TopologySpreadConstraint(
            max_skew=1,
            topology_key="topology.kubernetes.io/zone",
            when_unsatisfiable="DoNotSchedule" if zone_spread == "required" else "ScheduleAnyway",
            label_selector=selector,
            match_label_keys=["pod-template-hash"],
            node_taints_policy="Honor",
        ),
        k8s.TopologySpreadConstraint(
            max_skew=1,
            topology_key="kubernetes.io/hostname",
            when_unsatisfiable="ScheduleAnyway",
            label_selector=selector,
            match_label_keys=["pod-template-hash"],
            node_taints_policy="Honor",
        ),
    ]


def tolerations(taints: Sequence[Taint]) -> list[k8s.Toleration] | None:
    """Tolerate exactly the application node group's taints from the spec."""
    if not taints:
        return None
    return [
        k8s.Toleration(key=taint.key, operator="Equal", value=taint.value, effect=TAINT_EFFECTS[taint.effect])
        if taint.value
        else k8s.Toleration(key=taint.key, operator="Exists", effect=TAINT_EFFECTS[taint.effect])
        for taint in taints
    ]


def content_hash(data: Mapping[str, str]) -> str:
    """Stable digest of a ConfigMap's data; a pod-template annotation with it rolls pods on change."""
    return hashlib.sha256(json.dumps(dict(data), sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def checkov_skips(reasons: Mapping[str, str]) -> dict[str, str]:
    """`checkov.io/skipN` annotations, one per check, each with its reason (tests/test_checkov.py gates them)."""
    return {CHECKOV_SKIP.format(n=n): f"{check}={reason}" for n, (check, reason) in enumerate(sorted(reasons.items()), start=1)}


RDS_CA_VOLUME = "rds-ca"


def rds_ca_volume() -> k8s.Volume:
    """The RDS root certificates (ConfigMap RDS_CA_CONFIG_MAP), for clients that verify the database."""
    return k8s.Volume(name=RDS_CA_VOLUME, config_map=k8s.ConfigMapVolumeSource(name=RDS_CA_CONFIG_MAP))


def rds_ca_mount() -> k8s.VolumeMount:
    return k8s.VolumeMount(name=RDS_CA_VOLUME, mount_path=RDS_CA_MOUNT_PATH, read_only=True)
