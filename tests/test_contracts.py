"""Contracts between the Kubernetes manifests, the Terraform stacks and the runbooks.

Kubernetes side: every Secret a pod reads is produced by an ExternalSecret in its namespace, with the
key it reads; Services select their Deployment's pods and target declared ports; probes and network
policies use declared ports; names are the ones people type.

Terraform side (read from the synthesized stacks of the same environment): every Secrets Manager
secret those ExternalSecrets read is created there (the RDS-managed master secret by a database
instance that lets RDS manage its password), and every ServiceAccount that needs AWS has an EKS Pod
Identity association for exactly its namespace and name.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from envspec import names_for
from envspec.naming import APP_NAMESPACE, DATABASE_APP_USER, DATABASE_MIGRATION_USER, LAYERS, RDS_MANAGED_SECRET_TAG
from envspec.topology import COMPONENTS
from tests import kube
from tests.conftest import ENVIRONMENTS, SPECS, Synthesis, resources_of

# --- Kubernetes side ---------------------------------------------------------------------------


def _in_app_namespace(documents: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [doc for doc in documents if doc["metadata"].get("namespace") == APP_NAMESPACE]


def _produced_secrets(manifests: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    """(namespace, Secret name) -> the ExternalSecret that produces it."""
    produced = {}
    for doc in manifests:
        if doc["kind"] == "ExternalSecret":
            target = doc["spec"].get("target", {}).get("name", doc["metadata"]["name"])
            produced[(doc["metadata"]["namespace"], target)] = doc
    return produced


def _produced_keys(external_secret: dict[str, Any]) -> set[str]:
    """Keys of the Secret an ExternalSecret writes: its template's keys when it has template data."""
    template = external_secret["spec"].get("target", {}).get("template", {})
    if template.get("data"):
        return set(template["data"])
    return {item["secretKey"] for item in external_secret["spec"].get("data", [])}


def _secret_references(spec: dict[str, Any]) -> list[tuple[str, str | None]]:
    """(Secret name, key or None for the whole Secret) for every way a pod reads a Secret."""
    references: list[tuple[str, str | None]] = [(item["name"], None) for item in spec.get("imagePullSecrets", [])]
    for container in kube.containers(spec):
        for env in container.get("env", []):
            selector = env.get("valueFrom", {}).get("secretKeyRef")
            if selector:
                references.append((selector["name"], selector["key"]))
        references += [(source["secretRef"]["name"], None) for source in container.get("envFrom", []) if "secretRef" in source]
    references += [(volume["secret"]["secretName"], None) for volume in spec.get("volumes", []) if "secret" in volume]
    return references


