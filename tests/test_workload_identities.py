"""Pod Identity: exactly the agreed service accounts get an AWS role, each trusted only for itself
and allowed only what it needs of this environment's resources."""

from __future__ import annotations

from typing import Any

import pytest

from envspec import names_for
from envspec.naming import KUBE_SYSTEM
from envspec.topology import AI_WORKER, BACKEND
from tests.conftest import ENVIRONMENTS, SPECS, Synthesis, data_of, ref, resources_of

POD_IDENTITY_LAYERS = ("cluster", "data")


def _document(stack: dict[str, Any], expression: str) -> list[dict[str, Any]]:
    return data_of(stack, "aws_iam_policy_document")[ref(expression)]["statement"]


def _identities(synthesis: Synthesis, env: str) -> dict[tuple[str, str], tuple[str, dict[str, Any], dict[str, Any]]]:
    """(namespace, service account) -> (layer, role, its stack) for every association, add-ons' included."""
    found = {}
    for layer in POD_IDENTITY_LAYERS:
        stack = synthesis.stack(f"{env}-{layer}")
        roles = resources_of(stack, "aws_iam_role")
        for association in resources_of(stack, "aws_eks_pod_identity_association").values():
            key = (association["namespace"], association["service_account"])
            assert key not in found, f"two associations for {key}"
            found[key] = (layer, roles[ref(association["role_arn"])], stack)
        for addon in resources_of(stack, "aws_eks_addon").values():
            for association in addon.get("pod_identity_association", []):
                key = (KUBE_SYSTEM, association["service_account"])  # add-ons run in kube-system
                assert key not in found, f"two associations for {key}"
                found[key] = (layer, roles[ref(association["role_arn"])], stack)
    return found


def _permissions(stack: dict[str, Any], role: dict[str, Any]) -> list[dict[str, Any]]:
    role_id = next(logical for logical, candidate in resources_of(stack, "aws_iam_role").items() if candidate is role)
    policies = [policy for policy in resources_of(stack, "aws_iam_role_policy").values() if ref(policy["role"]) == role_id]
    return [statement for policy in policies for statement in _document(stack, policy["policy"])]


def _managed(stack: dict[str, Any], role: dict[str, Any]) -> list[str]:
    role_id = next(logical for logical, candidate in resources_of(stack, "aws_iam_role").items() if candidate is role)
    return sorted(a["policy_arn"] for a in resources_of(stack, "aws_iam_role_policy_attachment").values() if ref(a["role"]) == role_id)


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_pod_identities_for_exactly_the_agreed_service_accounts(env: str, synthesis: Synthesis) -> None:
    names = names_for(SPECS[env])
    agreed = {
        names.app_service_account(BACKEND),
        names.app_service_account(AI_WORKER),
        names.external_secrets_service_account,
        names.load_balancer_controller_service_account,
        names.ebs_csi_service_account,
        names.karpenter_service_account,
        names.log_agent_service_account,
    }
    identities = _identities(synthesis, env)
    # vpc-cni's aws-node is the one addition: its CNI permissions stay off the node role.
    assert set(identities) == {(sa.namespace, sa.name) for sa in agreed} | {(KUBE_SYSTEM, "aws-node")}
    for (namespace, service_account), (_, role, stack) in identities.items():
        (trust,) = _document(stack, role["assume_role_policy"])
        assert trust["effect"] == "Allow"
        assert trust["principals"] == [{"type": "Service", "identifiers": ["pods.eks.amazonaws.com"]}]
        assert sorted(trust["actions"]) == ["sts:AssumeRole", "sts:TagSession"]
        conditions = {(c["test"], c["variable"]): c["values"] for c in trust["condition"]}
        assert conditions == {
            ("StringEquals", "aws:SourceAccount"): [SPECS[env].aws.account_id],
            ("StringEquals", "aws:RequestTag/eks-cluster-arn"): [names.cluster_arn],
            ("StringEquals", "aws:RequestTag/kubernetes-namespace"): [namespace],
            ("StringEquals", "aws:RequestTag/kubernetes-service-account"): [service_account],
        }, (namespace, service_account)
    assert all(role["name"].startswith(f"{names.prefix}-") for _, role, _ in identities.values())


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_add_on_identities_use_only_their_aws_managed_policy(env: str, synthesis: Synthesis) -> None:
    identities = _identities(synthesis, env)
    for account, policy in (("aws-node", "AmazonEKS_CNI_Policy"), ("ebs-csi-controller-sa", "service-role/AmazonEBSCSIDriverPolicy")):
        _, role, stack = identities[(KUBE_SYSTEM, account)]
        assert _managed(stack, role) == [f"arn:aws:iam::aws:policy/{policy}"]
        assert not _permissions(stack, role)


