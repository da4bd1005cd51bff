"""Karpenter's metrics and alerts: a ServiceMonitor and the PrometheusRule `karpenter-alerts`.

Kept apart from the application's PrometheusRule (`ai-subsidy-alerts`) so that each can change alone.
Metric names and labels are Karpenter v1.14.1's (aws/karpenter-provider-aws,
`website/content/en/docs/reference/metrics.md`; label names as its capacity dashboard
`getting-started-with-karpenter/karpenter-capacity-dashboard.json` uses them). The chart's Service is
`karpenter` in kube-system with the port `http-metrics` (`charts/karpenter/templates/service.yaml`),
so the scrape job is `karpenter`.
"""

from __future__ import annotations

from cdk8s import ApiObjectMetadata
from constructs import Construct

from charts.alert_rules import prometheus_rule_spec
from charts.observability.rules import Alert, RuleGroup
from charts.observability.severity import Severity
from envspec import EnvironmentSpec, Names
from envspec.naming import (
    KARPENTER_RELEASE,
    KUBE_STATE_METRICS_JOB,
    KUBE_SYSTEM,
    METRICS_PATH,
    MONITORING_NAMESPACE,
    MONITORING_SELECTOR_LABELS,
)
from imports.com.coreos import monitoring as prom

KARPENTER_RULE = "karpenter-alerts"
METRICS_PORT = "http-metrics"
JOB = KARPENTER_RELEASE  # Prometheus names the job after the Service
# p99 time an interruption message waits on the queue before Karpenter handles it; a spot warning
# gives two minutes, so a minute of waiting leaves too little to drain the node.
INTERRUPTION_DELAY_SECONDS = 60


def karpenter_alerts(spec: EnvironmentSpec) -> tuple[Alert, ...]:
    settings = spec.node_autoscaling
    pending = settings.pending_alert_minutes
    ratio = settings.limit_alert_percent / 100
    return (
        Alert(
            name="KarpenterPodsUnschedulable",
            expr=f'max by (namespace, pod) (kube_pod_status_unschedulable{{job="{KUBE_STATE_METRICS_JOB}"}}) > 0',
            for_=f"{pending}m",
            severity=Severity.WARNING,
            summary="A pod has waited for a node longer than a node launch takes",
            description=(
                f"Pod {{{{ $labels.namespace }}}}/{{{{ $labels.pod }}}} has been unschedulable for more than {pending} minutes; "
                "Karpenter launches a node in about two."
            ),
            meaning=f"a pod has been unschedulable for {pending} minutes",
        ),
        Alert(
            name="KarpenterNodePoolLimitNear",
            expr=(
                f'max by (nodepool, resource_type) (karpenter_nodepools_usage{{job="{JOB}"}})'
                f' / max by (nodepool, resource_type) (karpenter_nodepools_limit{{job="{JOB}"}}) >= {ratio}'
            ),
            for_="15m",
            severity=Severity.WARNING,
            summary="A NodePool is close to its limit",
            description=(
                "NodePool {{ $labels.nodepool }} uses {{ $value | humanizePercentage }} of its {{ $labels.resource_type }} limit; "
                "past it Karpenter launches no more nodes and pods stay Pending."
            ),
            meaning=f"a NodePool has used {settings.limit_alert_percent}% of a limit for 15 minutes",
        ),
        Alert(
            name="KarpenterDown",
            expr=f'absent(up{{job="{JOB}"}} == 1)',
            for_="5m",
            severity=Severity.CRITICAL,
            summary="No Karpenter controller is up",
            description=(
                "No karpenter scrape target in kube-system has answered for 5 minutes: no node is launched for Pending pods and "
                "interruption messages are not consumed."
            ),
            meaning="no Karpenter controller has been up for 5 minutes",
        ),
        Alert(
            name="KarpenterInterruptionHandlingSlow",
            expr=(
                "histogram_quantile(0.99, sum by (le) (rate(karpenter_interruption_message_queue_duration_seconds_bucket"
                f'{{job="{JOB}"}}[10m]))) > {INTERRUPTION_DELAY_SECONDS}'
            ),
            for_="10m",
            severity=Severity.WARNING,
            summary="Interruption messages wait on the queue",
            description=(
                f"The 99th percentile wait of interruption messages is {{{{ $value | humanizeDuration }}}} (over "
                f"{INTERRUPTION_DELAY_SECONDS}s): nodes may be reclaimed before they are drained."
            ),
            meaning=f"interruption messages wait over {INTERRUPTION_DELAY_SECONDS}s on the queue",
        ),
    )


def karpenter_rule_groups(spec: EnvironmentSpec, names: Names) -> list[dict]:
    return [RuleGroup("karpenter", karpenter_alerts(spec)).render(names)]


def karpenter_monitoring(scope: Construct, *, spec: EnvironmentSpec, names: Names) -> None:
    labels = {**MONITORING_SELECTOR_LABELS, "app.kubernetes.io/name": KARPENTER_RELEASE}
    prom.ServiceMonitor(
        scope,
        "karpenter_service_monitor",
        metadata=ApiObjectMetadata(name=KARPENTER_RELEASE, namespace=MONITORING_NAMESPACE, labels=labels),
        spec=prom.ServiceMonitorSpec(
            # The chart's selector labels (charts/karpenter/templates/_helpers.tpl, karpenter.selectorLabels).
            selector=prom.ServiceMonitorSpecSelector(
                match_labels={"app.kubernetes.io/name": KARPENTER_RELEASE, "app.kubernetes.io/instance": KARPENTER_RELEASE}
            ),
            namespace_selector=prom.ServiceMonitorSpecNamespaceSelector(match_names=[KUBE_SYSTEM]),
            endpoints=[prom.ServiceMonitorSpecEndpoints(port=METRICS_PORT, path=METRICS_PATH, interval="30s")],
        ),
    )
    prom.PrometheusRule(
        scope,
        "karpenter_rules",
        metadata=ApiObjectMetadata(name=KARPENTER_RULE, namespace=MONITORING_NAMESPACE, labels=dict(MONITORING_SELECTOR_LABELS)),
        spec=prometheus_rule_spec(karpenter_rule_groups(spec, names)),
    )
