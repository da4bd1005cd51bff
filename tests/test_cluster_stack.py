"""The `<env>-cluster` stack: what the platform relies on from EKS, per environment."""

from __future__ import annotations

import json

import pytest

from envspec import names_for
from tests.conftest import ENVIRONMENTS, SPECS, Synthesis, data_of, only, ref, resources_of


def _cluster_stack(synthesis: Synthesis, env: str) -> dict:
    return synthesis.stack(f"{env}-cluster")


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_cluster_version_endpoint_and_upgrade_policy(env: str, synthesis: Synthesis) -> None:
    spec = SPECS[env]
    cluster = only(resources_of(_cluster_stack(synthesis, env), "aws_eks_cluster"))
    assert cluster["name"] == f"ai-subsidy-{env}"
    assert cluster["version"] == spec.cluster.version == "1.35"
    assert cluster["upgrade_policy"] == {"support_type": "STANDARD"}
    vpc = cluster["vpc_config"]
    assert vpc["endpoint_private_access"] is True
    assert len(vpc["subnet_ids"]) == len(spec.availability_zones) and all("private" in subnet for subnet in vpc["subnet_ids"])
    expected = [str(cidr) for cidr in spec.cluster.public_access_cidrs]
    assert vpc["endpoint_public_access"] is bool(expected)
    assert vpc.get("public_access_cidrs", []) == expected
    assert "0.0.0.0/0" not in vpc.get("public_access_cidrs", [])


