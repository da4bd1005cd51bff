"""The `<env>-network` stack does what the spec and the platform's security baseline ask."""

from __future__ import annotations

import ipaddress

import pytest

from envspec import names_for
from envspec.naming import MANAGED_BY, PROJECT_TAG
from tests.conftest import ENVIRONMENTS, SPECS, STACK_IDS, Synthesis, data_of, resources_of


def _network(synthesis: Synthesis, env: str) -> dict:
    return synthesis.stack(f"{env}-network")


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_vpc_has_dns_and_the_spec_cidr(env: str, synthesis: Synthesis) -> None:
    (vpc,) = resources_of(_network(synthesis, env), "aws_vpc").values()
    assert vpc["cidr_block"] == str(SPECS[env].network.vpc_cidr)
    assert vpc["enable_dns_support"] is True and vpc["enable_dns_hostnames"] is True


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_three_tiers_across_the_spec_zones_inside_the_vpc(env: str, synthesis: Synthesis) -> None:
    spec = SPECS[env]
    subnets = list(resources_of(_network(synthesis, env), "aws_subnet").values())
    vpc = spec.network.vpc_cidr
    cidrs = [ipaddress.IPv4Network(subnet["cidr_block"]) for subnet in subnets]
    assert all(cidr.subnet_of(vpc) for cidr in cidrs)
    assert not any(a.overlaps(b) for i, a in enumerate(cidrs) for b in cidrs[i + 1 :]), "subnets overlap"
    for tier in ("public", "private", "isolated"):
        zones = sorted(subnet["availability_zone"] for subnet in subnets if subnet["tags"]["Tier"] == tier)
        assert zones == sorted(spec.availability_zones), tier
    assert all(subnet["map_public_ip_on_launch"] is False for subnet in subnets)


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_load_balancer_subnet_tags(env: str, synthesis: Synthesis) -> None:
    cluster_tag = f"kubernetes.io/cluster/{names_for(SPECS[env]).cluster_name}"
    for subnet in resources_of(_network(synthesis, env), "aws_subnet").values():
        tags, tier = subnet["tags"], subnet["tags"]["Tier"]
        assert (tags.get("kubernetes.io/role/elb") == "1") == (tier == "public")
        assert (tags.get("kubernetes.io/role/internal-elb") == "1") == (tier == "private")
        assert (cluster_tag in tags) == (tier != "isolated")


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_nat_gateways_follow_the_spec(env: str, synthesis: Synthesis) -> None:
    stack = _network(synthesis, env)
    zones = len(SPECS[env].availability_zones)
    expected = zones if SPECS[env].network.nat_gateways == "per_az" else 1
    assert len(resources_of(stack, "aws_nat_gateway")) == expected
    assert len(resources_of(stack, "aws_eip")) == expected
    routes = resources_of(stack, "aws_route").values()
    assert sum(1 for route in routes if "nat_gateway_id" in route) == zones, "every private route table routes out through a NAT"
    assert sum(1 for route in routes if "gateway_id" in route) == 1, "only the public route table routes to the internet gateway"


