"""The architecture of one environment, read from its synthesized output (not drawn by hand).

Terraform JSON (cdktf.out/stacks/<env>-*/cdk.tf.json) gives the regions, the VPC and its subnets per
zone, the NAT gateways and the routes to them, the EKS cluster and node groups, RDS, ElastiCache, the
buckets and their replication, AWS Backup's vaults and copies, and the WAF. The Kubernetes manifests
(dist/<env>/) give the workloads, the Karpenter NodePool and the Ingress the load balancer
controller turns into the ALB. Who talks to which data store is the topology's (envspec/topology.py),
the same table the network policies and IAM are derived from.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from envspec import load_environments, names_for
from envspec.topology import COMPONENTS, DataStore
from tools.diagram.dot import Cluster, Graph

REF = re.compile(r"\$\{([a-z0-9_]+)\.([^.}]+)\.[a-z_]+\}")
TIERS = ("public", "private", "isolated")
TRAFFIC = {"color": "#1f5fa8"}
DATA = {"color": "#2e7d32", "style": "dashed"}
REPLICATION = {"color": "#b23c17", "style": "dotted", "penwidth": "1.6"}
EGRESS = {"color": "#777777"}


def _ref(expression: str) -> tuple[str, str]:
    match = REF.fullmatch(expression)
    if not match:
        raise ValueError(f"not a resource reference: {expression}")
    return match.group(1), match.group(2)


class Output:
    """One environment's synthesized Terraform stacks and Kubernetes manifests."""

    def __init__(self, terraform_dir: Path, kubernetes_dir: Path, env: str):
        self.env = env
        self.stacks = {
            path.parent.name.removeprefix(f"{env}-"): json.loads(path.read_text(encoding="utf-8"))
            for path in sorted((terraform_dir / "stacks").glob(f"{env}-*/cdk.tf.json"))
        }
        if not self.stacks:
            raise FileNotFoundError(f"no synthesized stacks of {env} in {terraform_dir}/stacks")
        self.manifests = [
            doc
            for path in sorted((kubernetes_dir / env).glob("*.k8s.yaml"))
            for doc in yaml.safe_load_all(path.read_text(encoding="utf-8"))
            if doc
        ]

    def resources(self, layer: str, kind: str) -> dict[str, dict[str, Any]]:
        return self.stacks.get(layer, {}).get("resource", {}).get(kind, {})

    def objects(self, kind: str) -> Iterator[dict[str, Any]]:
        return (doc for doc in self.manifests if doc["kind"] == kind)

    def regions(self, layer: str) -> dict[str | None, str]:
        """Provider alias (None: the default provider) -> region."""
        providers = self.stacks[layer]["provider"]["aws"]
        return {provider.get("alias"): provider["region"] for provider in providers}


def _node_id(kind: str, logical: str) -> str:
    return f"{kind}.{logical}"