def test_production_api_endpoint_is_private_only(synthesis: Synthesis) -> None:
    vpc = only(resources_of(_cluster_stack(synthesis, "production"), "aws_eks_cluster"))["vpc_config"]
    assert vpc["endpoint_public_access"] is False and "public_access_cidrs" not in vpc


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_secrets_envelope_encryption_and_control_plane_logs(env: str, synthesis: Synthesis) -> None:
    stack = _cluster_stack(synthesis, env)
    cluster = only(resources_of(stack, "aws_eks_cluster"))
    (key_id,) = resources_of(stack, "aws_kms_key")
    assert resources_of(stack, "aws_kms_key")[key_id]["enable_key_rotation"] is True
    assert cluster["encryption_config"] == {"provider": {"key_arn": f"${{aws_kms_key.{key_id}.arn}}"}, "resources": ["secrets"]}
    assert cluster["enabled_cluster_log_types"] == ["api", "audit", "authenticator", "controllerManager", "scheduler"]
    (group,) = [g for g in resources_of(stack, "aws_cloudwatch_log_group").values() if g["name"] == f"/aws/eks/ai-subsidy-{env}/cluster"]
    assert group["retention_in_days"] == SPECS[env].cluster.log_retention_days
    assert group["kms_key_id"] == f"${{aws_kms_key.{key_id}.arn}}"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_access_entries_not_aws_auth(env: str, synthesis: Synthesis) -> None:
    """Cluster admins are exactly the platform role and the CI deploy role, through access entries
    of this cluster (API mode); nobody is admin by having created the cluster."""
    names, stack = names_for(SPECS[env]), _cluster_stack(synthesis, env)
    cluster_id, cluster = next(iter(resources_of(stack, "aws_eks_cluster").items()))
    assert cluster["access_config"] == {"authentication_mode": "API", "bootstrap_cluster_creator_admin_permissions": False}
    entries = resources_of(stack, "aws_eks_access_entry")
    admins = []
    for association in resources_of(stack, "aws_eks_access_policy_association").values():
        entry = entries[ref(association["principal_arn"])]
        assert entry["cluster_name"] == association["cluster_name"] == f"${{aws_eks_cluster.{cluster_id}.name}}"
        assert entry["type"] == "STANDARD"
        assert association["policy_arn"] == "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
        assert association["access_scope"] == {"type": "cluster"}
        admins.append(entry["principal_arn"])
    assert sorted(admins) == sorted([names.role_arn(SPECS[env].cluster.admin_role_name), names.role_arn(names.deploy_role)])
    # Besides the two admins, only the nodes Karpenter launches join through an entry (EC2_LINUX, no policy).
    assert sorted(entry["type"] for entry in entries.values()) == ["EC2_LINUX", "STANDARD", "STANDARD"]
    deploy_role = only(
        {k: r for k, r in resources_of(synthesis.stack(f"{env}-ci"), "aws_iam_role").items() if r["name"] == names.deploy_role}
    )
    assert names.role_arn(deploy_role["name"]) in admins, "the ci stack's deploy role is the one the cluster admits"
    for stack_id in synthesis.stack_ids:
        assert "kubernetes_config_map" not in synthesis.stack(stack_id).get("resource", {})


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_node_groups_from_the_spec(env: str, synthesis: Synthesis) -> None:
    spec, stack = SPECS[env], _cluster_stack(synthesis, env)
    groups = {group["node_group_name"].rsplit("-", 1)[1]: group for group in resources_of(stack, "aws_eks_node_group").values()}
    # Karpenter provisions the application nodes (tests/test_karpenter.py); only the system group is managed.
    assert set(groups) == {"system"}
    assert groups["system"]["capacity_type"] == "ON_DEMAND"
    assert {"key": "CriticalAddonsOnly", "value": "true", "effect": "NO_SCHEDULE"} in groups["system"]["taint"]
    for label, group in groups.items():
        wanted = getattr(spec.cluster.node_groups, label)
        assert group["scaling_config"] == {"min_size": wanted.min_size, "desired_size": wanted.desired_size, "max_size": wanted.max_size}
        assert group["instance_types"] == list(wanted.instance_types)
        assert group["labels"]["ai-subsidy.io/node-role"] == label
        template = resources_of(stack, "aws_launch_template")[ref(group["launch_template"]["id"])]
        assert template["metadata_options"]["http_tokens"] == "required"
        assert template["metadata_options"]["http_put_response_hop_limit"] == 1
        (device,) = template["block_device_mappings"]
        assert device["ebs"]["volume_type"] == "gp3" and device["ebs"]["encrypted"] == "true"
        assert device["ebs"]["volume_size"] == wanted.disk_size_gib


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_node_role_has_no_more_than_it_needs(env: str, synthesis: Synthesis) -> None:
    stack = _cluster_stack(synthesis, env)
    node_role = next(logical for logical, role in resources_of(stack, "aws_iam_role").items() if role["name"].endswith("-eks-node"))
    attached = sorted(
        a["policy_arn"] for a in resources_of(stack, "aws_iam_role_policy_attachment").values() if ref(a["role"]) == node_role
    )
    assert attached == [
        "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryPullOnly",
        "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
    ]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_addons_pinned_and_network_policies_enforced(env: str, synthesis: Synthesis) -> None:
    addons = {addon["addon_name"]: addon for addon in resources_of(_cluster_stack(synthesis, env), "aws_eks_addon").values()}
    assert set(addons) == {"vpc-cni", "coredns", "kube-proxy", "aws-ebs-csi-driver", "eks-pod-identity-agent"}
    for name, addon in addons.items():
        assert addon["addon_version"] == SPECS[env].cluster.addons[name]
    assert json.loads(addons["vpc-cni"]["configuration_values"]) == {"enableNetworkPolicy": "true"}
    assert addons["vpc-cni"]["pod_identity_association"][0]["service_account"] == "aws-node"
    assert addons["aws-ebs-csi-driver"]["pod_identity_association"][0]["service_account"] == "ebs-csi-controller-sa"
    # coredns and the EBS CSI driver need nodes to schedule on; the CNI must be there before them.
    assert all("aws_eks_node_group" in " ".join(addons[name].get("depends_on", [])) for name in ("coredns", "aws-ebs-csi-driver"))
    assert "depends_on" not in addons["vpc-cni"]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_load_balancer_controller_policy_is_upstream_scoped_to_this_cluster(env: str, synthesis: Synthesis) -> None:
    """The upstream controller policy's actions, every tag test pinned to this cluster's name and every
    write to this region, account and VPC."""
    names, stack = names_for(SPECS[env]), _cluster_stack(synthesis, env)
    associations = resources_of(stack, "aws_eks_pod_identity_association").values()
    (association,) = [a for a in associations if a["service_account"] == "aws-load-balancer-controller"]
    assert association["namespace"] == "kube-system"
    role_id = ref(association["role_arn"])
    (policy,) = [p for p in resources_of(stack, "aws_iam_role_policy").values() if ref(p["role"]) == role_id]
    statements = data_of(stack, "aws_iam_policy_document")[ref(policy["policy"])]["statement"]
    actions = {action for statement in statements for action in statement["actions"]}
    upstream_writes = {
        "ec2:CreateSecurityGroup",
        "ec2:AuthorizeSecurityGroupIngress",
        "ec2:DeleteSecurityGroup",
        "elasticloadbalancing:CreateLoadBalancer",
        "elasticloadbalancing:CreateTargetGroup",
        "elasticloadbalancing:CreateListener",
        "elasticloadbalancing:ModifyListenerAttributes",
        "elasticloadbalancing:ModifyCapacityReservation",
        "elasticloadbalancing:RegisterTargets",
        "elasticloadbalancing:SetWebAcl",
        "elasticloadbalancing:AddTags",
        "wafv2:AssociateWebACL",
        "shield:CreateProtection",
    }
    assert upstream_writes <= actions
    for statement in statements:
        conditions = statement.get("condition", [])
        tag_tests = [c for c in conditions if c["variable"].endswith("/elbv2.k8s.aws/cluster")]
        assert all(c["values"] == [names.cluster_name] for c in tag_tests if c["test"] == "StringEquals")
        assert all(c["values"] == ["true"] for c in tag_tests if c["test"] == "Null"), "only 'tag absent' stays a Null test"
        if statement["resources"] != ["*"]:
            assert all(f":{names.region}:{names.account}:" in r or f"::{names.account}:" in r for r in statement["resources"])
        writes = [a for a in statement["actions"] if not a.split(":")[1].startswith(("Describe", "Get", "List"))]
        if statement["resources"] == ["*"] and writes:
            assert statement["sid"] == "CertificatesWafShield", statement["sid"]
    (ingress,) = [s for s in statements if s["sid"] == "AdmitLoadBalancersToGroupsInThisVpc"]
    assert ingress["condition"][0]["variable"] == "ec2:Vpc" and "vpc/${" in ingress["condition"][0]["values"][0]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_outputs_later_stacks_need(env: str, synthesis: Synthesis) -> None:
    outputs = _cluster_stack(synthesis, env)["output"]
    expected = {
        "cluster_name",
        "cluster_arn",
        "cluster_endpoint",
        "cluster_certificate_authority",
        "cluster_security_group_id",
        "node_role_arn",
    }
    assert expected <= set(outputs)
    assert all(outputs[name]["description"] for name in expected)


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_node_groups_follow_the_cluster_version_and_a_pinned_ami_release(env: str, synthesis: Synthesis) -> None:
    """EKS rolls a managed node group only when its `version` or `release_version` changes (EKS API
    UpdateNodegroupVersion; a node group without them stays on the AMI it was created with). Every
    group names the cluster's version by reference, so a version change upgrades the nodes after the
    control plane, and the spec's AMI release, whose minor is the cluster's (AMI release versions read
    `<Kubernetes patch>-<date>`, awslabs/amazon-eks-ami CHANGELOG.md, AMI Release v20260714). A release
    version only applies to EKS's own AMI: the launch template must not name an image
    (EKS User Guide, "Customize managed nodes with launch templates")."""
    spec, stack = SPECS[env], _cluster_stack(synthesis, env)
    cluster_id = next(iter(resources_of(stack, "aws_eks_cluster")))
    for group in resources_of(stack, "aws_eks_node_group").values():
        assert group["version"] == f"${{aws_eks_cluster.{cluster_id}.version}}"
        assert group["release_version"] == spec.cluster.node_ami_release_version
        assert group["release_version"].startswith(f"{spec.cluster.version}.")
        assert group["node_repair_config"] == {"enabled": True}
        template = resources_of(stack, "aws_launch_template")[ref(group["launch_template"]["id"])]
        assert "image_id" not in template
        assert "version" not in group.get("lifecycle", {}).get("ignore_changes", [])


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_zonal_shift_is_enabled(env: str, synthesis: Synthesis) -> None:
    """ARC zonal shift (EKS User Guide, "Learn about Amazon Application Recovery Controller's zonal
    shift in Amazon EKS") moves traffic off an impaired zone only on clusters that enable it."""
    cluster = only(resources_of(_cluster_stack(synthesis, env), "aws_eks_cluster"))
    assert cluster["zonal_shift_config"] == {"enabled": True}


