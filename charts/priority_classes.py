"""PriorityClasses: who waits when the nodes are full.

The scheduler preempts lower-priority pods to place a higher one (Kubernetes "Pod Priority and
Preemption"), and Karpenter provisions for Pending pods regardless of priority; so at a NodePool
limit, the user-facing backend and frontend displace the AI worker, never the reverse. Cluster
controllers run above all of them with the built-in `system-cluster-critical` (2,000,000,000; the
Karpenter chart's default) on their own node group; PRIORITY_PLATFORM is for add-ons that run on the
application nodes. None is the global default: a pod that names no class gets priority 0 and waits first.
"""

from __future__ import annotations

from cdk8s_plus_27 import k8s
from constructs import Construct

from envspec.naming import PRIORITY_BACKGROUND, PRIORITY_PLATFORM, PRIORITY_USER_FACING
from envspec.topology import AI_WORKER, BACKEND, FRONTEND, Component

# Values far below the system classes (which start at 1,000,000,000; user classes must stay under it).
PRIORITIES = {
    PRIORITY_PLATFORM: (100_000, "Cluster add-ons on the application nodes: they keep the others running."),
    PRIORITY_USER_FACING: (10_000, "The backend and frontend users wait on; they preempt background work."),
    PRIORITY_BACKGROUND: (1_000, "The AI worker's queue can wait while users are served."),
}
COMPONENT_PRIORITY = {BACKEND.key: PRIORITY_USER_FACING, FRONTEND.key: PRIORITY_USER_FACING, AI_WORKER.key: PRIORITY_BACKGROUND}


def priority_class_for(component: Component) -> str:
    return COMPONENT_PRIORITY[component.key]


def priority_classes(scope: Construct) -> list[k8s.KubePriorityClass]:
    return [
        k8s.KubePriorityClass(
            scope,
            f"priority_{name}",
            metadata=k8s.ObjectMeta(name=name),
            value=value,
            global_default=False,
            preemption_policy="PreemptLowerPriority",
            description=description,
        )
        for name, (value, description) in PRIORITIES.items()
    ]