def _network(graph: Graph, vpc_cluster: Cluster, out: Output) -> dict[str, str]:
    """Zones with their three subnet tiers and NAT gateways; returns the private subnet of each zone's node id."""
    subnets = out.resources("network", "aws_subnet")
    zones = sorted({subnet["availability_zone"] for subnet in subnets.values()})
    tier_of = {logical: next(tier for tier in TIERS if f"_{tier}_" in f"_{logical}") for logical in subnets}
    private: dict[str, str] = {}
    for zone in zones:
        box = vpc_cluster.cluster(f"zone_{zone}", zone, style="rounded", color="#9e9e9e")
        for tier in TIERS:
            for logical, subnet in sorted(subnets.items()):
                if subnet["availability_zone"] == zone and tier_of[logical] == tier:
                    node = box.node(_node_id("aws_subnet", logical), f"{tier} subnet\n{subnet['cidr_block']}", shape="box")
                    if tier == "private":
                        private[zone] = node
        for logical, nat in sorted(out.resources("network", "aws_nat_gateway").items()):
            if _ref(nat["subnet_id"])[1] in subnets and subnets[_ref(nat["subnet_id"])[1]]["availability_zone"] == zone:
                box.node(_node_id("aws_nat_gateway", logical), "NAT gateway", shape="cds")
    (igw,) = out.resources("network", "aws_internet_gateway")
    vpc_cluster.node(_node_id("aws_internet_gateway", igw), "internet gateway", shape="cds")
    # Private subnets leave through the NAT gateway their route table names.
    tables = {
        _ref(a["subnet_id"])[1]: _ref(a["route_table_id"])[1] for a in out.resources("network", "aws_route_table_association").values()
    }
    nat_of = {
        _ref(route["route_table_id"])[1]: _ref(route["nat_gateway_id"])[1]
        for route in out.resources("network", "aws_route").values()
        if route.get("nat_gateway_id")
    }
    for logical in sorted(subnets):
        nat = nat_of.get(tables.get(logical, ""))
        if nat:
            graph.edge(_node_id("aws_subnet", logical), _node_id("aws_nat_gateway", nat), **EGRESS)
    for logical in sorted(out.resources("network", "aws_nat_gateway")):
        graph.edge(_node_id("aws_nat_gateway", logical), _node_id("aws_internet_gateway", igw), **EGRESS)
    return private


def _cluster(vpc_cluster: Cluster, out: Output) -> dict[str, str]:
    """The EKS cluster, its node groups, the Karpenter NodePool and the workloads; returns component -> node id."""
    (eks,) = out.resources("cluster", "aws_eks_cluster").values()
    box = vpc_cluster.cluster("eks", f"EKS {eks['name']} (Kubernetes {eks['version']}), nodes in the private subnets", color="#1f5fa8")
    for logical, group in sorted(out.resources("cluster", "aws_eks_node_group").items()):
        scaling = group["scaling_config"]
        box.node(
            _node_id("aws_eks_node_group", logical),
            f"managed node group {group['node_group_name'].removeprefix(eks['name'] + '-')}\n"
            f"{', '.join(group['instance_types'])} x {scaling['min_size']}-{scaling['max_size']}",
            shape="box3d",
        )
    for pool in out.objects("NodePool"):
        wanted = {req["key"].rsplit("/", 1)[-1]: req["values"] for req in pool["spec"]["template"]["spec"]["requirements"]}
        limits = pool["spec"]["limits"]
        box.node(
            f"nodepool.{pool['metadata']['name']}",
            f"Karpenter NodePool {pool['metadata']['name']}\n{', '.join(wanted.get('instance-family', []))} "
            f"({', '.join(wanted.get('capacity-type', []))})\nup to {limits['cpu']} vCPU, {limits['memory']}",
            shape="box3d",
        )
    autoscalers = {hpa["spec"]["scaleTargetRef"]["name"]: hpa["spec"] for hpa in out.objects("HorizontalPodAutoscaler")}
    workloads: dict[str, str] = {}
    for deployment in sorted(out.objects("Deployment"), key=lambda doc: doc["metadata"]["name"]):
        name = deployment["metadata"]["name"]
        if name not in {component.name for component in COMPONENTS}:
            continue
        hpa = autoscalers.get(name, {})
        replicas = f"\n{hpa['minReplicas']}-{hpa['maxReplicas']} replicas" if hpa else ""
        workloads[name] = box.node(f"deployment.{name}", f"{name}{replicas}", shape="component", color="#1f5fa8")
    return workloads


