"""The log agent's metrics and alert: a ServiceMonitor and the PrometheusRule `log-agent-alerts`.

Fluent Bit serves its Prometheus metrics on the HTTP server of its SERVICE section (port 2020,
`/api/v1/metrics/prometheus`); each output's counters carry the output's alias as `name`
(`application`, `dataplane`, `host`: charts/log_agent.py). A record is lost when the output gives up
on it: `fluentbit_output_dropped_records_total` counts records dropped, and
`fluentbit_output_retries_failed_total` chunks whose retries ran out (Fluent Bit manual,
"Monitoring"). The chart's Service (stable/aws-for-fluent-bit templates/service.yaml at chart 0.2.0)
is the release's fullname, `fluent-bit`, with the port `monitor-agent` and the chart's selector labels
(templates/_helpers.tpl): so the scrape job is `fluent-bit`.
"""

from __future__ import annotations

from cdk8s import ApiObjectMetadata
from constructs import Construct

from charts.alert_rules import prometheus_rule_spec
from charts.log_agent import METRICS_PATH
from charts.observability.rules import WARNING, Alert, RuleGroup
from envspec import Names
from envspec.naming import LOG_AGENT_NAME, LOG_AGENT_NAMESPACE, LOG_AGENT_RELEASE, MONITORING_NAMESPACE, MONITORING_SELECTOR_LABELS
from imports.com.coreos import monitoring as prom

LOG_AGENT_RULE = "log-agent-alerts"
METRICS_PORT_NAME = "monitor-agent"
JOB = LOG_AGENT_NAME  # Prometheus names the job after the Service
# The chart's selector labels: its name, and the release's fullname (fullnameOverride).
SELECTOR_LABELS = {"app.kubernetes.io/name": LOG_AGENT_RELEASE, "app.kubernetes.io/instance": LOG_AGENT_NAME}
LOSS_WINDOW = "10m"


def log_agent_alerts() -> tuple[Alert, ...]:
    dropped = f'sum by (pod, name) (increase(fluentbit_output_dropped_records_total{{job="{JOB}"}}[{LOSS_WINDOW}])) > 0'
    failed = f'sum by (pod, name) (increase(fluentbit_output_retries_failed_total{{job="{JOB}"}}[{LOSS_WINDOW}])) > 0'
    return (
        Alert(
            name="LogAgentDroppingRecords",
            expr=f"({dropped}) or ({failed})",
            for_="0m",
            severity=WARNING,
            summary="The log agent lost records on their way to CloudWatch Logs",
            description=(
                "Fluent Bit {{ $labels.pod }} gave up on records for its {{ $labels.name }} log group in the last "
                f"{LOSS_WINDOW}: those log lines never reach CloudWatch Logs."
            ),
            meaning="the log agent dropped records or ran out of retries",
        ),
    )


def log_agent_rule_groups(names: Names) -> list[dict]:
    return [RuleGroup("log-agent", log_agent_alerts()).render(names)]


def log_agent_monitoring(scope: Construct, *, names: Names) -> None:
    labels = {**MONITORING_SELECTOR_LABELS, "app.kubernetes.io/name": LOG_AGENT_NAME}
    prom.ServiceMonitor(
        scope,
        "log_agent_service_monitor",
        metadata=ApiObjectMetadata(name=LOG_AGENT_NAME, namespace=MONITORING_NAMESPACE, labels=labels),
        spec=prom.ServiceMonitorSpec(
            selector=prom.ServiceMonitorSpecSelector(match_labels=dict(SELECTOR_LABELS)),
            namespace_selector=prom.ServiceMonitorSpecNamespaceSelector(match_names=[LOG_AGENT_NAMESPACE]),
            endpoints=[prom.ServiceMonitorSpecEndpoints(port=METRICS_PORT_NAME, path=METRICS_PATH, interval="30s")],
        ),
    )
    prom.PrometheusRule(
        scope,
        "log_agent_rules",
        metadata=ApiObjectMetadata(name=LOG_AGENT_RULE, namespace=MONITORING_NAMESPACE, labels=dict(MONITORING_SELECTOR_LABELS)),
        spec=prometheus_rule_spec(log_agent_rule_groups(names)),
    )
