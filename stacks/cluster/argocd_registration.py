"""`ArgoCdRegistration`: what the primary's Argo CD needs to manage the standby cluster, with no token anywhere.

Argo CD reaches an EKS cluster through IAM: its cluster Secret's `config.awsAuthConfig.clusterName` makes the
application controller and the API server sign an STS `GetCallerIdentity` request with their own AWS
credentials (argoproj/argo-cd v3.5.1 `cmd/argocd-k8s-auth/commands/aws.go`; the cluster's API server maps the
signed identity through its access entries). So:

- an IAM role `<env_prefix>-argocd-dr`, assumable only by EKS Pod Identity for `argocd/argocd-application-controller`
  and `argocd/argocd-server` of the primary cluster, associated there (in the primary region);
- an access entry for that role on the standby cluster, with cluster admin (Argo CD installs CRDs, webhooks and
  cluster roles there, as on the primary where it runs in-cluster);
- the standby's API endpoint and CA (public values, not credentials) in a Secrets Manager secret of the primary
  region, from which an ExternalSecret renders Argo CD's cluster Secret (charts/gitops_dr.py).

The role needs no permission policy: `GetCallerIdentity` is allowed for every identity (IAM user guide,
"GetCallerIdentity": "No permissions are required to perform this operation").
"""

from __future__ import annotations

from cdktf import Fn
from cdktf_cdktf_provider_aws.data_aws_kms_alias import DataAwsKmsAlias
from cdktf_cdktf_provider_aws.eks_cluster import EksCluster
from cdktf_cdktf_provider_aws.eks_pod_identity_association import EksPodIdentityAssociation
from cdktf_cdktf_provider_aws.secretsmanager_secret import SecretsmanagerSecret
from cdktf_cdktf_provider_aws.secretsmanager_secret_version import SecretsmanagerSecretVersion
from constructs import Construct

from envspec import Names
from envspec.naming import ARGOCD_NAMESPACE
from stacks.checkov import skip_check
from stacks.cluster.control_plane import cluster_admin_access
from stacks.iam import Role, service_trust, source_account
from stacks.policy import Condition

# The Argo CD components that talk to managed clusters (install.yaml at v3.5.1: their ServiceAccounts).
ARGOCD_SERVICE_ACCOUNTS = ("argocd-application-controller", "argocd-server")


class ArgoCdRegistration(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, names: Names, cluster: EksCluster, registration_provider: object):
        super().__init__(scope, construct_id)
        primary_cluster = f"{names.env_prefix}"
        primary_cluster_arn = f"arn:aws:eks:{names.primary_region}:{names.account}:cluster/{primary_cluster}"
        self.role = Role(
            self,
            "role",
            name=names.argocd_dr_manager_role,
            description=f"Argo CD of {primary_cluster} managing {names.cluster_name}",
            trust=[
                service_trust(
                    "pods.eks.amazonaws.com",
                    source_account(names.account),
                    Condition("StringEquals", "aws:RequestTag/eks-cluster-arn", [primary_cluster_arn]),
                    Condition("StringEquals", "aws:RequestTag/kubernetes-namespace", [ARGOCD_NAMESPACE]),
                    Condition("StringEquals", "aws:RequestTag/kubernetes-service-account", list(ARGOCD_SERVICE_ACCOUNTS)),
                    tag_session=True,
                )
            ],
        )
        self.associations = [
            EksPodIdentityAssociation(
                self,
                f"association_{account.replace('-', '_')}",
                cluster_name=primary_cluster,
                namespace=ARGOCD_NAMESPACE,
                service_account=account,
                role_arn=self.role.arn,
                tags={"Name": f"{names.argocd_dr_manager_role}-{account}"},
                provider=registration_provider,
            )
            for account in ARGOCD_SERVICE_ACCOUNTS
        ]
        self.access = cluster_admin_access(self, "argocd", cluster_name=cluster.name, principal_arn=self.role.arn)
        # The primary data stack's key of the application secrets (External Secrets there may decrypt with it).
        key = DataAwsKmsAlias(self, "secrets_key", name=f"alias/{names.env_prefix}-secrets", provider=registration_provider)
        self.secret = SecretsmanagerSecret(
            self,
            "secret",
            name=names.argocd_dr_cluster_secret,
            description=f"API endpoint and CA of {names.cluster_name} for Argo CD's cluster Secret (no credential)",
            kms_key_id=key.target_key_arn,
            recovery_window_in_days=7,
            tags={"Name": names.argocd_dr_cluster_secret},
            provider=registration_provider,
        )
        skip_check(
            self.secret,
            "CKV2_AWS_57",
            "holds the cluster's endpoint and CA certificate, which EKS sets and nobody rotates; no credential",
        )
        SecretsmanagerSecretVersion(
            self,
            "value",
            secret_id=self.secret.id,
            secret_string=Fn.jsonencode(
                {
                    "name": names.cluster_name,
                    "server": cluster.endpoint,
                    "caData": cluster.certificate_authority.get(0).data,
                    "clusterName": names.cluster_name,
                }
            ),
            provider=registration_provider,
        )
