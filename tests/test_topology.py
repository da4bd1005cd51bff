"""One topology table (envspec/topology.py), and every layer's grants derived from it, checked on the
synthesized output: a pod gets only the Secrets its component needs, its role may read only those
(less the database logins), it may reach a data store only when it holds that store's Secret, and the
stores' security groups admit their port from the cluster's pods only.

What the real systems do with these grants:
- Kubernetes puts a `secretKeyRef`'s value into the container's environment (Kubernetes docs,
  "Distribute Credentials Securely Using Secrets", "Define container environment variables using
  Secret data"): a pod holds every Secret its containers name.
- `secretsmanager:GetSecretValue` is authorized against the secret's ARN (AWS Secrets Manager User
  Guide, "Actions, resources, and context keys for AWS Secrets Manager": resource type `Secret`), so a
  role whose statement lists a secret's ARN can read it, whatever the pod's environment says.
- The EKS network policy agent admits only the ports an egress rule lists (Kubernetes docs, "Network
  Policies": "each rule allows traffic which matches both the to and ports sections").
Before the table, the AI worker's pod received the Redis URL while its role could read only the
OpenAI key: the role test below fails on that output.
"""

from __future__ import annotations

from typing import Any

import pytest

from envspec import names_for
from envspec.topology import (
    APPLICATION_SECRETS,
    COMPONENTS,
    DataStore,
    Egress,
    FilesAccess,
    store_clients,
)
from tests.conftest import ENVIRONMENTS, SPECS, Synthesis, resources_of
from tests.test_workload_identities import _identities, _permissions, _resource_refs

SECRET_ACTIONS = ("secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret")


def _container_secrets(deployment: dict[str, Any]) -> set[str]:
    spec = deployment["spec"]["template"]["spec"]
    found = set()
    for container in spec["containers"] + spec.get("initContainers", []):
        found |= {item["valueFrom"]["secretKeyRef"]["name"] for item in container.get("env", []) if "valueFrom" in item}
        sources = container.get("envFrom", [])
        assert all("secretRef" not in source for source in sources), "a whole Secret in the environment is not in the topology"
    return found


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_each_pod_receives_exactly_its_components_secrets(env: str, synthesis: Synthesis) -> None:
    for component in COMPONENTS:
        (deployment,) = synthesis.find(env, "Deployment", component.name)
        assert _container_secrets(deployment) == set(component.secrets), component.name
        pulled = {secret["name"] for secret in deployment["spec"]["template"]["spec"].get("imagePullSecrets", [])}
        assert pulled == {"registry-secret"}


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_each_role_reads_only_the_secrets_its_pod_uses_less_the_logins(env: str, synthesis: Synthesis) -> None:
    names, stack = names_for(SPECS[env]), synthesis.stack(f"{env}-data")
    by_name = {body["name"]: logical for logical, body in resources_of(stack, "aws_secretsmanager_secret").items()}
    arn = {b.kubernetes_name: f"${{aws_secretsmanager_secret.{by_name[b.remote_name]}.arn}}" for b in names.app_secrets}
    identities = _identities(synthesis, env)
    for component in COMPONENTS:
        key = (names.app_service_account(component).namespace, component.service_account)
        if not component.needs_aws:
            assert key not in identities, f"{component.name} calls no AWS API and gets no role"
            continue
        _, role, role_stack = identities[key]
        statements = _permissions(role_stack, role)
        pod_secrets = set(component.secrets)
        logins = {secret.kubernetes_name for secret in APPLICATION_SECRETS if secret.login}
        for action in SECRET_ACTIONS:
            assert _resource_refs(statements, action) == {arn[name] for name in pod_secrets - logins}, (component.name, action)
        files = _resource_refs(statements, "s3:GetObject")
        assert bool(files) == (component.files is not None), component.name
        writes_everywhere = any(ref.endswith("/*") and "generated" not in ref for ref in _resource_refs(statements, "s3:PutObject"))
        assert writes_everywhere == (component.files is FilesAccess.READ_WRITE), component.name
        assert bool(_resource_refs(statements, "s3:DeleteObject")) == (component.files is FilesAccess.READ_WRITE), component.name


def _egress_ports(policy: dict[str, Any]) -> set[int]:
    return {port["port"] for rule in policy["spec"].get("egress", []) for port in rule.get("ports", [])}


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_a_pod_reaches_a_store_exactly_when_it_holds_the_stores_secret(env: str, synthesis: Synthesis) -> None:
    policies = synthesis.find(env, "NetworkPolicy")
    for component in COMPONENTS:
        (policy,) = [p for p in policies if p["spec"]["podSelector"].get("matchLabels") == component.selector_labels]
        ports = _egress_ports(policy)
        for store in DataStore:
            holds = any(secret.store is store for secret in component.application_secrets)
            assert (store.port in ports) == holds, (component.name, store)
        assert (Egress.AWS_CREDENTIALS in component.egress) == component.needs_aws


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_store_security_groups_admit_their_port_from_the_cluster_only(env: str, synthesis: Synthesis) -> None:
    names, stack = names_for(SPECS[env]), synthesis.stack(f"{env}-data")
    groups = {body["name"]: logical for logical, body in resources_of(stack, "aws_security_group").items()}
    rules = resources_of(stack, "aws_vpc_security_group_ingress_rule").values()
    for store in DataStore:
        assert store_clients(store), store
        group = f"${{aws_security_group.{groups[f'{names.prefix}-{store.purpose}']}.id}}"
        # The rule from the cluster (a remote-state reference); the login rotation function's own rule on the
        # database group references a group of this stack and is tested with the function.
        (rule,) = [
            rule
            for rule in rules
            if rule["security_group_id"] == group and not rule.get("referenced_security_group_id", "").startswith("${aws_security_group.")
        ]
        assert (rule["from_port"], rule["to_port"], rule["ip_protocol"]) == (store.port, store.port, "tcp")
        assert "referenced_security_group_id" in rule and "cidr_ipv4" not in rule
