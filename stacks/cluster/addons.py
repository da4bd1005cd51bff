"""EKS add-ons at the versions pinned in the spec; vpc-cni enforces NetworkPolicies."""

from __future__ import annotations

import json
from collections.abc import Sequence

from cdktf import ITerraformDependable
from cdktf_cdktf_provider_aws.eks_addon import EksAddon, EksAddonPodIdentityAssociation
from cdktf_cdktf_provider_aws.eks_cluster import EksCluster
from constructs import Construct

from envspec import EnvironmentSpec, Names
from envspec.naming import KUBE_SYSTEM, ServiceAccountRef
from stacks.iam import AWS_MANAGED, Role, pod_identity_trust

# Networking and identity must run before nodes join; the rest needs nodes to schedule on.
BEFORE_NODES = ("vpc-cni", "kube-proxy", "eks-pod-identity-agent")
# vpc-cni's network policy agent makes Kubernetes NetworkPolicies actually enforced.
CONFIGURATION = {"vpc-cni": {"enableNetworkPolicy": "true"}}


class ClusterAddons(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, spec: EnvironmentSpec, names: Names, cluster: EksCluster):
        super().__init__(scope, construct_id)
        self.cluster = cluster
        self.names = names
        self.versions = spec.cluster.addons
        cni_account, ebs_account = ServiceAccountRef(KUBE_SYSTEM, "aws-node"), names.ebs_csi_service_account
        cni = self._addon_role("vpc-cni", "vpc-cni", cni_account, "AmazonEKS_CNI_Policy")
        ebs = self._addon_role("ebs-csi", "aws-ebs-csi-driver", ebs_account, "service-role/AmazonEBSCSIDriverPolicy")
        self.identities = {"vpc-cni": (cni_account.name, cni), "aws-ebs-csi-driver": (ebs_account.name, ebs)}
        self.before_nodes = [self._addon(name) for name in sorted(self.versions) if name in BEFORE_NODES]

    def add_after_nodes(self, node_groups: Sequence[ITerraformDependable]) -> list[EksAddon]:
        return [self._addon(name, node_groups) for name in sorted(self.versions) if name not in BEFORE_NODES]

    def _addon_role(self, purpose: str, addon: str, service_account: ServiceAccountRef, managed_policy: str) -> Role:
        return Role(
            self,
            f"{purpose.replace('-', '_')}_role",
            name=f"{self.names.prefix}-{purpose}",
            description=f"Pod Identity of the {addon} add-on in {self.names.cluster_name}",
            trust=[pod_identity_trust(self.names, service_account)],
            managed_policies=[f"{AWS_MANAGED}{managed_policy}"],
        )

    def _addon(self, name: str, depends_on: Sequence[ITerraformDependable] = ()) -> EksAddon:
        identity = self.identities.get(name)
        return EksAddon(
            self,
            name.replace("-", "_"),
            cluster_name=self.cluster.name,
            addon_name=name,
            addon_version=self.versions[name],
            resolve_conflicts_on_create="OVERWRITE",
            resolve_conflicts_on_update="OVERWRITE",
            configuration_values=json.dumps(CONFIGURATION[name], sort_keys=True) if name in CONFIGURATION else None,
            pod_identity_association=[EksAddonPodIdentityAssociation(service_account=identity[0], role_arn=identity[1].arn)]
            if identity
            else None,
            tags={"Name": f"{self.names.prefix}-{name}"},
            depends_on=list(depends_on) or None,
        )
