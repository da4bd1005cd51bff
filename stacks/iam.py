"""IAM roles: a role with its trust policy, inline policy and managed policies; Pod Identity roles."""

from __future__ import annotations

from collections.abc import Sequence

from cdktf import TerraformStack
from cdktf_cdktf_provider_aws.eks_pod_identity_association import EksPodIdentityAssociation
from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.iam_role_policy import IamRolePolicy
from cdktf_cdktf_provider_aws.iam_role_policy_attachment import IamRolePolicyAttachment
from constructs import Construct

from envspec import Names
from envspec.naming import ServiceAccountRef
from stacks.policy import Condition, Statement, policy_document

AWS_MANAGED = "arn:aws:iam::aws:policy/"


def service_trust(service: str, *conditions: Condition, tag_session: bool = False) -> Statement:
    """Trust statement for an AWS service principal. Confused-deputy conditions (aws:SourceAccount,
    aws:SourceArn) only where the service documents that it sends them: a condition on a key the
    service does not send denies the service."""
    return Statement(
        sid="ServiceAssumesRole",
        actions=["sts:AssumeRole", "sts:TagSession"] if tag_session else ["sts:AssumeRole"],
        principals={"Service": [service]},
        conditions=list(conditions),
    )


def source_account(account: str) -> Condition:
    return Condition("StringEquals", "aws:SourceAccount", [account])


class Role(Construct):
    """An IAM role: trust policy, an optional inline policy, optional AWS managed policies.

    Every role carries the environment's permissions boundary (`names.permissions_boundary_arn`,
    created by the ci stack): the deploy role may create and change roles only with it, so no
    role it manages can do more than the boundary allows. `boundary_arn` overrides the ARN with a
    reference where the boundary is created in the same stack; `bounded=False` only for the deploy
    role, which an administrator creates and which must write IAM.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        name: str,
        description: str,
        trust: Sequence[Statement],
        permissions: Sequence[Statement] = (),
        managed_policies: Sequence[str] = (),
        bounded: bool = True,
        boundary_arn: str | None = None,
    ):
        super().__init__(scope, construct_id)
        trust_document = policy_document(self, "trust", statements=trust)
        boundary = None
        if bounded:
            stack = TerraformStack.of(self)
            boundary = boundary_arn or stack.names.permissions_boundary_arn  # type: ignore[attr-defined]
        self.role = IamRole(
            self,
            "role",
            name=name,
            description=description,
            assume_role_policy=trust_document.json,
            permissions_boundary=boundary,
            tags={"Name": name},
        )
        self.policy: IamRolePolicy | None = None
        if permissions:
            self.permissions = policy_document(self, "permissions", statements=permissions)
            self.policy = IamRolePolicy(self, "policy", name=name, role=self.role.id, policy=self.permissions.json)
        for index, policy in enumerate(managed_policies):
            IamRolePolicyAttachment(self, f"managed_{index}", role=self.role.name, policy_arn=policy)

    @property
    def arn(self) -> str:
        return self.role.arn


def pod_identity_trust(names: Names, service_account: ServiceAccountRef) -> Statement:
    """Only EKS Pod Identity, for this one service account of this cluster in this account, may assume
    the role. Pod Identity passes the cluster, namespace and service account as session tags
    (`aws:RequestTag/...`), which is how the EKS user guide scopes these roles; `aws:SourceArn` is not
    the cluster's ARN in these requests and is not used."""
    return service_trust(
        "pods.eks.amazonaws.com",
        source_account(names.account),
        Condition("StringEquals", "aws:RequestTag/eks-cluster-arn", [names.cluster_arn]),
        Condition("StringEquals", "aws:RequestTag/kubernetes-namespace", [service_account.namespace]),
        Condition("StringEquals", "aws:RequestTag/kubernetes-service-account", [service_account.name]),
        tag_session=True,
    )


class PodIdentity(Construct):
    """A role that only EKS Pod Identity may assume for this cluster, associated with one service account."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        names: Names,
        cluster_name: str,
        service_account: ServiceAccountRef,
        purpose: str,
        permissions: Sequence[Statement] = (),
        managed_policies: Sequence[str] = (),
    ):
        super().__init__(scope, construct_id)
        self.service_account = service_account
        self.role = Role(
            self,
            "role",
            name=f"{names.prefix}-{purpose}",
            description=f"Pod Identity of {service_account.namespace}/{service_account.name} in {names.cluster_name}",
            trust=[pod_identity_trust(names, service_account)],
            permissions=permissions,
            managed_policies=managed_policies,
        )
        self.association = EksPodIdentityAssociation(
            self,
            "association",
            cluster_name=cluster_name,
            namespace=service_account.namespace,
            service_account=service_account.name,
            role_arn=self.role.arn,
            tags={"Name": f"{names.prefix}-{purpose}"},
        )
