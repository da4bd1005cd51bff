"""What the application nodes must hold, and whether the NodePool's limits and instance types can.

Karpenter never launches a node that would take a NodePool past its `limits`, so a limit below what
the pods may request at their HPAs' maxima leaves pods Pending exactly when load peaks. The loader
refuses such a spec (`capacity_problems`), and tests/test_capacity.py proves it per environment.

Allocatable per instance type follows Karpenter's own arithmetic at v1.14.1
(aws/karpenter-provider-aws, pkg/providers/instancetype/types.go):
- capacity memory is the instance's memory less `vmMemoryOverheadPercent` (chart default 0.075);
- kube-reserved CPU is 6% of the first core, 1% of the second, 0.5% of the next two, 0.25% above;
- kube-reserved memory is 11 MiB per pod plus 255 MiB, with max pods from the ENI limits
  (ENIs x (IPv4 addresses per ENI - 1) + 2, the AL2023 default);
- the eviction threshold takes another 100 MiB.
vCPUs, memory, ENIs and addresses per ENI are the EC2 documentation's ("Amazon EC2 instance type
specifications", general purpose, and "IP addresses per network interface per instance type").
The NodePool limit counts node *capacity* (NodeClaim status.capacity), which is what `limits` caps.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from envspec.models import EnvironmentSpec
from envspec.quantities import parse_cpu, parse_memory

MIB = 2**20
GIB = 2**30
VM_MEMORY_OVERHEAD = 0.075  # Karpenter chart settings.vmMemoryOverheadPercent default at v1.14.1
EVICTION_MEMORY_MIB = 100


@dataclass(frozen=True)
class InstanceShape:
    vcpus: int
    memory_mib: int
    enis: int
    ipv4_per_eni: int


# Sizes of the Intel and AMD general-purpose families the NodePools allow (m5, m6i, m6a, m7i share them).
SIZES = {
    "large": InstanceShape(2, 8192, 3, 10),
    "xlarge": InstanceShape(4, 16384, 4, 15),
    "2xlarge": InstanceShape(8, 32768, 4, 15),
    "4xlarge": InstanceShape(16, 65536, 8, 30),
}
FAMILIES = ("m5", "m6i", "m6a", "m7i")


@dataclass(frozen=True)
class Allocatable:
    instance_type: str
    capacity_millicpu: int
    capacity_memory_mib: int
    millicpu: int
    memory_mib: int
    max_pods: int


def allocatable(instance_type: str) -> Allocatable:
    family, size = instance_type.split(".", 1)
    if family not in FAMILIES or size not in SIZES:
        raise ValueError(f"{instance_type} is not in the capacity table (families {', '.join(FAMILIES)}; sizes {', '.join(SIZES)})")
    shape = SIZES[size]
    capacity_memory = shape.memory_mib - math.ceil(shape.memory_mib * VM_MEMORY_OVERHEAD)
    max_pods = shape.enis * (shape.ipv4_per_eni - 1) + 2
    millicpu = shape.vcpus * 1000
    reserved_cpu = 0
    for start, end, share in ((0, 1000, 0.06), (1000, 2000, 0.01), (2000, 4000, 0.005), (4000, 1 << 31, 0.0025)):
        if millicpu >= start:
            reserved_cpu += int((min(millicpu, end) - start) * share)
    reserved_memory = 11 * max_pods + 255 + EVICTION_MEMORY_MIB
    return Allocatable(instance_type, millicpu, capacity_memory, millicpu - reserved_cpu, capacity_memory - reserved_memory, max_pods)


# Requests of the DaemonSet pods on every application node, as the add-ons' upstream charts default
# them (amazon-vpc-cni-k8s: aws-node 25m CPU; kube-proxy 100m CPU; aws-ebs-csi-driver: the node
# plugin's three containers 10m/40Mi each). The Pod Identity agent and node-exporter request nothing
# by default; they are counted at 25m/50Mi each so that a later request does not quietly break the
# proof. Raise an entry when an add-on's configuration sets a larger request.
DAEMONSET_REQUESTS = {
    "aws-node": ("25m", "0"),
    "kube-proxy": ("100m", "0"),
    "ebs-csi-node": ("30m", "120Mi"),
    "eks-pod-identity-agent": ("25m", "50Mi"),
    "node-exporter": ("25m", "50Mi"),
}


def daemonset_request() -> tuple[int, int]:
    """(millicpu, MiB) the DaemonSets take on each node."""
    cpu = sum(int(parse_cpu(c) * 1000) for c, _ in DAEMONSET_REQUESTS.values())
    memory = sum(parse_memory(m) // MIB for _, m in DAEMONSET_REQUESTS.values())
    return cpu, memory


@dataclass(frozen=True)
class PodRequest:
    owner: str
    millicpu: int
    memory_mib: int


def peak_pods(spec: EnvironmentSpec) -> list[PodRequest]:
    """Every application pod at its HPA's maximum, plus the migration Job's pod (it runs during a deploy)."""
    pods = []
    for key in ("backend", "frontend", "ai_worker"):
        workload = getattr(spec.workloads, key)
        request = PodRequest(
            key, int(parse_cpu(workload.resources.cpu_request) * 1000), parse_memory(workload.resources.memory_request) // MIB
        )
        pods += [request] * workload.autoscaling.max_replicas
    backend = spec.workloads.backend.resources
    pods.append(PodRequest("migration", int(parse_cpu(backend.cpu_request) * 1000), parse_memory(backend.memory_request) // MIB))
    return pods


def allowed_instance_types(spec: EnvironmentSpec) -> list[str]:
    settings = spec.node_autoscaling
    return [f"{family}.{size}" for family in settings.instance_families for size in settings.instance_sizes]


@dataclass(frozen=True)
class Packing:
    instance_type: str
    nodes: int
    millicpu: int  # capacity of those nodes, as the NodePool limit counts it
    memory_mib: int


def _first_fit(pods: list[PodRequest], instance_type: str) -> int:
    """Nodes of one type that first-fit decreasing needs for the pods, each node also running the DaemonSets."""
    node = allocatable(instance_type)
    ds_cpu, ds_memory = daemonset_request()
    free_cpu, free_memory, free_pods = node.millicpu - ds_cpu, node.memory_mib - ds_memory, node.max_pods - len(DAEMONSET_REQUESTS)
    bins: list[list[int]] = []
    for pod in sorted(pods, key=lambda p: (p.millicpu, p.memory_mib), reverse=True):
        if pod.millicpu > free_cpu or pod.memory_mib > free_memory:
            raise ValueError(
                f"a {pod.owner} pod ({pod.millicpu}m CPU, {pod.memory_mib}Mi) does not fit a {instance_type} "
                f"({free_cpu}m CPU, {free_memory}Mi allocatable after DaemonSets and kubelet reserve)"
            )
        for used in bins:
            if used[0] + pod.millicpu <= free_cpu and used[1] + pod.memory_mib <= free_memory and used[2] < free_pods:
                used[0] += pod.millicpu
                used[1] += pod.memory_mib
                used[2] += 1
                break
        else:
            bins.append([pod.millicpu, pod.memory_mib, 1])
    return len(bins)


def pack(pods: list[PodRequest], instance_type: str, zones: int = 1) -> Packing:
    """Nodes of one type for the pods. With `zones` > 1 (a required zone spread) each component's
    replicas are dealt round-robin over the zones and every zone is packed on its own nodes."""
    per_zone: list[list[PodRequest]] = [[] for _ in range(zones)]
    seen: dict[str, int] = {}
    for pod in pods:
        index = seen.get(pod.owner, 0)
        per_zone[index % zones].append(pod)
        seen[pod.owner] = index + 1
    nodes = sum(_first_fit(zone_pods, instance_type) for zone_pods in per_zone if zone_pods)
    node = allocatable(instance_type)
    return Packing(instance_type, nodes, nodes * node.capacity_millicpu, nodes * node.capacity_memory_mib)


def spread_zones(spec: EnvironmentSpec) -> int:
    return len(spec.availability_zones) if spec.workloads.zone_spread == "required" else 1


def packings(spec: EnvironmentSpec) -> list[Packing]:
    """The peak pods packed on each allowed instance type (Karpenter may pick any of them)."""
    return [pack(peak_pods(spec), instance_type, spread_zones(spec)) for instance_type in allowed_instance_types(spec)]


def capacity_problems(spec: EnvironmentSpec) -> list[tuple[tuple[str, ...], str]]:
    """(field location, reason) for each way the NodePool cannot hold the spec's own peak."""
    settings = spec.node_autoscaling
    problems: list[tuple[tuple[str, ...], str]] = []
    unknown = [family for family in settings.instance_families if family not in FAMILIES]
    if unknown:
        return [(("node_autoscaling", "instance_families"), f"{', '.join(unknown)} not in the capacity table ({', '.join(FAMILIES)})")]
    try:
        for instance_type in allowed_instance_types(spec):
            allocatable(instance_type)
        packed = packings(spec)
    except ValueError as error:
        return [(("node_autoscaling", "instance_sizes"), str(error))]
    cpu = max(packed, key=lambda p: p.millicpu)
    memory = max(packed, key=lambda p: p.memory_mib)
    if cpu.millicpu > settings.cpu_limit * 1000:
        problems.append(
            (
                ("node_autoscaling", "cpu_limit"),
                f"{settings.cpu_limit} vCPUs cannot hold the HPA maxima: they need {cpu.nodes} x {cpu.instance_type} = "
                f"{cpu.millicpu // 1000} vCPUs of node capacity (pods, DaemonSets and kubelet reserve included)",
            )
        )
    if memory.memory_mib > settings.memory_limit_gib * 1024:
        problems.append(
            (
                ("node_autoscaling", "memory_limit_gib"),
                f"{settings.memory_limit_gib} GiB cannot hold the HPA maxima: they need {memory.nodes} x {memory.instance_type} = "
                f"{math.ceil(memory.memory_mib / 1024)} GiB of node capacity (pods, DaemonSets and kubelet reserve included)",
            )
        )
    return problems


def node_autoscaling_problems(spec: EnvironmentSpec) -> list[tuple[tuple[str, ...], str]]:
    """Everything the loader refuses about `node_autoscaling` once the spec parsed: a floating AMI in
    production, and limits that cannot hold the peak."""
    problems: list[tuple[tuple[str, ...], str]] = []
    if spec.is_production and spec.node_autoscaling.image_alias.endswith("@latest"):
        problems.append((("node_autoscaling", "image_alias"), "production pins the AMI release (e.g. al2023@v20260815), never @latest"))
    return problems + capacity_problems(spec)