def _data(graph: Graph, vpc_cluster: Cluster, out: Output) -> dict[DataStore, str]:
    box = vpc_cluster.cluster("data", "data stores, isolated subnets (no route out)", color="#2e7d32")
    stores: dict[DataStore, str] = {}
    for logical, db in sorted(out.resources("data", "aws_db_instance").items()):
        primary = box.node(
            _node_id("aws_db_instance", logical), f"RDS PostgreSQL {db['engine_version']}\n{db['identifier']}\n{db['instance_class']}"
        )
        stores[DataStore.DATABASE] = primary
        if db.get("multi_az"):
            standby = box.node(f"{primary}.standby", "RDS standby\n(another zone)", style="dashed")
            graph.edge(primary, standby, label="synchronous", **REPLICATION)
    for logical, group in sorted(out.resources("data", "aws_elasticache_replication_group").items()):
        nodes = group.get("num_cache_clusters", 1)
        failover = ", automatic failover" if group.get("automatic_failover_enabled") else ""
        stores[DataStore.CACHE] = box.node(
            _node_id("aws_elasticache_replication_group", logical),
            f"ElastiCache Redis {group['engine_version']}\n{nodes} x {group['node_type']}{failover}",
        )
    return stores


def _buckets(regions: dict[str, Cluster], out: Output) -> dict[str, str]:
    """Every bucket, in the region of its provider; returns `<layer>.<logical>` -> node id."""
    found: dict[str, str] = {}
    for layer in sorted(out.stacks):
        region_of = out.regions(layer) if "provider" in out.stacks[layer] else {}
        for logical, bucket in sorted(out.resources(layer, "aws_s3_bucket").items()):
            region = region_of.get(bucket.get("provider", "").removeprefix("aws.") or None)
            name = bucket["bucket"].removeprefix(f"ai-subsidy-{out.env}-").rsplit("-", 1)[0]
            node = _node_id("aws_s3_bucket", f"{layer}.{logical}")
            found[f"{layer}.{logical}"] = _bucket_box(regions[region], region).node(node, f"S3 {name}", shape="folder")
    return found


def _bucket_named(out: Output, buckets: dict[str, str], name: str) -> str:
    """The `<layer>.<logical>` key of the bucket named `name`."""
    (key,) = [key for key in buckets if out.resources(key.split(".")[0], "aws_s3_bucket")[key.split(".", 1)[1]]["bucket"] == name]
    return key


def _bucket_box(region_cluster: Cluster, region: str) -> Cluster:
    for child in region_cluster.clusters:
        if child.name == f"buckets_{region}":
            return child
    return region_cluster.cluster(f"buckets_{region}", "S3 buckets", color="#9e9e9e")