def _pod_secret_references(manifests: list[dict[str, Any]]) -> list[tuple[dict[str, Any], str, str | None]]:
    return [(doc, name, key) for doc in kube.workloads(manifests) for name, key in _secret_references(kube.pod_spec(doc))]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_secret_a_pod_reads_is_produced_by_an_external_secret(env: str, synthesis: Synthesis) -> None:
    manifests = synthesis.manifests(env)
    produced = _produced_secrets(manifests)
    references = _pod_secret_references(manifests)
    assert references, "no pod reads a Secret; the contract would be vacuous"
    for doc, name, key in references:
        where = f"{doc['kind']}/{doc['metadata']['name']}"
        external_secret = produced.get((doc["metadata"]["namespace"], name))
        assert external_secret is not None, f"{where} reads Secret {name}, which no ExternalSecret in its namespace produces"
        if key is not None:
            assert key in _produced_keys(external_secret), (
                f"{where} reads {name}/{key}; the ExternalSecret writes {_produced_keys(external_secret)}"
            )


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_no_manifest_holds_a_secret_object(env: str, synthesis: Synthesis) -> None:
    """Secrets exist only in the cluster, written by External Secrets; never in Git."""
    assert not synthesis.find(env, "Secret")


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_external_secrets_read_the_environment_s_own_secrets(env: str, synthesis: Synthesis) -> None:
    names = names_for(SPECS[env])
    for doc in synthesis.find(env, "ExternalSecret"):
        if doc["metadata"]["namespace"] != APP_NAMESPACE:
            continue
        bindings = {binding.kubernetes_name: binding for binding in (*names.app_secrets, names.database_bootstrap_secret)}
        binding = bindings[doc["metadata"]["name"]]
        assert {item["remoteRef"]["key"] for item in doc["spec"]["data"]} == {binding.remote_name}
        for source in doc["spec"].get("dataFrom", []):
            if "find" in source:
                assert source["find"]["tags"] == names.database_master_secret_tags
            else:
                assert source["extract"]["key"] in {b.remote_name for b in names.app_secrets}


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_services_select_their_deployment_s_pods_on_declared_ports(env: str, synthesis: Synthesis) -> None:
    deployments = {doc["metadata"]["name"]: doc for doc in _in_app_namespace(synthesis.find(env, "Deployment"))}
    services = _in_app_namespace(synthesis.find(env, "Service"))
    assert services
    for service in services:
        selector = service["spec"]["selector"]
        selected = [doc for doc in deployments.values() if kube.matches({"matchLabels": selector}, kube.pod_labels(doc))]
        assert len(selected) == 1, f"Service {service['metadata']['name']} selects {len(selected)} Deployments"
        ports = kube.declared_ports(kube.pod_spec(selected[0]))
        for port in service["spec"]["ports"]:
            assert str(port["targetPort"]) in ports, f"{service['metadata']['name']} targets undeclared port {port['targetPort']}"
    for component in COMPONENTS:
        if component.service_name:
            (service,) = [doc for doc in services if doc["metadata"]["name"] == component.service_name]
            assert service["spec"]["selector"] == component.selector_labels
            assert kube.pod_labels(deployments[component.name])["app"] == component.name


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_probe_uses_a_declared_port(env: str, synthesis: Synthesis) -> None:
    probes = 0
    for doc in kube.workloads(synthesis.manifests(env)):
        spec = kube.pod_spec(doc)
        ports = kube.declared_ports(spec)
        for container in kube.containers(spec):
            for kind in ("startupProbe", "readinessProbe", "livenessProbe"):
                probe = container.get(kind)
                if probe is None:
                    continue
                action = probe.get("httpGet") or probe.get("tcpSocket") or probe.get("grpc")
                assert action is not None, f"{doc['metadata']['name']} {kind} has no network action"
                assert str(action["port"]) in ports, f"{doc['metadata']['name']} {kind} probes undeclared port {action['port']}"
                probes += 1
    assert probes >= 9  # three probes on each of the three Deployments


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_network_policy_port_is_declared_by_the_pods_it_concerns(env: str, synthesis: Synthesis) -> None:
    """Ingress ports must be ports of the selected pods; egress ports toward pods, ports of those pods."""
    pods = [
        (doc["metadata"]["namespace"], kube.pod_labels(doc), kube.declared_ports(kube.pod_spec(doc)))
        for doc in kube.workloads(synthesis.manifests(env))
    ]
    for policy in _in_app_namespace(synthesis.find(env, "NetworkPolicy")):
        namespace = policy["metadata"]["namespace"]
        selected = [ports for ns, labels, ports in pods if ns == namespace and kube.matches(policy["spec"]["podSelector"], labels)]
        for rule in policy["spec"].get("ingress", []):
            for entry in rule.get("ports", []):
                assert selected, f"{policy['metadata']['name']} admits traffic to pods that do not exist"
                assert all(str(entry["port"]) in ports for ports in selected), f"{policy['metadata']['name']}: ingress port {entry['port']}"
        for rule in policy["spec"].get("egress", []):
            for peer in rule.get("to", []):
                if "podSelector" not in peer or "namespaceSelector" in peer:
                    continue
                targets = [ports for ns, labels, ports in pods if ns == namespace and kube.matches(peer["podSelector"], labels)]
                assert targets, f"{policy['metadata']['name']} allows egress to pods that do not exist"
                for entry in rule.get("ports", []):
                    assert all(str(entry["port"]) in ports for ports in targets), (
                        f"{policy['metadata']['name']}: egress port {entry['port']}"
                    )


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_egress_pod_selectors_equal_the_service_selector(env: str, synthesis: Synthesis) -> None:
    """The EKS network policy controller allows a Service's ClusterIP only when the Service selector
    equals the egress rule's pod selector; otherwise pod-to-Service traffic is silently dropped."""
    service_selectors = [service["spec"]["selector"] for service in _in_app_namespace(synthesis.find(env, "Service"))]
    for policy in _in_app_namespace(synthesis.find(env, "NetworkPolicy")):
        for rule in policy["spec"].get("egress", []):
            for peer in rule.get("to", []):
                if "podSelector" in peer and "namespaceSelector" not in peer:
                    assert peer["podSelector"]["matchLabels"] in service_selectors, policy["metadata"]["name"]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_names_are_the_ones_the_runbooks_type(env: str, synthesis: Synthesis) -> None:
    """`kubectl rollout restart deployment/ai-subsidy-backend -n ai-subsidy`, `kubectl set image
    deployment/ai-worker ai-worker=...`: literal here on purpose, these strings are the contract."""
    deployments = {
        (doc["metadata"]["namespace"], doc["metadata"]["name"]): doc for doc in _in_app_namespace(synthesis.find(env, "Deployment"))
    }
    assert set(deployments) == {("ai-subsidy", "ai-subsidy-backend"), ("ai-subsidy", "ai-subsidy-frontend"), ("ai-subsidy", "ai-worker")}
    containers = {name: [c["name"] for c in doc["spec"]["template"]["spec"]["containers"]] for (_, name), doc in deployments.items()}
    assert containers == {"ai-subsidy-backend": ["backend"], "ai-subsidy-frontend": ["frontend"], "ai-worker": ["ai-worker"]}
    services = {(doc["metadata"]["namespace"], doc["metadata"]["name"]) for doc in _in_app_namespace(synthesis.find(env, "Service"))}
    assert services == {("ai-subsidy", "ai-subsidy-backend-service"), ("ai-subsidy", "ai-subsidy-frontend-service")}
    assert {doc["metadata"]["name"] for doc in synthesis.find(env, "ConfigMap")} >= {"frontend-config", "ai-config"}
    assert {doc["metadata"]["name"] for doc in synthesis.find(env, "Namespace")} >= {"ai-subsidy"}


