"""Contracts between the layers: what the Kubernetes manifests expect, the Terraform side provides.

- every Secret a pod reads is produced by an ExternalSecret in its namespace, and every remote secret
  that ExternalSecret reads is one the Terraform side creates for the same environment;
- every ServiceAccount of a pod that calls AWS has a Pod Identity association for exactly that
  namespace/name; the others mount no token;
- Services select their Deployment's pods, every probe, Service and NetworkPolicy port is one the
  container declares, and the names are the ones the runbooks type.
"""

from __future__ import annotations

from typing import Any

import pytest

from envspec import names_for
from envspec.naming import APP_NAMESPACE, COMPONENTS
from tests.conftest import ENVIRONMENTS, SPECS, Synthesis, resources_of


def _pod_templates(manifests: list[dict[str, Any]]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(owner object, pod template spec) of every Deployment and Job."""
    return [(doc, doc["spec"]["template"]["spec"]) for doc in manifests if doc["kind"] in ("Deployment", "Job")]


def _secrets_read(pod: dict[str, Any]) -> set[str]:
    names = {ref["name"] for ref in pod.get("imagePullSecrets", [])}
    for container in pod["containers"]:
        names |= {
            item["valueFrom"]["secretKeyRef"]["name"] for item in container.get("env", []) if "secretKeyRef" in item.get("valueFrom", {})
        }
        names |= {item["secretRef"]["name"] for item in container.get("envFrom", []) if "secretRef" in item}
    for volume in pod.get("volumes", []):
        if "secret" in volume:
            names.add(volume["secret"]["secretName"])
    return names


def _terraform_secrets(synthesis: Synthesis, env: str) -> set[str]:
    return {secret["name"] for secret in resources_of(synthesis.stack(f"{env}-data"), "aws_secretsmanager_secret").values()}


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_secret_a_pod_reads_comes_from_an_external_secret(env: str, synthesis: Synthesis) -> None:
    manifests = synthesis.manifests(env)
    produced = {(doc["metadata"]["namespace"], doc["spec"]["target"]["name"]): doc for doc in manifests if doc["kind"] == "ExternalSecret"}
    used = {(owner["metadata"]["namespace"], name) for owner, pod in _pod_templates(manifests) for name in _secrets_read(pod)}
    assert used, "no pod reads a Secret"
    missing = used - set(produced)
    assert not missing, f"Secrets read but produced by no ExternalSecret: {sorted(missing)}"
    for owner, pod in _pod_templates(manifests):
        for container in pod["containers"]:
            for item in container.get("env", []):
                ref = item.get("valueFrom", {}).get("secretKeyRef")
                if ref:
                    external = produced[(owner["metadata"]["namespace"], ref["name"])]
                    keys = set(external["spec"]["target"].get("template", {}).get("data", {})) or {
                        data["secretKey"] for data in external["spec"].get("data", [])
                    }
                    assert ref["key"] in keys, f"{ref['name']} has no key {ref['key']}"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_remote_secret_is_created_by_terraform(env: str, synthesis: Synthesis) -> None:
    created = _terraform_secrets(synthesis, env)
    names = names_for(SPECS[env])
    database = next(
        doc
        for doc in resources_of(synthesis.stack(f"{env}-data"), "aws_db_instance").values()
        if doc["identifier"] == names.database_identifier
    )
    for external in (doc for doc in synthesis.manifests(env) if doc["kind"] == "ExternalSecret"):
        spec = external["spec"]
        assert spec["secretStoreRef"] == {"kind": "ClusterSecretStore", "name": "aws-secrets-manager"}
        for data in spec.get("data", []):
            assert data["remoteRef"]["key"] in created, f"{external['metadata']['name']} reads {data['remoteRef']['key']}"
        for source in spec.get("dataFrom", []):
            if "extract" in source:
                assert source["extract"]["key"] in created
            else:
                # The RDS-managed master secret of exactly this environment's instance, found by its tag.
                assert source["find"]["tags"] == {"aws:rds:primaryDBInstanceArn": names.database_arn}
                assert database["manage_master_user_password"] is True


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_service_accounts_that_call_aws_have_a_pod_identity(env: str, synthesis: Synthesis) -> None:
    associations = {
        (association["namespace"], association["service_account"])
        for layer in ("cluster", "data")
        for association in resources_of(synthesis.stack(f"{env}-{layer}"), "aws_eks_pod_identity_association").values()
    }
    for owner, pod in _pod_templates(synthesis.manifests(env)):
        account = (owner["metadata"]["namespace"], pod["serviceAccountName"])
        if pod["automountServiceAccountToken"]:
            assert account in associations, f"{owner['metadata']['name']} mounts a token but {account} has no Pod Identity"
        else:
            assert account not in associations, f"{account} has an AWS identity it cannot use"
    for component in COMPONENTS:
        account = (APP_NAMESPACE, component.service_account)
        assert (account in associations) is component.needs_aws, component.name


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_services_select_their_pods_and_ports_are_declared(env: str, synthesis: Synthesis) -> None:
    manifests = synthesis.manifests(env)
    deployments = {doc["metadata"]["name"]: doc for doc in manifests if doc["kind"] == "Deployment"}
    for service in (doc for doc in manifests if doc["kind"] == "Service"):
        selected = [
            d for d in deployments.values() if service["spec"]["selector"].items() <= d["spec"]["template"]["metadata"]["labels"].items()
        ]
        assert len(selected) == 1, f"{service['metadata']['name']} selects {len(selected)} Deployments"
        declared = {p["containerPort"] for c in selected[0]["spec"]["template"]["spec"]["containers"] for p in c["ports"]}
        assert {port["targetPort"] for port in service["spec"]["ports"]} <= declared
    for deployment in deployments.values():
        for container in deployment["spec"]["template"]["spec"]["containers"]:
            declared = {p["containerPort"] for p in container["ports"]} | {p["name"] for p in container["ports"]}
            for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
                assert container[probe]["httpGet"]["port"] in declared, f"{deployment['metadata']['name']} {probe}"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_network_policy_ports_are_declared_by_the_pods_they_select(env: str, synthesis: Synthesis) -> None:
    manifests = synthesis.manifests(env)
    pods = [
        (doc["spec"]["template"]["metadata"]["labels"], doc["spec"]["template"]["spec"]) for doc in manifests if doc["kind"] == "Deployment"
    ]
    for policy in (doc for doc in manifests if doc["kind"] == "NetworkPolicy"):
        selector = policy["spec"]["podSelector"].get("matchLabels", {})
        for labels, pod in pods:
            if selector and selector.items() <= labels.items():
                declared = {p["containerPort"] for c in pod["containers"] for p in c["ports"]}
                for rule in policy["spec"].get("ingress", []):
                    assert {port["port"] for port in rule["ports"]} <= declared, policy["metadata"]["name"]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_names_the_runbooks_type(env: str, synthesis: Synthesis) -> None:
    """`kubectl rollout restart deployment/ai-subsidy-backend -n ai-subsidy` and friends must work."""
    manifests = [doc for doc in synthesis.manifests(env) if doc["metadata"].get("namespace") == "ai-subsidy"]
    assert {doc["metadata"]["name"] for doc in manifests if doc["kind"] == "Deployment"} == {
        "ai-subsidy-backend",
        "ai-subsidy-frontend",
        "ai-worker",
    }
    assert {doc["metadata"]["name"] for doc in manifests if doc["kind"] == "Service"} == {
        "ai-subsidy-backend-service",
        "ai-subsidy-frontend-service",
    }