def architecture(terraform_dir: Path, kubernetes_dir: Path, env: str) -> Graph:
    out = Output(terraform_dir, kubernetes_dir, env)
    primary_region, dr_region = out.regions("backup")[None], out.regions("backup").get("dr")
    graph = Graph(
        f"architecture-{env}",
        graph={
            "rankdir": "TB",
            "fontname": "Helvetica",
            "fontsize": "11",
            "compound": "true",
            "newrank": "true",
            "labelloc": "t",
            "label": f"{env}: generated from its synthesized Terraform JSON and Kubernetes manifests (make diagram)",
        },
        node_defaults={"fontname": "Helvetica", "fontsize": "10", "shape": "box", "style": "rounded"},
        edge_defaults={"fontname": "Helvetica", "fontsize": "9"},
    )
    users = graph.node("users", "users (HTTPS)", shape="oval")
    regions = {primary_region: graph.cluster(f"region_{primary_region}", f"{primary_region} (primary)", color="#424242")}
    if dr_region:
        regions[dr_region] = graph.cluster(f"region_{dr_region}", f"{dr_region} (disaster recovery)", color="#b23c17")
    primary = regions[primary_region]

    (waf,) = out.resources("edge", "aws_wafv2_web_acl").values()
    rules = json.loads(waf["rule_json"])
    waf_node = primary.node("waf", f"WAF web ACL {waf['name']}\n({len(rules)} rules)", shape="hexagon")
    (ingress,) = out.objects("Ingress")
    annotations = ingress["metadata"]["annotations"]
    alb = primary.node(
        "alb", f"ALB {annotations['alb.ingress.kubernetes.io/load-balancer-name']}\n(AWS Load Balancer Controller)", shape="hexagon"
    )
    graph.edge(users, waf_node, **TRAFFIC)
    graph.edge(waf_node, alb, **TRAFFIC)

    vpc = next(iter(out.resources("network", "aws_vpc").values()))
    vpc_cluster = primary.cluster("vpc", f"VPC {vpc['cidr_block']}", color="#616161")
    _network(graph, vpc_cluster, out)
    workloads = _cluster(vpc_cluster, out)
    stores = _data(graph, vpc_cluster, out)
    buckets = _buckets(regions, out)

    services = {component.service_name: component.name for component in COMPONENTS if component.service_name}
    targets = sorted({path["backend"]["service"]["name"] for rule in ingress["spec"]["rules"] for path in rule["http"]["paths"]})
    for service in targets:
        graph.edge(alb, workloads[services[service]], **TRAFFIC)
    files = _bucket_named(out, buckets, names_for(load_environments(only=[env])[env]).bucket("files"))
    for component in COMPONENTS:
        for callee in component.calls:
            if callee.name in ("BACKEND",):
                graph.edge(workloads[component.name], workloads["ai-subsidy-backend"], **TRAFFIC)
        for store in sorted(component.stores, key=lambda s: s.purpose):
            graph.edge(workloads[component.name], stores[store], **DATA)
        if component.files is not None:
            graph.edge(workloads[component.name], buckets[files], **DATA)

    for _, replication in sorted(out.resources("backup", "aws_s3_bucket_replication_configuration").items()):
        source = _bucket_named(out, buckets, replication["bucket"])
        for rule in replication["rule"]:
            destination = f"backup.{_ref(rule['destination']['bucket'])[1]}"
            graph.edge(buckets[source], buckets[destination], label="replication (RTC 15 min)", **REPLICATION)
    vaults = {}
    region_of = out.regions("backup")
    for logical, vault in sorted(out.resources("backup", "aws_backup_vault").items()):
        region = region_of[vault.get("provider", "").removeprefix("aws.") or None]
        vaults[logical] = regions[region].node(
            _node_id("aws_backup_vault", logical), f"AWS Backup vault\n{vault['name']}", shape="cylinder"
        )
    for plan in out.resources("backup", "aws_backup_plan").values():
        for rule in plan["rule"]:
            target = vaults[_ref(rule["target_vault_name"])[1]] if rule["target_vault_name"].startswith("${") else None
            if target:
                graph.edge(stores[DataStore.DATABASE], target, label=f"{rule['rule_name']} snapshots", **REPLICATION)
                graph.edge(buckets[files], target, **REPLICATION)
            for copy in rule.get("copy_action") or []:
                graph.edge(target, vaults[_ref(copy["destination_vault_arn"])[1]], label="copy", **REPLICATION)
    for logical, replica in sorted(out.resources("backup", "aws_db_instance_automated_backups_replication").items()):
        node = regions[dr_region].node(
            _node_id("aws_db_instance_automated_backups_replication", logical),
            f"RDS automated backups\n(point-in-time restore, {replica['retention_period']} days)",
            shape="cylinder",
        )
        graph.edge(stores[DataStore.DATABASE], node, label="backup replication", **REPLICATION)
    _legend(graph)
    return graph


def _legend(graph: Graph) -> None:
    legend = graph.cluster("legend", "legend", color="#bdbdbd")
    for name, style, text in (
        ("traffic", TRAFFIC, "requests"),
        ("data", DATA, "reads and writes"),
        ("replication", REPLICATION, "copies"),
        ("egress", EGRESS, "egress"),
    ):
        legend.node(f"legend.{name}.a", text, shape="plaintext")
        legend.node(f"legend.{name}.b", "", shape="point")
        graph.edge(f"legend.{name}.a", f"legend.{name}.b", **style)