POD_IDENTITY_AUDIENCE = "pods.eks.amazonaws.com"
KUBE_API_TOKEN_VOLUME = "kube-api-access"


def _admitted(spec: dict[str, Any], account: dict[str, Any], *, has_association: bool) -> dict[str, Any]:
    """The pod the API server stores after admission.

    The ServiceAccount admission plugin adds the `kube-api-access-*` projected volume (a token for
    the Kubernetes API) only when neither the pod nor its ServiceAccount turns automount off
    ("Configure Service Accounts for Pods", kubernetes.io). For a ServiceAccount with a Pod Identity
    association, EKS's pod identity webhook adds its own projected token with audience
    pods.eks.amazonaws.com plus AWS_CONTAINER_CREDENTIALS_FULL_URI and
    AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE, whatever the automount setting (EKS user guide,
    "Understand how EKS Pod Identity works"; aws/amazon-eks-pod-identity-webhook, pkg/handler).
    """
    automount = spec.get("automountServiceAccountToken", account.get("automountServiceAccountToken", True))
    volumes = list(spec.get("volumes", []))
    env = {}
    if automount:
        volumes.append({"name": f"{KUBE_API_TOKEN_VOLUME}-x", "projected": {"sources": [{"serviceAccountToken": {"path": "token"}}]}})
    if has_association:
        token = {"audience": POD_IDENTITY_AUDIENCE, "expirationSeconds": 86400, "path": "eks-pod-identity-token"}
        volumes.append({"name": "eks-pod-identity-token", "projected": {"sources": [{"serviceAccountToken": token}]}})
        env = {
            "AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://169.254.170.23/v1/credentials",
            "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": "/var/run/secrets/pods.eks.amazonaws.com/serviceaccount/eks-pod-identity-token",
        }
    return {"volumes": volumes, "env": env}


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_no_pod_holds_a_kubernetes_api_token_and_aws_callers_still_get_credentials(env: str, synthesis: Synthesis) -> None:
    """No application pod calls the Kubernetes API, so none gets its token; the AWS callers get
    their credentials from EKS Pod Identity's own token, which needs no automount."""
    accounts = {doc["metadata"]["name"]: doc for doc in _in_app_namespace(synthesis.find(env, "ServiceAccount"))}
    for doc in _in_app_namespace(kube.workloads(synthesis.manifests(env))):
        spec = kube.pod_spec(doc)
        account = accounts[spec["serviceAccountName"]]
        component = next((c for c in COMPONENTS if c.name == doc["metadata"]["name"]), None)
        needs_aws = component is not None and component.needs_aws
        assert account["automountServiceAccountToken"] is False, account["metadata"]["name"]
        admitted = _admitted(spec, account, has_association=needs_aws)
        assert not [v for v in admitted["volumes"] if v["name"].startswith(KUBE_API_TOKEN_VOLUME)], doc["metadata"]["name"]
        audiences = {
            source["serviceAccountToken"].get("audience")
            for volume in admitted["volumes"]
            for source in volume.get("projected", {}).get("sources", [])
            if "serviceAccountToken" in source
        }
        assert audiences == ({POD_IDENTITY_AUDIENCE} if needs_aws else set()), doc["metadata"]["name"]
        if component is not None:
            assert spec["serviceAccountName"] == component.service_account


