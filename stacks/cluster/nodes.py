"""Managed node groups with launch templates: IMDSv2 only (hop limit 1), encrypted gp3 root volumes.

Every group runs the cluster's Kubernetes version and the spec's pinned AMI release
(`cluster.node_ami_release_version`): raising either rolls the nodes, `update_config` at a time
(docs/upgrades.md). The launch templates name no image, so EKS picks the AMI of that release.
EKS node auto repair replaces nodes whose kubelet or node monitoring agent reports them unhealthy.
"""

from __future__ import annotations

from collections.abc import Sequence

from cdktf import ITerraformDependable, TerraformResourceLifecycle, Token
from cdktf_cdktf_provider_aws.eks_cluster import EksCluster
from cdktf_cdktf_provider_aws.eks_node_group import (
    EksNodeGroup,
    EksNodeGroupLaunchTemplate,
    EksNodeGroupNodeRepairConfig,
    EksNodeGroupScalingConfig,
    EksNodeGroupTaint,
    EksNodeGroupUpdateConfig,
)
from cdktf_cdktf_provider_aws.launch_template import (
    LaunchTemplate,
    LaunchTemplateBlockDeviceMappings,
    LaunchTemplateBlockDeviceMappingsEbs,
    LaunchTemplateMetadataOptions,
    LaunchTemplateTagSpecifications,
)
from constructs import Construct

from envspec import Names
from envspec.models import NodeGroup as NodeGroupSpec
from envspec.models import NodeGroups
from envspec.naming import APPLICATION_NODE_ROLE, CRITICAL_ADDONS_TAINT, NODE_ROLE_LABEL, SYSTEM_NODE_ROLE
from stacks.iam import AWS_MANAGED, Role, service_trust

AMI_TYPE = "AL2023_x86_64_STANDARD"
ROOT_DEVICE = "/dev/xvda"  # root device of the EKS-optimized AL2023 AMIs
# vpc-cni runs with its own Pod Identity (see addons.py), so nodes need no CNI permissions.
NODE_POLICIES = ("AmazonEKSWorkerNodePolicy", "AmazonEC2ContainerRegistryPullOnly")


class ManagedNodeGroups(Construct):
    """The system group (on-demand, tainted for cluster-critical add-ons) and the application group."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        names: Names,
        cluster: EksCluster,
        groups: NodeGroups,
        subnet_ids: Sequence[str],
        depends_on: Sequence[ITerraformDependable],
        release_version: str,
    ):
        super().__init__(scope, construct_id)
        self.release_version = release_version
        self.role = Role(
            self,
            "role",
            name=f"{names.prefix}-eks-node",
            description=f"EC2 instances of the {names.cluster_name} managed node groups",
            trust=[service_trust("ec2.amazonaws.com")],
            managed_policies=[f"{AWS_MANAGED}{policy}" for policy in NODE_POLICIES],
        )
        self.groups = [self._group(names, cluster, SYSTEM_NODE_ROLE, groups.system, subnet_ids, depends_on, critical_addons_only=True)]
        # Karpenter provisions the application nodes; a managed group only while switching or rolling back.
        if groups.application is not None:
            self.groups.append(
                self._group(names, cluster, APPLICATION_NODE_ROLE, groups.application, subnet_ids, depends_on, critical_addons_only=False)
            )

    def _group(
        self,
        names: Names,
        cluster: EksCluster,
        label: str,
        group: NodeGroupSpec,
        subnet_ids: Sequence[str],
        depends_on: Sequence[ITerraformDependable],
        critical_addons_only: bool,
    ) -> EksNodeGroup:
        name = f"{names.prefix}-{label}"
        template = LaunchTemplate(
            self,
            f"{label}_launch_template",
            name=name,
            description=f"{name} nodes: IMDSv2 only, encrypted gp3 root volume",
            update_default_version=True,
            metadata_options=LaunchTemplateMetadataOptions(
                http_endpoint="enabled",
                http_tokens="required",
                # 1: pods cannot reach the node's instance credentials; they use Pod Identity.
                http_put_response_hop_limit=1,
                instance_metadata_tags="disabled",
            ),
            block_device_mappings=[
                LaunchTemplateBlockDeviceMappings(
                    device_name=ROOT_DEVICE,
                    ebs=LaunchTemplateBlockDeviceMappingsEbs(
                        volume_size=group.disk_size_gib, volume_type="gp3", encrypted="true", delete_on_termination="true"
                    ),
                )
            ],
            tag_specifications=[
                LaunchTemplateTagSpecifications(resource_type=kind, tags={"Name": name, **names.tags()}) for kind in ("instance", "volume")
            ],
            tags={"Name": name},
        )
        taints = [EksNodeGroupTaint(key=taint.key, value=taint.value or None, effect=taint.effect) for taint in group.taints]
        if critical_addons_only:
            key, value = CRITICAL_ADDONS_TAINT
            taints.append(EksNodeGroupTaint(key=key, value=value, effect="NO_SCHEDULE"))
        return EksNodeGroup(
            self,
            label,
            cluster_name=cluster.name,
            node_group_name=name,
            node_role_arn=self.role.arn,
            subnet_ids=list(subnet_ids),
            ami_type=AMI_TYPE,
            # Follow the control plane: a version change upgrades the nodes after the cluster.
            version=cluster.version,
            release_version=self.release_version,
            node_repair_config=EksNodeGroupNodeRepairConfig(enabled=True),
            capacity_type=group.capacity_type,
            instance_types=list(group.instance_types),
            scaling_config=EksNodeGroupScalingConfig(min_size=group.min_size, desired_size=group.desired_size, max_size=group.max_size),
            update_config=EksNodeGroupUpdateConfig(max_unavailable=1),
            launch_template=EksNodeGroupLaunchTemplate(id=template.id, version=Token.as_string(template.latest_version)),
            labels={NODE_ROLE_LABEL: label, **group.labels},
            taint=taints or None,
            tags={"Name": name},
            # A cluster autoscaler owns the desired size once the group exists.
            lifecycle=TerraformResourceLifecycle(ignore_changes=["scaling_config[0].desired_size"]),
            depends_on=list(depends_on),
        )
