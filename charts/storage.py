"""The `storage` chart: the StorageClass of the cluster's persistent volumes (`gp3`).

Prometheus and Alertmanager (kube-prometheus-stack) claim their volumes from it, so Argo CD syncs
this chart before the add-ons (`charts.gitops`); it needs nothing that an earlier wave makes. The
EBS CSI driver is an EKS add-on of the cluster stack (its Pod Identity role carries AWS's
`AmazonEBSCSIDriverPolicy`).

Volumes are encrypted with the account's default EBS key (`aws/ebs`), like the nodes' root volumes
(stacks/cluster/nodes.py): a customer-managed key would need grants for the driver's role that this
project does not give it. `WaitForFirstConsumer` creates each volume in the zone the scheduler
picked for its pod (aws-ebs-csi-driver docs/parameters.md, v1.57.1); a volume created first would
pin the pod to a zone chosen without it.
"""

from __future__ import annotations

from cdk8s_plus_27 import k8s
from constructs import Construct

from charts.base import EnvironmentChart
from envspec import EnvironmentSpec
from envspec.naming import GP3_STORAGE_CLASS, STORAGE_CHART

EBS_CSI_PROVISIONER = "ebs.csi.aws.com"
GP3_PARAMETERS = {"type": "gp3", "encrypted": "true", "csi.storage.k8s.io/fstype": "ext4"}


class StorageChart(EnvironmentChart):
    def __init__(self, scope: Construct, spec: EnvironmentSpec):
        super().__init__(scope, STORAGE_CHART, spec=spec)
        self.gp3 = k8s.KubeStorageClass(
            self,
            "gp3",
            metadata=k8s.ObjectMeta(name=GP3_STORAGE_CLASS),
            provisioner=EBS_CSI_PROVISIONER,
            parameters=dict(GP3_PARAMETERS),
            volume_binding_mode="WaitForFirstConsumer",
            # Growing a claim grows the EBS volume online; monitoring data is not worth keeping
            # once its claim is deleted (a StatefulSet keeps its claims when it is deleted).
            allow_volume_expansion=True,
            reclaim_policy="Delete",
        )
