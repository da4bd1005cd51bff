"""The primary's Argo CD can open a connection to the standby's Kubernetes API.

Argo CD runs in the primary cluster, on nodes in the primary's private subnets, and manages the standby
cluster in the DR region through that cluster's API endpoint (its cluster Secret's `server`, the EKS
endpoint name). The two VPCs share no private path (no peering, no transit gateway), so the connection
leaves the primary VPC through its NAT gateways and arrives at the standby's public endpoint:

- EKS User Guide, "Cluster API server endpoint": with public access disabled, the API "can only receive
  requests from within the cluster VPC"; with it enabled, the EKS API reference (`VpcConfigRequest`,
  `publicAccessCidrs`): "Communication to the endpoint from addresses outside of the CIDR blocks that you
  specify is denied."
- Amazon VPC User Guide, "NAT gateways": the NAT gateway replaces the source address of the private
  subnets' outbound traffic with its Elastic IP address; the private route tables send 0.0.0.0/0 there.
- AWS General Reference, "Amazon EKS endpoints and quotas": at most 40 public endpoint access CIDR ranges
  per cluster, not adjustable.

So every NAT gateway the primary's private route tables use must be among the standby's public access
CIDRs, as a /32, and the standby's endpoint must have public access; nothing wider than those addresses
and the spec's office ranges is admitted.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from envspec import SpecError, load_environments
from tests.conftest import ENVIRONMENTS, ROOT, SPECS, Synthesis, only, resources_of

STANDBY = [env for env in ENVIRONMENTS if SPECS[env].dr.has_standby]
REMOTE_OUTPUT = re.compile(r"^\$\{data\.terraform_remote_state\.(?P<state>[^.]+)\.outputs\.(?P<output>[^}]+)\}(?P<suffix>.*)$")
REFERENCE = re.compile(r"^\$\{(?P<address>[^}]+)\}$")


def _resolve(stack: dict[str, Any], value: str, synthesis: Synthesis) -> tuple[str, str, str]:
    """A cross-stack reference in `stack` -> (producing stack id, resource attribute address, suffix)."""
    match = REMOTE_OUTPUT.match(value)
    assert match, f"{value} is not a cross-stack reference"
    state = stack["data"]["terraform_remote_state"][match["state"]]
    producer = state["config"]["key"].removesuffix("/terraform.tfstate")
    output = synthesis.stack(producer)["output"][match["output"]]["value"]
    address = REFERENCE.match(output)
    assert address, output
    return producer, address["address"], match["suffix"]


def _nat_gateways_of_private_tier(network: dict[str, Any], private_subnet_ids: set[str]) -> set[str]:
    """Addresses (`aws_nat_gateway.<id>`) of the NAT gateways the private subnets' default routes use."""
    tables = {
        association["route_table_id"]
        for association in resources_of(network, "aws_route_table_association").values()
        if association["subnet_id"] in private_subnet_ids
    }
    assert tables, "the private subnets have route tables"
    gateways = set()
    for route in resources_of(network, "aws_route").values():
        if route["route_table_id"] in tables and route.get("destination_cidr_block") == "0.0.0.0/0":
            gateways.add(REFERENCE.match(route["nat_gateway_id"])["address"].removesuffix(".id"))
    return gateways


@pytest.mark.parametrize("env", STANDBY)
def test_the_standby_api_admits_the_primary_nat_addresses(env: str, synthesis: Synthesis) -> None:
    network = synthesis.stack(f"{env}-network")
    primary_cluster = synthesis.stack(f"{env}-cluster")
    # Argo CD's pods run on the primary's nodes (vpc-cni gives pods addresses of their node's subnet).
    node_subnets = {
        _resolve(primary_cluster, subnet, synthesis)
        for group in resources_of(primary_cluster, "aws_eks_node_group").values()
        for subnet in group["subnet_ids"]
    }
    assert {producer for producer, _, _ in node_subnets} == {f"{env}-network"}
    private_subnet_ids = {f"${{{address}}}" for _, address, _ in node_subnets}
    assert all(".vpc_private_" in subnet for subnet in private_subnet_ids), private_subnet_ids
    gateways = _nat_gateways_of_private_tier(network, private_subnet_ids)
    expected_gateways = SPECS[env].network.az_count if SPECS[env].network.nat_gateways == "per_az" else 1
    assert len(gateways) == expected_gateways

    standby = synthesis.stack(f"{env}-dr-cluster")
    vpc_config = only(resources_of(standby, "aws_eks_cluster"))["vpc_config"]
    assert vpc_config["endpoint_public_access"] is True and vpc_config["endpoint_private_access"] is True
    offices = [str(cidr) for cidr in SPECS[env].cluster.public_access_cidrs]
    admitted = vpc_config["public_access_cidrs"]
    assert admitted[: len(offices)] == offices
    nat_sources = set()
    for value in admitted[len(offices) :]:
        producer, address, suffix = _resolve(standby, value, synthesis)
        assert producer == f"{env}-network" and suffix == "/32", value
        assert address.endswith(".public_ip"), address
        nat_sources.add(address.removesuffix(".public_ip"))
    assert nat_sources == gateways, "exactly the NAT gateways the primary's private tier leaves through"
    assert len(admitted) <= 40


@pytest.mark.parametrize("env", STANDBY)
def test_the_argocd_cluster_secret_names_the_standby_endpoint(env: str, synthesis: Synthesis) -> None:
    """Argo CD connects to the `server` of its cluster Secret: the standby's EKS endpoint, whose public DNS
    name resolves to the public endpoint outside the standby's VPC (EKS User Guide, "Cluster API server
    endpoint")."""
    standby = synthesis.stack(f"{env}-dr-cluster")
    cluster_id = next(iter(resources_of(standby, "aws_eks_cluster")))
    (version,) = (
        version for version in resources_of(standby, "aws_secretsmanager_secret_version").values() if "caData" in version["secret_string"]
    )
    assert f"aws_eks_cluster.{cluster_id}.endpoint" in version["secret_string"]


@pytest.fixture
def environments(tmp_path: Path) -> Path:
    target = tmp_path / "environments"
    shutil.copytree(ROOT / "environments", target)
    return target


def test_too_many_ranges_for_the_standby_api_is_one_error(environments: Path) -> None:
    """Staging has one NAT gateway: its 39 office ranges plus that address fit the quota of 40, 40 do not."""
    staging = environments / "staging.yaml"
    text = staging.read_text(encoding="utf-8")
    old = "  public_access_cidrs:\n    - 203.0.113.0/28\n"
    assert old in text
    ranges = [f"198.18.{index}.0/24" for index in range(40)]
    staging.write_text(text.replace(old, "  public_access_cidrs:\n" + "".join(f"    - {cidr}\n" for cidr in ranges[:39])), "utf-8")
    load_environments(environments)
    staging.write_text(text.replace(old, "  public_access_cidrs:\n" + "".join(f"    - {cidr}\n" for cidr in ranges)), "utf-8")
    with pytest.raises(SpecError) as error:
        load_environments(environments)
    (problem,) = error.value.problems
    assert problem.file.endswith("staging.yaml") and problem.field == "cluster.public_access_cidrs"
    assert problem.line == 9
    assert "41 in all" in problem.reason and "at most 40" in problem.reason
