"""EKS control plane: private API endpoint, envelope-encrypted secrets, audit logging, access entries."""

from __future__ import annotations

from collections.abc import Sequence

from cdktf_cdktf_provider_aws.eks_access_entry import EksAccessEntry
from cdktf_cdktf_provider_aws.eks_access_policy_association import (
    EksAccessPolicyAssociation,
    EksAccessPolicyAssociationAccessScope,
)
from cdktf_cdktf_provider_aws.eks_cluster import (
    EksCluster,
    EksClusterAccessConfig,
    EksClusterEncryptionConfig,
    EksClusterEncryptionConfigProvider,
    EksClusterUpgradePolicy,
    EksClusterVpcConfig,
    EksClusterZonalShiftConfig,
)
from constructs import Construct

from envspec import EnvironmentSpec, Names
from stacks.checkov import skip_check
from stacks.iam import AWS_MANAGED, Role, service_trust
from stacks.kms import CustomerManagedKey
from stacks.logs import encrypted_log_group

CONTROL_PLANE_LOGS = ("api", "audit", "authenticator", "controllerManager", "scheduler")
CLUSTER_ADMIN_POLICY = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"


def cluster_admin_access(scope: Construct, construct_id: str, *, cluster_name: str, principal_arn: str) -> EksAccessPolicyAssociation:
    """An access entry (API authentication mode, no aws-auth ConfigMap) granting cluster admin."""
    entry = EksAccessEntry(scope, f"{construct_id}_entry", cluster_name=cluster_name, principal_arn=principal_arn, type="STANDARD")
    return EksAccessPolicyAssociation(
        scope,
        f"{construct_id}_admin",
        cluster_name=cluster_name,
        principal_arn=entry.principal_arn,
        policy_arn=CLUSTER_ADMIN_POLICY,
        access_scope=EksAccessPolicyAssociationAccessScope(type="cluster"),
    )


class ControlPlane(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        spec: EnvironmentSpec,
        names: Names,
        key: CustomerManagedKey,
        subnet_ids: Sequence[str],
        argocd_source_cidrs: Sequence[str] = (),
    ):
        """`argocd_source_cidrs`: the addresses a managing Argo CD outside this VPC connects from (the
        standby's: the primary's NAT gateways), admitted to the public endpoint beside the spec's ranges."""
        super().__init__(scope, construct_id)
        office_cidrs = [str(cidr) for cidr in spec.cluster.public_access_cidrs]
        public_cidrs = office_cidrs + list(argocd_source_cidrs)
        # Created first so EKS writes into an encrypted group with a retention, not one of its own.
        self.log_group = encrypted_log_group(
            self, "log_group", name=f"/aws/eks/{names.cluster_name}/cluster", retention_days=spec.cluster.log_retention_days, key=key
        )
        self.role = Role(
            self,
            "role",
            name=f"{names.prefix}-eks-cluster",
            description=f"EKS control plane of {names.cluster_name}",
            trust=[service_trust("eks.amazonaws.com", tag_session=True)],
            managed_policies=[f"{AWS_MANAGED}AmazonEKSClusterPolicy"],
        )
        self.cluster = EksCluster(
            self,
            "cluster",
            name=names.cluster_name,
            version=spec.cluster.version,
            role_arn=self.role.arn,
            vpc_config=EksClusterVpcConfig(
                subnet_ids=list(subnet_ids),
                endpoint_private_access=True,
                endpoint_public_access=bool(public_cidrs),
                public_access_cidrs=public_cidrs or None,
            ),
            encryption_config=EksClusterEncryptionConfig(
                resources=["secrets"], provider=EksClusterEncryptionConfigProvider(key_arn=key.arn)
            ),
            enabled_cluster_log_types=list(CONTROL_PLANE_LOGS),
            access_config=EksClusterAccessConfig(authentication_mode="API", bootstrap_cluster_creator_admin_permissions=False),
            upgrade_policy=EksClusterUpgradePolicy(support_type="STANDARD"),
            # ARC zonal shift: an impaired zone's nodes stop receiving traffic (EKS User Guide, "zonal shift").
            zonal_shift_config=EksClusterZonalShiftConfig(enabled=True),
            tags={"Name": names.cluster_name},
            depends_on=[self.log_group],
        )
        if argocd_source_cidrs:
            skip_check(
                self.cluster,
                "CKV_AWS_39",
                "the primary's Argo CD manages this standby from the primary's VPC, which has no private path here: the "
                "public endpoint admits only the primary's NAT gateway addresses (/32, this account's Elastic IPs)"
                + (f" and the spec's office/VPN ranges ({', '.join(office_cidrs)})" if office_cidrs else "")
                + "; every request still needs an IAM identity with an access entry",
            )
        elif public_cidrs:
            skip_check(
                self.cluster,
                "CKV_AWS_39",
                f"public endpoint open only to the spec's office/VPN ranges ({', '.join(public_cidrs)}); production is private-only",
            )
        # Cluster admins: the platform team's role, and the GitHub deploy role of the `<env>-ci` stack, named
        # from naming.py (an access entry belongs with its cluster). EKS refuses an entry for a role that
        # does not exist: the ci stack reads nothing from other stacks and is applied before this one
        # when an environment is bootstrapped (docs/bootstrap.md, "Bootstrap").
        cluster_admin_access(
            self, "platform_admin", cluster_name=self.cluster.name, principal_arn=names.role_arn(spec.cluster.admin_role_name)
        )
        cluster_admin_access(self, "deploy_role", cluster_name=self.cluster.name, principal_arn=names.role_arn(names.deploy_role))

    @property
    def security_group_id(self) -> str:
        """The cluster security group EKS creates; control plane and managed nodes (hence pods) carry it."""
        return self.cluster.vpc_config.cluster_security_group_id
