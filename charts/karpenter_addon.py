"""Helm values of the Karpenter release (chart `karpenter` 1.14.1, oci://public.ecr.aws/karpenter).

Keys follow the chart's `charts/karpenter/values.yaml` at aws/karpenter-provider-aws v1.14.1:
- `settings.clusterName` and `settings.interruptionQueue` name the cluster and the SQS queue the
  cluster stack creates (both from envspec.naming);
- `serviceAccount.name` is the one the Pod Identity association is for;
- the controller runs on the system node group only: a node selector on its node-role label, the
  toleration of its CriticalAddonsOnly taint, and the chart's own anti-affinity to nodes that carry
  `karpenter.sh/nodepool` (nodes Karpenter manages) kept, since `affinity` replaces the chart's;
- `priorityClassName: system-cluster-critical` (the chart's default, kept explicit): the pods that
  make room for all others are the last to wait.

CRDs: the chart ships NodePool, NodeClaim and EC2NodeClass in `crds/` (links to pkg/apis/crds/, the
files in our crds/). `helm upgrade` never touches `crds/`, but Argo CD renders charts with their CRDs
and applies them on every sync like any other object (unless `helm.skipCrds`), so they follow the
chart version; the largest is about 39 kB as JSON, well under client-side apply's 262,144-byte
annotation limit (tests/test_karpenter.py), so no server-side apply is needed. The separate
`karpenter-crd` chart exists for plain Helm users and is not used.
"""

from __future__ import annotations

from typing import Any

from envspec import EnvironmentSpec, names_for
from envspec.naming import CRITICAL_ADDONS_TAINT, NODE_ROLE_LABEL, SYSTEM_NODE_ROLE

CONTROLLER_RESOURCES = {"requests": {"cpu": "500m", "memory": "512Mi"}, "limits": {"cpu": "1", "memory": "1Gi"}}


def karpenter_values(spec: EnvironmentSpec) -> dict[str, Any]:
    names = names_for(spec)
    return {
        "settings": {"clusterName": names.cluster_name, "interruptionQueue": names.karpenter_interruption_queue},
        "serviceAccount": {"create": True, "name": names.karpenter_service_account.name},
        "replicas": 2,
        "priorityClassName": "system-cluster-critical",
        "nodeSelector": {"kubernetes.io/os": "linux", NODE_ROLE_LABEL: SYSTEM_NODE_ROLE},
        "tolerations": [{"key": CRITICAL_ADDONS_TAINT[0], "operator": "Exists"}],
        "affinity": {
            "nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {
                    "nodeSelectorTerms": [{"matchExpressions": [{"key": "karpenter.sh/nodepool", "operator": "DoesNotExist"}]}]
                }
            },
            "podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [{"topologyKey": "kubernetes.io/hostname"}]},
        },
        "controller": {"resources": CONTROLLER_RESOURCES},
        "logLevel": "info",
    }
