"""The `scheduling` chart: where and in what order the application's pods get nodes.

Karpenter's EC2NodeClass and NodePool, the PriorityClasses, and Karpenter's ServiceMonitor and
alerts. Argo CD syncs it right after the namespaces (envspec.naming.APPLICATION_CHARTS): on an empty
cluster the workloads' pods need the NodePool to get nodes at all, and a pod naming a PriorityClass
that does not exist yet is refused by the API server.
"""

from __future__ import annotations

from constructs import Construct

from charts.base import EnvironmentChart
from charts.karpenter_monitoring import karpenter_monitoring
from charts.node_pools import node_class, node_pool
from charts.priority_classes import priority_classes
from envspec import EnvironmentSpec


class SchedulingChart(EnvironmentChart):
    def __init__(self, scope: Construct, spec: EnvironmentSpec):
        super().__init__(scope, "scheduling", spec)
        self.node_class = node_class(self, spec, self.names)
        self.node_pool = node_pool(self, spec)
        self.priority_classes = priority_classes(self)
        karpenter_monitoring(self, spec, self.names)
