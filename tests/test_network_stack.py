"""The `<env>-network` stack does what the spec and the platform's security baseline ask."""

from __future__ import annotations

import ipaddress

import pytest

from envspec import names_for
from envspec.layout import layout_for
from envspec.naming import MANAGED_BY, POSTGRES_PORT, PROJECT_TAG, REDIS_PORT
from tests.conftest import ENVIRONMENTS, SPECS, STACK_IDS, Synthesis, data_of, ref, resources_of


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
    interfaces = ("ecr.api", "ecr.dkr", "sts", "secretsmanager", "logs", "ssm", "ssmmessages", "ec2messages")
    assert set(by_service) == {"s3", *interfaces}
    assert by_service["s3"]["vpc_endpoint_type"] == "Gateway"
    zones = len(SPECS[env].availability_zones)
    assert len(by_service["s3"]["route_table_ids"]) == zones
    for service in interfaces:
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
    standby = stack_id.startswith(f"{env}-dr-")  # the standby's: in the DR region, its `dr` alias the primary's region
    stack = synthesis.stack(stack_id)
    providers = stack["provider"]["aws"]
    assert sorted(provider.get("alias", "") for provider in providers) in ([""], ["", "dr"])
    home, other = (SPECS[env].aws.dr_region, SPECS[env].aws.region) if standby else (SPECS[env].aws.region, SPECS[env].aws.dr_region)
    side = {"Side": "dr"} if standby else {}
    for provider in providers:
        assert provider["default_tags"] == [{"tags": {"Environment": env, "Project": PROJECT_TAG, "ManagedBy": MANAGED_BY, **side}}]
        assert provider["allowed_account_ids"] == [SPECS[env].aws.account_id]
        assert provider["region"] == (other if provider.get("alias") == "dr" else home)
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


def _acls(synthesis: Synthesis, env: str) -> dict[str, dict]:
    return {acl["tags"]["Name"].rsplit("-", 1)[1]: acl for acl in resources_of(_network(synthesis, env), "aws_network_acl").values()}


def _acl_allows(rules: list[dict], peer: str, port: int) -> bool:
    """A network ACL's decision for a TCP packet: rules in ascending number, the first that matches
    decides, no match is the implicit deny (VPC User Guide, "Network ACL rules")."""
    for rule in sorted(rules, key=lambda r: r["rule_no"]):
        protocol_matches = rule["protocol"] in ("-1", "tcp", "6")
        port_matches = rule["protocol"] == "-1" or rule["from_port"] <= port <= rule["to_port"]
        if protocol_matches and port_matches and ipaddress.IPv4Address(peer) in ipaddress.IPv4Network(rule["cidr_block"]):
            return rule["action"] == "allow"
    return False


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_default_acl_denies_and_every_subnet_has_its_own(env: str, synthesis: Synthesis) -> None:
    """A subnet without an explicit ACL association uses the default ACL (VPC User Guide, "Control
    subnet traffic with network access control lists"); adopted with no rules it denies all, so every
    subnet must be associated with one of the explicit ACLs, and the default ACL with none."""
    stack = _network(synthesis, env)
    (default,) = resources_of(stack, "aws_default_network_acl").values()
    assert "ingress" not in default and "egress" not in default and "subnet_ids" not in default
    assert default["default_network_acl_id"].endswith(".default_network_acl_id}")
    associated = [subnet for acl in resources_of(stack, "aws_network_acl").values() for subnet in acl["subnet_ids"]]
    subnets = {f"${{aws_subnet.{logical_id}.id}}" for logical_id in resources_of(stack, "aws_subnet")}
    assert sorted(associated) == sorted(subnets), "each subnet in exactly one explicit ACL"
    for tier, acl in _acls(synthesis, env).items():
        tiers = {resources_of(stack, "aws_subnet")[ref(subnet)]["tags"]["Tier"] for subnet in acl["subnet_ids"]}
        assert tiers == {tier}


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_isolated_acl_admits_only_the_private_tier_and_its_answers(env: str, synthesis: Synthesis) -> None:
    """ACLs are stateless: the database's answers leave towards the client's ephemeral port, which the
    outbound rules must allow (VPC User Guide, "Ephemeral ports": Linux clients use 32768-60999, NAT
    gateways and load balancers 1024-65535; allow 1024-65535 to cover them)."""
    layout = layout_for(SPECS[env])
    acl = _acls(synthesis, env)["isolated"]
    pod, public, isolated_peer = (str(next(net.hosts())) for net in (layout.private[1], layout.public[0], layout.isolated[2]))
    assert _acl_allows(acl["ingress"], pod, POSTGRES_PORT) and _acl_allows(acl["ingress"], pod, REDIS_PORT)
    # 443 is admitted for GuardDuty's agent endpoint (tests/test_guardduty_agent_path.py).
    for port in (22, 3306, 11211):
        assert not _acl_allows(acl["ingress"], pod, port), port
    assert not _acl_allows(acl["ingress"], public, POSTGRES_PORT), "the load balancer tier has no business with the database"
    assert not _acl_allows(acl["ingress"], "203.0.113.10", POSTGRES_PORT)
    for client_port in (1024, 32768, 60999, 65535):
        assert _acl_allows(acl["egress"], pod, client_port), f"answer to ephemeral port {client_port} dropped"
    assert not _acl_allows(acl["egress"], pod, 443) and not _acl_allows(acl["egress"], "8.8.8.8", 40000)
    assert _acl_allows(acl["ingress"], isolated_peer, REDIS_PORT) and _acl_allows(acl["egress"], isolated_peer, REDIS_PORT)
    for tier in ("public", "private"):  # filtered by their (stateful) security groups
        assert _acl_allows(_acls(synthesis, env)[tier]["ingress"], "203.0.113.10", 443)
