"""Prometheus and Alertmanager keep their data and state across a reschedule: replicas from the spec
(2 and 3 in production), each on its own encrypted gp3 EBS volume, spread over nodes and zones.

Sources: kube-prometheus-stack 88.2.0 values.yaml (`prometheus.prometheusSpec.storageSpec`,
`alertmanager.alertmanagerSpec.storage`: without them the operator gives the pods an emptyDir, per
prometheus-operator Documentation/platform/storage.md) and templates/_helpers.tpl (the pod labels
its own anti-affinity selects: `app.kubernetes.io/name` and `app.kubernetes.io/instance`);
prometheus-operator v0.93.0 pkg/apis/monitoring/v1/types.go (the `Duration` and `ByteSize`
patterns of `retention` and `retentionSize`, ByteSize in powers of 2); aws-ebs-csi-driver v1.57.1
docs/parameters.md (StorageClass parameters are strings; without `kmsKeyId` an encrypted volume
uses the region's default EBS key, as the nodes' root volumes do).
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from envspec.naming import GP3_STORAGE_CLASS, KUBE_PROMETHEUS_RELEASE
from tests.conftest import ENVIRONMENTS, SPECS, Synthesis

DURATION = r"^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$"
BYTE_SIZE = r"(^0|([0-9]*[.])?[0-9]+((K|M|G|T|E|P)i?)?B)$"


def _values(synthesis: Synthesis, env: str) -> dict[str, Any]:
    (application,) = synthesis.find(env, "Application", KUBE_PROMETHEUS_RELEASE)
    return application["spec"]["source"]["helm"]["valuesObject"]


def _specs(synthesis: Synthesis, env: str) -> dict[str, dict[str, Any]]:
    values = _values(synthesis, env)
    return {"prometheus": values["prometheus"]["prometheusSpec"], "alertmanager": values["alertmanager"]["alertmanagerSpec"]}


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_gp3_class_makes_encrypted_ebs_volumes_where_the_pod_lands(env: str, synthesis: Synthesis) -> None:
    (storage_class,) = synthesis.find(env, "StorageClass")
    assert storage_class["metadata"]["name"] == GP3_STORAGE_CLASS
    assert storage_class["provisioner"] == "ebs.csi.aws.com"
    assert storage_class["parameters"] == {"type": "gp3", "encrypted": "true", "csi.storage.k8s.io/fstype": "ext4"}
    assert storage_class["volumeBindingMode"] == "WaitForFirstConsumer"
    assert storage_class["allowVolumeExpansion"] is True


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_prometheus_and_alertmanager_claim_gp3_volumes_sized_by_the_spec(env: str, synthesis: Synthesis) -> None:
    monitoring = SPECS[env].monitoring
    specs = _specs(synthesis, env)
    claims = {
        "prometheus": specs["prometheus"]["storageSpec"]["volumeClaimTemplate"]["spec"],
        "alertmanager": specs["alertmanager"]["storage"]["volumeClaimTemplate"]["spec"],
    }
    sizes = {"prometheus": monitoring.prometheus_volume_gib, "alertmanager": monitoring.alertmanager_volume_gib}
    for name, claim in claims.items():
        assert claim["storageClassName"] == GP3_STORAGE_CLASS, name
        assert claim["accessModes"] == ["ReadWriteOnce"], name
        assert claim["resources"]["requests"]["storage"] == f"{sizes[name]}Gi", name
    assert specs["prometheus"]["replicas"] == monitoring.prometheus_replicas
    assert specs["alertmanager"]["replicas"] == monitoring.alertmanager_replicas


def test_production_runs_two_prometheus_and_three_alertmanager_replicas_fewer_elsewhere() -> None:
    replicas = {env: (SPECS[env].monitoring.prometheus_replicas, SPECS[env].monitoring.alertmanager_replicas) for env in ENVIRONMENTS}
    assert replicas["production"] == (2, 3)
    assert all(prometheus <= 2 and alertmanager <= 3 for prometheus, alertmanager in replicas.values())


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_retention_is_the_specs_and_stops_before_the_volume_fills(env: str, synthesis: Synthesis) -> None:
    monitoring = SPECS[env].monitoring
    prometheus = _specs(synthesis, env)["prometheus"]
    assert prometheus["retention"] == f"{monitoring.prometheus_retention_days}d"
    assert re.fullmatch(DURATION, prometheus["retention"])
    size = prometheus["retentionSize"]
    assert re.search(BYTE_SIZE, size) and size.endswith("GB")
    assert int(size.removesuffix("GB")) < monitoring.prometheus_volume_gib  # GB is GiB for Prometheus


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_replicas_spread_over_nodes_and_zones(env: str, synthesis: Synthesis) -> None:
    required = SPECS[env].workloads.zone_spread == "required"
    for name, spec in _specs(synthesis, env).items():
        assert spec["podAntiAffinity"] == "hard" and spec["podAntiAffinityTopologyKey"] == "kubernetes.io/hostname", name
        (zones,) = spec["topologySpreadConstraints"]
        assert zones["topologyKey"] == "topology.kubernetes.io/zone"
        assert zones["whenUnsatisfiable"] == ("DoNotSchedule" if required else "ScheduleAnyway")
        # The labels the operator gives the pods (the chart's anti-affinity selects by the same).
        assert zones["labelSelector"]["matchLabels"] == {
            "app.kubernetes.io/name": name,
            "app.kubernetes.io/instance": f"{KUBE_PROMETHEUS_RELEASE}-{name}",
        }
    assert SPECS["production"].workloads.zone_spread == "required"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_a_drain_keeps_one_replica_of_each_running(env: str, synthesis: Synthesis) -> None:
    """The chart's PodDisruptionBudgets (values `prometheus.podDisruptionBudget`,
    `alertmanager.podDisruptionBudget`) where there is more than one replica; a budget of one
    replica with minAvailable 1 would block every node drain."""
    values, monitoring = _values(synthesis, env), SPECS[env].monitoring
    for name, replicas in (("prometheus", monitoring.prometheus_replicas), ("alertmanager", monitoring.alertmanager_replicas)):
        budget = values[name].get("podDisruptionBudget")
        assert budget == ({"enabled": True, "minAvailable": 1} if replicas > 1 else None), (name, replicas)