# --- Terraform side (the AWS layer's stacks) -----------------------------------------------------


def _terraform_resources(synthesis: Synthesis, env: str, resource_type: str) -> list[dict[str, Any]]:
    stacks = [f"{env}-{layer}" for layer in LAYERS if f"{env}-{layer}" in synthesis.stack_ids]
    return [body for stack in stacks for body in resources_of(synthesis.stack(stack), resource_type).values()]


def _aws_service_accounts(synthesis: Synthesis, env: str) -> set[tuple[str, str]]:
    """(namespace, name) of the ServiceAccounts whose pods may ask the node's Pod Identity agent
    for credentials (their NetworkPolicies allow 169.254.170.23:80)."""
    manifests = synthesis.manifests(env)
    policies = [doc for doc in manifests if doc["kind"] == "NetworkPolicy"]
    agent = kube.Endpoint(address="169.254.170.23")
    accounts = set()
    for doc in _in_app_namespace(kube.workloads(manifests)):
        source = kube.Endpoint(doc["metadata"]["namespace"], kube.pod_labels(doc))
        if kube.allowed(policies, source, agent, 80):
            accounts.add((doc["metadata"]["namespace"], kube.pod_spec(doc)["serviceAccountName"]))
    return accounts


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_aws_service_account_has_a_pod_identity_association(env: str, synthesis: Synthesis) -> None:
    names = names_for(SPECS[env])
    expected = _aws_service_accounts(synthesis, env)
    assert expected == {(APP_NAMESPACE, c.service_account) for c in COMPONENTS if c.needs_aws}
    # The ClusterSecretStore has no credentials of its own: the External Secrets controller's identity reads.
    expected.add((names.external_secrets_service_account.namespace, names.external_secrets_service_account.name))
    associations = {
        (body["namespace"], body["service_account"]) for body in _terraform_resources(synthesis, env, "aws_eks_pod_identity_association")
    }
    missing = sorted(expected - associations)
    assert not missing, f"no aws_eks_pod_identity_association in the {env} stacks for: {missing}"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_remote_secret_is_created_on_the_terraform_side(env: str, synthesis: Synthesis) -> None:
    manifests = synthesis.manifests(env)
    produced = _produced_secrets(manifests)
    used = {(doc["metadata"]["namespace"], name) for doc, name, _ in _pod_secret_references(manifests)}
    remote_names = {item["remoteRef"]["key"] for key in used for item in produced[key]["spec"].get("data", [])}
    assert remote_names == {binding.remote_name for binding in names_for(SPECS[env]).app_secrets}
    created = {body["name"] for body in _terraform_resources(synthesis, env, "aws_secretsmanager_secret")}
    missing = sorted(remote_names - created)
    assert not missing, f"ExternalSecrets read Secrets Manager secrets the {env} stacks do not create: {missing}"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_rds_managed_password_secret_exists_for_the_instance_it_is_looked_up_by(env: str, synthesis: Synthesis) -> None:
    """database-bootstrap-secret finds the master password by RDS's tag (the instance ARN): the instance
    must be the environment's, and RDS must manage its password (manage_master_user_password)."""
    names = names_for(SPECS[env])
    (database_secret,) = [doc for doc in synthesis.find(env, "ExternalSecret", "database-bootstrap-secret")]
    (lookup,) = [source["find"]["tags"] for source in database_secret["spec"]["dataFrom"] if "find" in source]
    instance_arn = lookup[RDS_MANAGED_SECRET_TAG]
    assert instance_arn.endswith(f":db:{names.database_identifier}")
    instances = [
        body
        for body in _terraform_resources(synthesis, env, "aws_db_instance")
        if body.get("identifier") == names.database_identifier and body.get("manage_master_user_password") is True
    ]
    assert instances, f"no aws_db_instance {names.database_identifier} with manage_master_user_password in the {env} stacks"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_interface_endpoints_live_where_the_network_policies_send_https(env: str, synthesis: Synthesis) -> None:
    """The network policies allow HTTPS to `SubnetLayout.interface_endpoints`; the network stack
    must place every interface endpoint's network interfaces in exactly those subnets."""
    stack = synthesis.stack(f"{env}-network")
    subnets = {f"${{aws_subnet.{key}.id}}": body["cidr_block"] for key, body in resources_of(stack, "aws_subnet").items()}
    expected = {str(network) for network in names_for(SPECS[env]).subnets.interface_endpoints}
    interfaces = [body for body in resources_of(stack, "aws_vpc_endpoint").values() if body["vpc_endpoint_type"] == "Interface"]
    assert interfaces
    for body in interfaces:
        assert {subnets[subnet_id] for subnet_id in body["subnet_ids"]} == expected, body["service_name"]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_database_logins_terraform_writes_are_the_roles_the_bootstrap_creates(env: str, synthesis: Synthesis) -> None:
    """Terraform writes each login secret's username (and, once, its password); the bootstrap Job
    creates exactly those roles and their rotation twins; the URL each pod gets is from its own secret."""
    names = names_for(SPECS[env])
    stack = synthesis.stack(f"{env}-data")
    secrets = {body["name"]: logical for logical, body in resources_of(stack, "aws_secretsmanager_secret").items()}
    written = {}
    for version in resources_of(stack, "aws_secretsmanager_secret_version").values():
        match = re.search(r'"username" = "([a-z_]+)"', version.get("secret_string_wo", ""))
        if match:
            logical = version["secret_id"].split(".")[1]
            written[next(name for name, ref in secrets.items() if ref == logical)] = match.group(1)
    assert written == {
        names.secret_name("database"): DATABASE_APP_USER,
        names.secret_name("database-migration"): DATABASE_MIGRATION_USER,
    }
    (job,) = synthesis.find(env, "Job", "ai-subsidy-database-bootstrap")
    (psql,) = job["spec"]["template"]["spec"]["containers"]
    variables = dict(arg.removeprefix("--variable=").split("=", 1) for arg in psql["command"] if arg.startswith("--variable="))
    assert variables["app_user"] == DATABASE_APP_USER and variables["migrate_user"] == DATABASE_MIGRATION_USER
    assert variables["app_clone"] == DATABASE_APP_USER + "_clone" and variables["migrate_clone"] == DATABASE_MIGRATION_USER + "_clone"
    assert variables["dbname"] == names.database_name
    readers: dict[str, set[str]] = {}
    for doc in kube.workloads(synthesis.manifests(env)):
        for container in kube.containers(kube.pod_spec(doc)):
            for entry in container.get("env", []):
                if entry["name"] == "DATABASE_URL":
                    readers.setdefault(doc["metadata"]["name"], set()).add(entry["valueFrom"]["secretKeyRef"]["name"])
    assert readers["ai-subsidy-backend"] == readers["ai-worker"] == {"database-secret"}
    assert readers["ai-subsidy-backend-migrate"] == {"database-migration-secret"}
