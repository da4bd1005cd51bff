"""What runs in the cluster and costs money but is not a Terraform resource: the Karpenter nodes, the
ALB the AWS Load Balancer Controller creates for the public Ingress (charts/ingress.py), and the EBS
volumes of Prometheus and Alertmanager (charts/addons.py). They are derived from the spec, and shown
on the stack of the EKS cluster.

- Karpenter never launches a node that would take a NodePool past its `limits` (Karpenter docs,
  NodePools, "limits"); the limits count node capacity, as envspec.capacity computes it.
- An ALB bills hours and LCU-hours (Elastic Load Balancing pricing), and an internet-facing ALB holds
  a public IPv4 address in each of its subnets' zones (VPC pricing, public IPv4 addresses).
"""

from __future__ import annotations

from typing import Any

from envspec.capacity import PodRequest, allocatable, allowed_instance_types, pack, spread_zones
from envspec.quantities import parse_cpu, parse_memory
from tools.cost.model import Context, Line


def _pods(spec: Any, replicas: str) -> list[PodRequest]:
    pods = []
    for key in ("backend", "frontend", "ai_worker"):
        workload = getattr(spec.workloads, key)
        request = PodRequest(
            key, int(parse_cpu(workload.resources.cpu_request) * 1000), parse_memory(workload.resources.memory_request) // 2**20
        )
        pods += [request] * getattr(workload.autoscaling, replicas)
    return pods


def _karpenter_nodes(ctx: Context, stack: str) -> list[Line]:
    """The application nodes Karpenter runs, which Terraform does not declare: at least what the
    HPAs' minimum replicas need on the cheapest allowed type (envspec.capacity's packing), at most
    what the NodePool's CPU and memory limits let it launch of the dearest allowed type."""
    spec, region = ctx.spec, ctx.spec.aws.region
    settings = spec.node_autoscaling
    disk = settings.disk_size_gib * ctx.price(region, "ebs.gp3.gib_month")
    low, high = [], []
    for instance_type in allowed_instance_types(spec):
        hour = ctx.hourly(region, f"ec2.{instance_type}.hour") + disk
        nodes = pack(_pods(spec, "min_replicas"), instance_type, spread_zones(spec)).nodes
        node = allocatable(instance_type)
        most = min(settings.cpu_limit * 1000 // node.capacity_millicpu, settings.memory_limit_gib * 1024 // node.capacity_memory_mib)
        low.append((nodes * hour, nodes, instance_type))
        high.append((most * hour, most, instance_type))
    cheapest, dearest = min(low), max(high)
    description = (
        f"Karpenter nodes: {cheapest[1]} x {cheapest[2]} at the HPA minima to {dearest[1]} x {dearest[2]} at the NodePool limits "
        f"({settings.cpu_limit} vCPU, {settings.memory_limit_gib} GiB), on-demand, with {settings.disk_size_gib} GiB gp3 each"
    )
    return [Line(stack, "karpenter.nodepool", "karpenter", "priced", description, cheapest[0], dearest[0], ("ec2.*.hour",))]


def _ingress_and_volumes(ctx: Context, stack: str) -> list[Line]:
    spec, region = ctx.spec, ctx.spec.aws.region
    zones, lcus, monitoring = len(spec.availability_zones), spec.cost.usage.alb_lcus, spec.monitoring
    gib = monitoring.prometheus_replicas * monitoring.prometheus_volume_gib
    gib += monitoring.alertmanager_replicas * monitoring.alertmanager_volume_gib

    def item(address: str, description: str, quantity: float, sku: str) -> Line:
        amount = ctx.hourly(region, sku, quantity) if sku.endswith("hour") else quantity * ctx.price(region, sku)
        return Line(stack, address, "kubernetes", "priced", description, amount, amount, (sku,))

    alb = "kubernetes.ingress.alb"
    return [
        item(alb, "public ALB of the Ingress (AWS Load Balancer Controller)", 1, "elb.application.hour"),
        item(alb, f"{lcus:g} LCU on average (cost.usage.alb_lcus)", lcus, "elb.application.lcu_hour"),
        item(alb, f"{zones} public IPv4 addresses (one per zone)", zones, "vpc.public_ipv4.hour"),
        item("kubernetes.monitoring.volumes", f"{gib} GiB gp3: Prometheus and Alertmanager volumes", gib, "ebs.gp3.gib_month"),
    ]


def cluster_lines(ctx: Context, stack: str) -> list[Line]:
    return _karpenter_nodes(ctx, stack) + _ingress_and_volumes(ctx, stack)
