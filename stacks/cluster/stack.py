"""`<env>-cluster`: the EKS cluster everything in Kubernetes runs on.

On the standby's names the same stack is `<env>-dr-cluster`: the standby cluster in the DR region with its
system nodes only (Karpenter, installed by Argo CD, adds the application's nodes on failover), the same
hardening, and its registration for the primary's Argo CD (`ArgoCdRegistration`).
"""

from __future__ import annotations

from collections.abc import Sequence

from constructs import Construct

from envspec import EnvironmentSpec, Names
from stacks.base import EnvironmentStack
from stacks.checkov import skip_check
from stacks.cluster.addons import ClusterAddons
from stacks.cluster.api_access import ApiAccessHost
from stacks.cluster.argocd_registration import ArgoCdRegistration
from stacks.cluster.container_logs import ContainerLogGroups
from stacks.cluster.control_plane import ControlPlane
from stacks.cluster.karpenter import KarpenterResources
from stacks.cluster.load_balancer_controller import load_balancer_controller_statements
from stacks.cluster.nodes import ManagedNodeGroups
from stacks.iam import PodIdentity
from stacks.kms import CustomerManagedKey
from stacks.logs import log_service_statement
from stacks.network.stack import NetworkStack


class ClusterStack(EnvironmentStack):
    layer = "cluster"

    def __init__(
        self,
        scope: Construct,
        spec: EnvironmentSpec,
        *,
        network: NetworkStack,
        names: Names | None = None,
        argocd_source_cidrs: Sequence[str] = (),
    ):
        """`argocd_source_cidrs`: where the Argo CD that manages this cluster from another VPC connects from
        (the standby's: the primary's NAT addresses, `NetworkStack.nat_public_cidrs`)."""
        super().__init__(scope, spec, names=names)
        names, spec = self.names, self.spec
        private_subnet_ids = network.private_subnet_ids
        self.key = CustomerManagedKey(
            self,
            "key",
            names=names,
            purpose="cluster",
            description=f"{names.cluster_name} Kubernetes secrets envelope encryption and control-plane logs",
            statements=[log_service_statement(names)],
        )
        self.control_plane = ControlPlane(
            self,
            "control_plane",
            spec=spec,
            names=names,
            key=self.key,
            subnet_ids=private_subnet_ids,
            argocd_source_cidrs=argocd_source_cidrs,
        )
        cluster = self.control_plane.cluster
        addons = ClusterAddons(self, "addons", spec=spec, names=names, cluster=cluster)
        self.nodes = ManagedNodeGroups(
            self,
            "nodes",
            names=names,
            cluster=cluster,
            groups=spec.cluster.node_groups,
            subnet_ids=private_subnet_ids,
            depends_on=addons.before_nodes,
            release_version=spec.cluster.node_ami_release_version,
        )
        addons.add_after_nodes(self.nodes.groups)
        controller = PodIdentity(
            self,
            "load_balancer_controller",
            names=names,
            cluster_name=cluster.name,
            service_account=names.load_balancer_controller_service_account,
            purpose="aws-load-balancer-controller",
            permissions=load_balancer_controller_statements(names, network.vpc_id),
        )
        skip_check(
            controller.role.permissions,
            "CKV_AWS_356",
            "on '*' only the reads (Describe/List/Get take no resource) and the upstream WAF/Shield/certificate "
            "integration calls; every load balancer, target group and security group write is scoped by tag or ARN",
        )
        skip_check(
            controller.role.permissions,
            "CKV_AWS_111",
            "the upstream controller policy associates WAF web ACLs and Shield protections with the load balancers it "
            "creates, whose ARNs are not known in advance; all other writes are pinned to this cluster's tag or VPC",
        )
        self.container_logs = ContainerLogGroups(
            self, "container_logs", settings=spec.container_logs, names=names, key=self.key, cluster_name=cluster.name
        )
        self.karpenter = KarpenterResources(
            self,
            "karpenter",
            names=names,
            cluster=cluster,
            key_arn=self.key.arn,
            node_security_group_id=self.control_plane.security_group_id,
        )
        if spec.cluster.api_access_host:
            self.api_access = ApiAccessHost(
                self,
                "api_access",
                names=names,
                vpc_id=network.vpc_id,
                vpc_cidr=str(spec.network.vpc_cidr),
                subnet_ids=private_subnet_ids,
                cluster_security_group_id=self.control_plane.security_group_id,
            )
            self.output(
                "api_access_instance_id",
                self.api_access.instance_id,
                "Session Manager target for port forwarding to the private Kubernetes API (docs/cluster.md)",
            )

        if names.is_standby:
            self.argocd = ArgoCdRegistration(
                self,
                "argocd",
                names=names,
                cluster=cluster,
                registration_provider=self.dr_provider,
            )
        self.cluster_name: str = cluster.name
        self.node_security_group_id: str = self.control_plane.security_group_id
        self.container_log_group_names: dict[str, str] = {purpose: group.name for purpose, group in self.container_logs.groups.items()}

        self.output("cluster_name", cluster.name, "Name of the EKS cluster")
        self.output("cluster_arn", cluster.arn, "ARN of the EKS cluster")
        self.output("cluster_endpoint", cluster.endpoint, "Kubernetes API endpoint (private; public only for the spec's CIDRs)")
        self.output(
            "cluster_certificate_authority", cluster.certificate_authority.get(0).data, "Cluster CA bundle (base64), for kubeconfig"
        )
        self.output("cluster_security_group_id", self.control_plane.security_group_id, "Security group of control plane and nodes")
        self.output("node_role_arn", self.nodes.role.arn, "IAM role of the managed nodes")
        self.output("karpenter_node_role_arn", self.karpenter.node_role.arn, "IAM role of the nodes Karpenter launches")
        self.output(
            "container_log_groups",
            {purpose: group.name for purpose, group in self.container_logs.groups.items()},
            "CloudWatch Logs groups of the log agent by purpose (application, dataplane, host)",
        )
        self.output("karpenter_interruption_queue_url", self.karpenter.queue.url, "SQS queue of Karpenter's interruption events")