def test_operators_reach_the_private_api_through_session_manager_only(synthesis: Synthesis) -> None:
    """Production's API endpoint is private (EKS User Guide, "Cluster API server endpoint": then only a
    connected network or a host in the VPC reaches it). The path is Session Manager port forwarding
    (`AWS-StartPortForwardingSessionToRemoteHost`) through a host that opens nothing: no inbound rule,
    HTTPS out to the VPC only, IMDSv2, AmazonSSMManagedInstanceCore and no other permission, in a
    private subnet; the cluster security group admits it on 443; the VPC has the interface endpoints
    Session Manager needs (Systems Manager User Guide, "Create VPC endpoints": ssm, ssmmessages,
    ec2messages) with private DNS."""
    stack, network = _cluster_stack(synthesis, "production"), synthesis.stack("production-network")
    instance = only(resources_of(stack, "aws_instance"))
    assert "private" in instance["subnet_id"] and instance["associate_public_ip_address"] is False
    assert instance["metadata_options"]["http_tokens"] == "required"
    assert instance["root_block_device"]["encrypted"] is True
    (group_id,) = [ref(g) for g in instance["vpc_security_group_ids"]]
    group = resources_of(stack, "aws_security_group")[group_id]
    assert "ingress" not in group and "egress" not in group
    rules = resources_of(stack, "aws_vpc_security_group_ingress_rule").values()
    assert not [r for r in rules if group_id in r["security_group_id"]], "the host admits nothing"
    (api,) = [r for r in rules if group_id in r.get("referenced_security_group_id", "")]
    assert (api["from_port"], api["to_port"]) == (443, 443) and "cluster_security_group_id" in api["security_group_id"]
    (egress,) = resources_of(stack, "aws_vpc_security_group_egress_rule").values()
    assert (egress["from_port"], egress["to_port"], egress["cidr_ipv4"]) == (443, 443, str(SPECS["production"].network.vpc_cidr))
    profile = only(resources_of(stack, "aws_iam_instance_profile"))
    role_id = ref(profile["role"])
    attached = [a["policy_arn"] for a in resources_of(stack, "aws_iam_role_policy_attachment").values() if ref(a["role"]) == role_id]
    assert attached == ["arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"]
    assert not [p for p in resources_of(stack, "aws_iam_role_policy").values() if ref(p["role"]) == role_id]
    endpoints = {e["service_name"].rsplit(".", 1)[-1]: e for e in resources_of(network, "aws_vpc_endpoint").values()}
    for service in ("ssm", "ssmmessages", "ec2messages"):
        assert endpoints[service]["vpc_endpoint_type"] == "Interface" and endpoints[service]["private_dns_enabled"] is True
    assert "api_access_instance_id" in stack["output"]
    for env in ("development", "staging"):  # their endpoints are public, limited to the spec's CIDRs
        assert not resources_of(_cluster_stack(synthesis, env), "aws_instance")
