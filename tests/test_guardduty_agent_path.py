"""The GuardDuty runtime agent's way out: image pull, namespace, security groups, network ACLs.

With EKS Runtime Monitoring and automated agent configuration (`EKS_ADDON_MANAGEMENT`), GuardDuty
installs the `aws-guardduty-agent` EKS add-on (namespace `amazon-guardduty`) and creates a
`com.amazonaws.<region>.guardduty-data` interface endpoint with private DNS and a security group of
its own whose inbound rules match the VPC's CIDR (GuardDuty User Guide, "How Runtime Monitoring works
with Amazon EKS clusters"). The agent resolves `guardduty-data.<region>.amazonaws.com` to that
endpoint, and "GuardDuty selects the subnet based on IP availability, so for advanced network
topologies, validate that a valid network path exists" (GuardDuty User Guide, "How the security agent
connects to GuardDuty"). This project therefore creates no guardduty-data endpoint of its own and
checks, for every subnet the endpoint could land in, each hop this project controls:

- the image: the ECR endpoint policy admits pulls from both registries that host the EKS agent in the
  region (GuardDuty User Guide, "Amazon ECR repository hosting GuardDuty agent": Asia Pacific (Tokyo)
  602401143452 and 781592569369); before, only 602401143452 was admitted;
- the namespace: no NetworkPolicy selects `amazon-guardduty`, and vpc-cni enforces in its default
  `standard` mode, where a pod no policy selects is not isolated (EKS User Guide, "Restrict Pod network
  traffic with Kubernetes network policies"; aws/amazon-vpc-cni-k8s `defaultNetworkPolicyMode =
  "standard"`); `strict` would deny the agent until a policy admits it;
- the security groups: nodes use the EKS cluster security group, whose default outbound rule admits
  everything (EKS User Guide, "View Amazon EKS security group requirements for clusters"), and no stack
  narrows it; GuardDuty's endpoint group admits the VPC's CIDR;
- the network ACLs (stateless): HTTPS from every private subnet to every subnet of the VPC, and the
  answer back to the ephemeral port; before, the isolated tier's ACL dropped 443.

Not checked here (no artefact of this project holds it): the endpoint policy GuardDuty sets on its own
endpoint (it restricts to this account, or to the organization for a shared VPC; our endpoint
policies are per endpoint and do not apply to it), and the agent's link-local path
(`guardduty-data-v2`), which crosses neither ACLs nor NetworkPolicies of pods in other namespaces.
"""

from __future__ import annotations

import ipaddress
import json

import pytest

from envspec import names_for
from envspec.layout import layout_for
from stacks.network.endpoints import INTERFACE_SERVICES
from tests.conftest import ENVIRONMENTS, SPECS, Synthesis, data_of, ref, resources_of
from tests.iam_eval import allowed as iam_allows
from tests.kube import Endpoint
from tests.kube import allowed as policy_allows
from tests.test_network_stack import _acl_allows, _acls

AGENT_NAMESPACE = "amazon-guardduty"
AGENT = Endpoint(AGENT_NAMESPACE, {"app.kubernetes.io/name": "aws-guardduty-agent"})
AGENT_REGISTRIES = ("602401143452", "781592569369")  # ap-northeast-1, GuardDuty User Guide (see above)
HTTPS = 443
CLIENT_PORTS = (1024, 32768, 60999, 65535)


def _every_subnet(env: str) -> list[ipaddress.IPv4Network]:
    layout = layout_for(SPECS[env])
    return [*layout.public, *layout.private, *layout.isolated]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_ecr_endpoint_admits_the_guardduty_agent_images(env: str, synthesis: Synthesis) -> None:
    stack = synthesis.stack(f"{env}-network")
    (endpoint,) = [e for e in resources_of(stack, "aws_vpc_endpoint").values() if e["service_name"].endswith(".ecr.dkr")]
    statements = data_of(stack, "aws_iam_policy_document")[ref(endpoint["policy"])]["statement"]
    account = names_for(SPECS[env]).account
    for registry in AGENT_REGISTRIES:
        context = {"aws:PrincipalAccount": account, "aws:ResourceAccount": registry}
        repository = f"arn:aws:ecr:ap-northeast-1:{registry}:repository/aws-guardduty-agent"
        for action in ("ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"):
            assert iam_allows(statements, "*", action, repository, context), (registry, action)
        assert not iam_allows(statements, "*", "ecr:PutImage", repository, context)
    stranger = {"aws:PrincipalAccount": "999999999999", "aws:ResourceAccount": AGENT_REGISTRIES[1]}
    repository = f"arn:aws:ecr:ap-northeast-1:{AGENT_REGISTRIES[1]}:repository/aws-guardduty-agent"
    assert not iam_allows(statements, "*", "ecr:BatchGetImage", repository, stranger)


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_no_network_policy_isolates_the_agent(env: str, synthesis: Synthesis) -> None:
    policies = synthesis.find(env, "NetworkPolicy")
    assert all(policy["metadata"]["namespace"] != AGENT_NAMESPACE for policy in policies)
    for subnet in _every_subnet(env):
        assert policy_allows(policies, AGENT, Endpoint(address=str(subnet[10])), HTTPS), subnet
    addons = {addon["addon_name"]: addon for addon in resources_of(synthesis.stack(f"{env}-cluster"), "aws_eks_addon").values()}
    configuration = json.loads(addons["vpc-cni"]["configuration_values"])
    assert configuration.get("env", {}).get("NETWORK_POLICY_ENFORCING_MODE", "standard") == "standard"
    # GuardDuty installs and updates the agent add-on; Terraform owning it too would fight GuardDuty.
    assert "aws-guardduty-agent" not in addons


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_nothing_narrows_the_nodes_outbound_https(env: str, synthesis: Synthesis) -> None:
    cluster = synthesis.stack(f"{env}-cluster")
    cluster_group = "aws_eks_cluster"
    for resource_type in ("aws_vpc_security_group_egress_rule", "aws_security_group_rule"):
        for rule in resources_of(cluster, resource_type).values():
            assert cluster_group not in rule.get("security_group_id", ""), "the cluster security group keeps EKS's default outbound rule"
    assert "guardduty-data" not in INTERFACE_SERVICES, "GuardDuty creates and owns the guardduty-data endpoint"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_https_from_every_private_subnet_reaches_every_subnet(env: str, synthesis: Synthesis) -> None:
    layout = layout_for(SPECS[env])
    acls = _acls(synthesis, env)
    tier_of = {subnet: tier for tier in ("public", "private", "isolated") for subnet in getattr(layout, tier)}
    for source in layout.private:
        node = str(source[10])
        for subnet in _every_subnet(env):
            endpoint, acl = str(subnet[20]), acls[tier_of[subnet]]
            assert _acl_allows(acls["private"]["egress"], endpoint, HTTPS)
            assert _acl_allows(acl["ingress"], node, HTTPS), f"{tier_of[subnet]} ACL drops 443 from {source}"
            for port in CLIENT_PORTS:
                assert _acl_allows(acl["egress"], node, port), f"{tier_of[subnet]} ACL drops the answer to {port}"
                assert _acl_allows(acls["private"]["ingress"], endpoint, port)