def test_development_has_one_nat_and_production_one_per_zone(synthesis: Synthesis) -> None:
    assert len(resources_of(_network(synthesis, "development"), "aws_nat_gateway")) == 1
    production = resources_of(_network(synthesis, "production"), "aws_nat_gateway").values()
    subnets = resources_of(_network(synthesis, "production"), "aws_subnet")
    assert len({subnet["subnet_id"] for subnet in production}) == len(SPECS["production"].availability_zones)
    assert all(subnets[ref.split(".")[1]]["tags"]["Tier"] == "public" for ref in (s["subnet_id"] for s in production))


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_isolated_subnets_have_no_route_out(env: str, synthesis: Synthesis) -> None:
    stack = _network(synthesis, env)
    tables = resources_of(stack, "aws_route_table")
    isolated = [logical for logical, table in tables.items() if table["tags"]["Name"].endswith("-isolated")]
    assert len(isolated) == 1
    assert not [route for route in resources_of(stack, "aws_route").values() if isolated[0] in route["route_table_id"]]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_default_security_group_allows_nothing(env: str, synthesis: Synthesis) -> None:
    (group,) = resources_of(_network(synthesis, env), "aws_default_security_group").values()
    assert "ingress" not in group and "egress" not in group


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_flow_logs_go_to_an_encrypted_log_group_with_retention(env: str, synthesis: Synthesis) -> None:
    stack = _network(synthesis, env)
    (flow_log,) = resources_of(stack, "aws_flow_log").values()
    (group_id, group) = next(iter(resources_of(stack, "aws_cloudwatch_log_group").items()))
    (key_id,) = resources_of(stack, "aws_kms_key")
    assert flow_log["traffic_type"] == "ALL"
    assert flow_log["log_destination"] == f"${{aws_cloudwatch_log_group.{group_id}.arn}}"
    assert group["retention_in_days"] == SPECS[env].network.flow_log_retention_days
    assert group["kms_key_id"] == f"${{aws_kms_key.{key_id}.arn}}"
    key_policy = next(iter(data_of(stack, "aws_iam_policy_document").values()))
    assert key_policy  # the log service's use of the key is granted in the key policy
    services = [
        p["identifiers"]
        for d in data_of(stack, "aws_iam_policy_document").values()
        for s in d["statement"]
        for p in s.get("principals", [])
    ]
    assert ["logs.ap-northeast-1.amazonaws.com"] in services


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_vpc_endpoints(env: str, synthesis: Synthesis) -> None:
    endpoints = resources_of(_network(synthesis, env), "aws_vpc_endpoint").values()
    by_service = {endpoint["service_name"].removeprefix("com.amazonaws.ap-northeast-1."): endpoint for endpoint in endpoints}
    assert set(by_service) == {"s3", "ecr.api", "ecr.dkr", "sts", "secretsmanager", "logs"}
    assert by_service["s3"]["vpc_endpoint_type"] == "Gateway"
    zones = len(SPECS[env].availability_zones)
    assert len(by_service["s3"]["route_table_ids"]) == zones
    for service in ("ecr.api", "ecr.dkr", "sts", "secretsmanager", "logs"):
        assert by_service[service]["vpc_endpoint_type"] == "Interface"
        assert by_service[service]["private_dns_enabled"] is True
        assert len(by_service[service]["subnet_ids"]) == zones


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_endpoint_security_group_admits_only_https_from_the_vpc(env: str, synthesis: Synthesis) -> None:
    (rule,) = resources_of(_network(synthesis, env), "aws_vpc_security_group_ingress_rule").values()
    assert (rule["from_port"], rule["to_port"], rule["ip_protocol"]) == (443, 443, "tcp")
    assert rule["cidr_ipv4"] == str(SPECS[env].network.vpc_cidr)


@pytest.mark.parametrize("stack_id", STACK_IDS)
def test_consistent_tags(stack_id: str, synthesis: Synthesis) -> None:
    env = stack_id.split("-")[0]
    stack = synthesis.stack(stack_id)
    providers = stack["provider"]["aws"]
    assert sorted(provider.get("alias", "") for provider in providers) in ([""], ["", "dr"])
    for provider in providers:
        assert provider["default_tags"] == [{"tags": {"Environment": env, "Project": PROJECT_TAG, "ManagedBy": MANAGED_BY}}]
        assert provider["allowed_account_ids"] == [SPECS[env].aws.account_id]
        assert provider["region"] == (SPECS[env].aws.dr_region if provider.get("alias") == "dr" else SPECS[env].aws.region)
    for resource_type in (
        "aws_vpc",
        "aws_subnet",
        "aws_nat_gateway",
        "aws_route_table",
        "aws_kms_key",
        "aws_s3_bucket",
        "aws_security_group",
    ):
        for logical_id, resource in resources_of(stack, resource_type).items():
            assert resource["tags"]["Name"].startswith(f"ai-subsidy-{env}"), f"{resource_type}.{logical_id}"