def _resource_refs(statements: list[dict[str, Any]], action: str) -> set[str]:
    return {resource for statement in statements if action in statement["actions"] for resource in statement["resources"]}


def _logical(stack: dict[str, Any], resource_type: str, attribute: str, value: str) -> str:
    (logical,) = [logical for logical, body in resources_of(stack, resource_type).items() if body.get(attribute) == value]
    return logical


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_application_identities_reach_only_their_own_resources(env: str, synthesis: Synthesis) -> None:
    names, stack = names_for(SPECS[env]), synthesis.stack(f"{env}-data")
    identities = _identities(synthesis, env)
    files = f"${{aws_s3_bucket.{_logical(stack, 'aws_s3_bucket', 'bucket', names.bucket('files'))}.arn}}"
    secret = {}
    for binding in names.synced_secrets:
        logical = _logical(stack, "aws_secretsmanager_secret", "name", binding.remote_name)
        secret[binding.kubernetes_name] = f"${{aws_secretsmanager_secret.{logical}.arn}}"
    keys = {
        alias["name"].rsplit("-", 1)[1]: f"${{aws_kms_key.{ref(alias['target_key_id'])}.arn}}"
        for alias in resources_of(stack, "aws_kms_alias").values()
        if "provider" not in alias
    }

    backend = _permissions(stack, identities[("ai-subsidy", BACKEND.service_account)][1])
    assert _resource_refs(backend, "s3:PutObject") == {f"{files}/*"}
    assert _resource_refs(backend, "s3:ListBucket") == {files}
    # No database credential: its login reaches it only through External Secrets (database-secret).
    assert _resource_refs(backend, "secretsmanager:GetSecretValue") == {secret[n] for n in ("redis-secret", "ai-keys-secret")}

    worker = _permissions(stack, identities[("ai-subsidy", AI_WORKER.service_account)][1])
    assert _resource_refs(worker, "s3:GetObject") == {f"{files}/*"}
    assert _resource_refs(worker, "s3:PutObject") == {f"{files}/generated/*"}
    assert not _resource_refs(worker, "s3:DeleteObject")
    # What it uses (envspec.topology): Redis (its job queue) and the OpenAI key; its login comes through External Secrets.
    assert _resource_refs(worker, "secretsmanager:GetSecretValue") == {secret[n] for n in ("redis-secret", "ai-keys-secret")}

    external_secrets = _permissions(stack, identities[("external-secrets", "external-secrets")][1])
    readable = _resource_refs(external_secrets, "secretsmanager:GetSecretValue")
    # With a standby also Argo CD's registration of the standby cluster (stacks/cluster/argocd_registration.py).
    registration = {names.secret_arn(names.argocd_dr_cluster_secret)} if SPECS[env].dr.has_standby else set()
    assert readable == set(secret.values()) | {f"arn:aws:secretsmanager:{names.region}:{names.account}:secret:rds!db-*"} | registration
    assert all(n.startswith(f"ai-subsidy/{env}/") for n in (b.remote_name for b in names.synced_secrets))
    (rds,) = [s for s in external_secrets if "rds!db-*" in s["resources"][0]]
    assert rds["condition"] == [
        {"test": "StringEquals", "variable": "secretsmanager:ResourceTag/aws:rds:primaryDBInstanceArn", "values": [names.database_arn]}
    ]

    for statements, expected in (
        (backend, {keys["data"], keys["secrets"]}),
        (worker, {keys["data"], keys["secrets"]}),
        (external_secrets, {keys["secrets"]}),
    ):
        kms = [s for s in statements if any(a.startswith("kms:") for a in s["actions"])]
        assert {r for s in kms for r in s["resources"]} == expected
        assert all(c["variable"] == "kms:ViaService" for s in kms for c in s["condition"])
        wildcard = [s for s in statements if "*" in s["resources"]]
        assert [s["actions"] for s in wildcard] in ([], [["secretsmanager:ListSecrets"]]), "only ListSecrets takes no resource"
