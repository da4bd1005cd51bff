"""The `scheduling` chart: where and in what order the application's pods get nodes.

Karpenter's EC2NodeClass and NodePool, and the PriorityClasses. Argo CD syncs it right after the
add-ons (charts/gitops.py WAVES): on an empty cluster the workloads' pods need the NodePool to get
nodes at all, and a pod naming a PriorityClass that does not exist yet is refused by the API server.
Karpenter's ServiceMonitor and alerts need the Prometheus operator's CRDs, which come later: they are
in the `scrape-targets` chart.
"""

from __future__ import annotations

from constructs import Construct

from charts.base import EnvironmentChart
from charts.node_pools import node_class, node_pool
from charts.priority_classes import priority_classes
from envspec import EnvironmentSpec


class SchedulingChart(EnvironmentChart):
    def __init__(self, scope: Construct, spec: EnvironmentSpec):
        super().__init__(scope, "scheduling", spec=spec)
        self.node_class = node_class(self, spec=spec, names=self.names)
        self.node_pool = node_pool(self, spec=spec)
        self.priority_classes = priority_classes(self)
