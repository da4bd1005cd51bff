"""The application's recording and alerting rules (PrometheusRule `ai-subsidy-alerts`).

Rules of a group run in order at the same evaluation, so each group records first and alerts on the
fresh result after. Every alert has a `severity` label (`severity.Severity`) and, when users or
data are at risk, an `impact` label: in an environment that pages, a critical alert with an impact
pages (see `routing`); everything goes to Slack. Every alert has a summary, a description naming
the affected thing and its value, and a runbook under docs/runbooks/. Thresholds are defined once in
`thresholds` and read by the expression, the texts and the dashboard; `for` durations are the
original plan's. `tests/test_alert_rules.py` proves each alert with promtool just above and just
below its threshold and before and after its `for`. The error-budget alerts (`slo`) page for what
HighErrorRate and HighResponseTime measure, so those two are tickets (docs/alerting.md).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from charts.observability import promql as q
from charts.observability import thresholds as t
from charts.observability.routing import DATA, IMPACT, MONITORING_SECRET_NOT_READY, USERS
from charts.observability.severity import LABEL as SEVERITY
from charts.observability.severity import Severity
from envspec import Names
from envspec.naming import MIGRATION_JOB

CRITICAL = Severity.CRITICAL
WARNING = Severity.WARNING


@dataclass(frozen=True)
class Recording:
    record: str
    expr: str
    labels: dict[str, str] = field(default_factory=dict)

    def render(self, names: Names) -> dict[str, Any]:
        rule: dict[str, Any] = {"record": self.record, "expr": self.expr}
        if self.labels:
            rule["labels"] = dict(self.labels)
        return rule


@dataclass(frozen=True, kw_only=True)
class Alert:
    name: str
    expr: str
    for_: str | None  # None: fires at the first evaluation that finds the condition true
    severity: Severity
    summary: str
    description: str
    meaning: str  # one line for the runbook index: what the alert says
    # What is at risk when it fires (`users`, `data`): only such critical alerts page (routing.IMPACT).
    impact: str | None = None

    @property
    def runbook(self) -> str:
        """docs/runbooks/<runbook>.md: the alert name in kebab case."""
        return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "-", self.name).lower()

    def render(self, names: Names) -> dict[str, Any]:
        return {
            "alert": self.name,
            "expr": self.expr,
            **({"for": self.for_} if self.for_ else {}),
            "labels": {SEVERITY: str(self.severity), **({IMPACT: self.impact} if self.impact else {})},
            "annotations": {
                "summary": self.summary,
                "description": self.description,
                "runbook_url": names.runbook_url(self.runbook),
            },
        }


@dataclass(frozen=True)
class RuleGroup:
    name: str
    rules: tuple[Recording | Alert, ...]

    def render(self, names: Names) -> dict[str, Any]:
        return {"name": self.name, "rules": [rule.render(names) for rule in self.rules]}


def _quantiles(record: str, *, buckets: str, quantiles: tuple[str, ...]) -> tuple[Recording, ...]:
    return tuple(Recording(record, q.quantile(value, buckets), {"quantile": value}) for value in quantiles)


HTTP = RuleGroup(
    "ai-subsidy.http",
    (
        Recording(q.REQUESTS_RATE, q.rate(q.app(q.HTTP_REQUESTS))),
        Recording(q.ERRORS_RATE, q.ERRORS_RATE_EXPR),
        Recording(q.ERROR_RATIO, f"{q.ERRORS_RATE} / {q.REQUESTS_RATE}"),
        Recording(q.DURATION_BUCKETS_RATE, q.rate(q.app(q.HTTP_DURATION_BUCKET), by=f"{q.BY}, le")),
        *_quantiles(q.DURATION_QUANTILE, buckets=q.DURATION_BUCKETS_RATE, quantiles=("0.5", "0.95")),
        Alert(
            name="ApplicationDown",
            expr=f"{q.app(q.UP, job=q.BACKEND_JOB)} == 0",
            for_="5m",
            severity=CRITICAL,
            summary="The backend's metrics endpoint does not answer",
            description=(
                "Prometheus has failed to scrape backend target {{ $labels.instance }} (pod {{ $labels.pod }}) for 5 minutes "
                "(up = {{ $value }})."
            ),
            meaning="a backend scrape target has been down for 5 minutes",
            impact=USERS,
        ),
        Alert(
            name="ApplicationComponentDown",
            expr=f"{q.app(q.UP, job=f'~{q.FRONTEND_JOB}|{q.AI_WORKER_JOB}')} == 0",
            for_="5m",
            severity=CRITICAL,
            summary="A frontend or AI worker metrics endpoint does not answer",
            description=(
                "Prometheus has failed to scrape {{ $labels.job }} target {{ $labels.instance }} (pod {{ $labels.pod }}) for 5 minutes "
                "(up = {{ $value }})."
            ),
            meaning="a frontend or AI worker scrape target has been down for 5 minutes",
            impact=USERS,
        ),
        Alert(
            name="ApplicationTargetsMissing",
            expr=" or ".join(f"absent({q.app(q.UP, job=job)})" for job in q.APPLICATION_JOBS),
            for_="10m",
            severity=CRITICAL,
            summary="Prometheus has no scrape target for an application component",
            description=(
                "No target of job {{ $labels.job }} in namespace {{ $labels.namespace }} has been discovered for 10 minutes "
                "(absent = {{ $value }}): its pods, Service or monitor are gone."
            ),
            meaning="Prometheus has discovered no target of a component for 10 minutes",
            impact=USERS,
        ),
        Alert(
            name="HighResponseTime",
            expr=f"{q.app(q.DURATION_QUANTILE, job=q.BACKEND_JOB, quantile='0.95')} > {t.HIGH_RESPONSE_TIME.promql}",
            for_="10m",
            severity=WARNING,
            summary=f"Backend p95 response time is over {t.HIGH_RESPONSE_TIME.text}",
            description=(
                "The 95th percentile response time of {{ $labels.job }} has been {{ $value | humanizeDuration }} "
                f"(threshold {t.HIGH_RESPONSE_TIME.text}) for 10 minutes."
            ),
            meaning=f"backend p95 latency over {t.HIGH_RESPONSE_TIME.text} for 10 minutes",
        ),
        # A ticket: a 5-minute burst of errors. What users feel over time pages as ErrorBudgetFastBurn.
        Alert(
            name="HighErrorRate",
            expr=f"{q.app(q.ERROR_RATIO, job=q.BACKEND_JOB)} > {t.HIGH_ERROR_RATIO.promql}",
            for_="5m",
            severity=WARNING,
            summary=f"More than {t.HIGH_ERROR_RATIO.text} of backend requests fail with 5xx",
            description=(
                "{{ $value | humanizePercentage }} of {{ $labels.job }} requests have been answered with a 5xx status "
                f"(threshold {t.HIGH_ERROR_RATIO.text}) for 5 minutes."
            ),
            meaning=f"more than {t.HIGH_ERROR_RATIO.text} of backend requests answered 5xx for 5 minutes",
        ),
    ),
)

AI = RuleGroup(
    "ai-subsidy.ai",
    (
        Recording(q.AI_REQUESTS_RATE, q.rate(q.app(q.AI_REQUESTS))),
        Recording(q.AI_DURATION_BUCKETS_RATE, q.rate(q.app(q.AI_DURATION_BUCKET), by=f"{q.BY}, le")),
        *_quantiles(q.AI_DURATION_QUANTILE, buckets=q.AI_DURATION_BUCKETS_RATE, quantiles=("0.95",)),
        Alert(
            name="AIServiceHighLatency",
            expr=f"{q.app(q.AI_DURATION_QUANTILE, quantile='0.95')} > {t.AI_HIGH_LATENCY.promql}",
            for_="5m",
            severity=WARNING,
            summary=f"AI request p95 latency is over {t.AI_HIGH_LATENCY.text}",
            description=(
                "The 95th percentile duration of AI requests made by {{ $labels.job }} has been {{ $value | humanizeDuration }} "
                f"(threshold {t.AI_HIGH_LATENCY.text}) for 5 minutes."
            ),
            meaning=f"AI request p95 latency over {t.AI_HIGH_LATENCY.text} for 5 minutes",
        ),
    ),
)

DATABASE = RuleGroup(
    "ai-subsidy.database",
    (
        Recording(q.DATABASE_QUERIES_RATE, q.rate(q.app(q.DATABASE_QUERIES))),
        Recording(q.DATABASE_CONNECTIONS_ACTIVE_SUM, f"sum by ({q.BY}) ({q.app(q.DATABASE_CONNECTIONS_ACTIVE)})"),
        Recording(
            q.DATABASE_CONNECTIONS_FAILED_INCREASE,
            f"sum by ({q.BY}) (increase({q.app(q.DATABASE_CONNECTIONS_FAILED)}[{q.RATE_WINDOW}]))",
        ),
        Alert(
            name="DatabaseConnectionFailure",
            expr=f"{q.DATABASE_CONNECTIONS_FAILED_INCREASE} > {t.DATABASE_CONNECTION_FAILURES.promql}",
            for_="2m",
            severity=CRITICAL,
            summary="The application fails to connect to PostgreSQL",
            description=(
                "{{ $labels.job }} failed to open {{ $value | humanize }} database connections in the last 5 minutes "
                f"(threshold {t.DATABASE_CONNECTION_FAILURES.text}), for 2 minutes."
            ),
            meaning=f"more than {t.DATABASE_CONNECTION_FAILURES.text} failed database connections in 5 minutes, for 2 minutes",
            impact=DATA,
        ),
    ),
)

NODES = RuleGroup(
    "ai-subsidy.nodes",
    (
        Alert(
            name="HighCPUUsage",
            expr=f"{q.NODE_CPU_PERCENT} > {t.NODE_CPU.promql}",
            for_="10m",
            severity=WARNING,
            summary=f"Node CPU usage is over {t.NODE_CPU.text}",
            description=(
                'CPU usage of node {{ $labels.instance }} has been {{ $value | printf "%.1f" }}%'
                f" (threshold {t.NODE_CPU.text}) for 10 minutes."
            ),
            meaning=f"node CPU usage over {t.NODE_CPU.text} for 10 minutes",
        ),
        Alert(
            name="HighMemoryUsage",
            expr=f"{q.NODE_MEMORY_PERCENT} > {t.NODE_MEMORY.promql}",
            for_="5m",
            severity=CRITICAL,
            summary=f"Node memory usage is over {t.NODE_MEMORY.text}",
            description=(
                'Memory usage of node {{ $labels.instance }} has been {{ $value | printf "%.1f" }}%'
                f" (threshold {t.NODE_MEMORY.text}) for 5 minutes."
            ),
            meaning=f"node memory usage over {t.NODE_MEMORY.text} for 5 minutes",
        ),
    ),
)

_BY_DEPLOYMENT = "namespace, deployment"
_BY_HPA = "namespace, horizontalpodautoscaler"

KUBERNETES = RuleGroup(
    "ai-subsidy.kubernetes",
    (
        Alert(
            name="PodCrashLooping",
            expr=(
                "max by (namespace, pod, container) "
                f"(max_over_time({q.ksm('kube_pod_container_status_waiting_reason', reason='CrashLoopBackOff')}[5m])) >= 1"
            ),
            for_="15m",
            severity=WARNING,
            summary="An application container is crash-looping",
            description=(
                "Container {{ $labels.container }} of pod {{ $labels.pod }} has been in CrashLoopBackOff for 15 minutes "
                "(waiting = {{ $value }})."
            ),
            meaning="a container of the application has been in CrashLoopBackOff for 15 minutes",
        ),
        Alert(
            name="DeploymentReplicasBelowDesired",
            expr=(
                f"max by ({_BY_DEPLOYMENT}) ({q.ksm('kube_deployment_status_replicas_available')})\n"
                f"  < max by ({_BY_DEPLOYMENT}) ({q.ksm('kube_deployment_spec_replicas')})"
            ),
            for_="15m",
            severity=WARNING,
            summary="A Deployment has fewer available replicas than desired",
            description=(
                "Deployment {{ $labels.deployment }} has had only {{ $value }} available replicas, fewer than desired, for 15 minutes."
            ),
            meaning="a Deployment has had fewer available replicas than desired for 15 minutes",
        ),
        Alert(
            name="AutoscalerAtMaximum",
            expr=(
                f"max by ({_BY_HPA}) ({q.ksm('kube_horizontalpodautoscaler_status_current_replicas')})\n"
                f"  >= max by ({_BY_HPA}) ({q.ksm('kube_horizontalpodautoscaler_spec_max_replicas')})\n"
                f"and on ({_BY_HPA})\n"
                f"  max by ({_BY_HPA}) ({q.ksm('kube_horizontalpodautoscaler_spec_max_replicas')})\n"
                f"  > max by ({_BY_HPA}) ({q.ksm('kube_horizontalpodautoscaler_spec_min_replicas')})"
            ),
            for_="30m",
            severity=WARNING,
            summary="An autoscaler has run at its maximum replicas for 30 minutes",
            description=(
                "HorizontalPodAutoscaler {{ $labels.horizontalpodautoscaler }} has run at its maximum of {{ $value }} replicas "
                "for 30 minutes; it cannot add capacity."
            ),
            meaning="an autoscaler has been at its maximum (above its minimum) for 30 minutes",
        ),
        Alert(
            name="MigrationJobFailed",
            expr=f"max by (namespace, job_name) ({q.ksm('kube_job_failed', job_name=MIGRATION_JOB, condition='true')}) > 0",
            for_="1m",
            severity=WARNING,
            summary="The database migration Job failed",
            description=(
                "Job {{ $labels.job_name }} in namespace {{ $labels.namespace }} has failed (failed = {{ $value }}); "
                "the Argo CD sync that ran it stopped before the new backend rolled out."
            ),
            meaning="the pre-sync database migration Job has failed",
        ),
    ),
)

MONITORING = RuleGroup(
    "ai-subsidy.monitoring",
    (
        Alert(
            name=MONITORING_SECRET_NOT_READY,
            expr=q.MONITORING_SECRET_NOT_READY_EXPR,
            for_="10m",
            severity=WARNING,
            summary="A Secret the monitoring stack needs is not synced from Secrets Manager",
            description=(
                "ExternalSecret {{ $labels.name }} in namespace {{ $labels.exported_namespace }} has not been Ready for 10 minutes "
                "(Ready=False is {{ $value }}); while a receiver's Secret is affected, the heartbeat stops."
            ),
            meaning="an ExternalSecret in `monitoring` (receiver credentials, Grafana login) has not been Ready for 10 minutes",
        ),
    ),
)

SECRETS = RuleGroup(
    "ai-subsidy.secrets",
    (
        Alert(
            name="ExternalSecretNotReady",
            expr=q.EXTERNAL_SECRET_NOT_READY_EXPR,
            for_="10m",
            severity=WARNING,
            summary="An ExternalSecret is not synced from Secrets Manager",
            description=(
                "ExternalSecret {{ $labels.name }} in namespace {{ $labels.exported_namespace }} has not been Ready for 10 minutes "
                "(Ready=False is {{ $value }}): its Secret keeps the last value synced, so a rotated credential does not reach the pods "
                "and a new Secret is never created."
            ),
            meaning="an ExternalSecret outside `monitoring` (the application's secrets) has not been Ready for 10 minutes",
        ),
    ),
)

GROUPS = (HTTP, AI, DATABASE, NODES, KUBERNETES, MONITORING, SECRETS)


def alerts() -> list[Alert]:
    """Every alert rule, in rule order; an alert defined by several rules appears once per rule."""
    return [rule for group in GROUPS for rule in group.rules if isinstance(rule, Alert)]


def recording_rule_names() -> set[str]:
    return {rule.record for group in GROUPS for rule in group.rules if isinstance(rule, Recording)}


def rule_groups(names: Names) -> list[dict[str, Any]]:
    """The PrometheusRule's `spec.groups`, in Prometheus' rule-file format."""
    return [group.render(names) for group in GROUPS]
