"""Metric names and the PromQL built from them, defined once for the alert rules and the dashboard.

Application metrics are exported by the backend, the frontend and the AI worker on their `metrics`
port; node metrics come from kube-prometheus-stack's node-exporter, Kubernetes object state from its
kube-state-metrics. Every aggregation keeps `namespace` and `job` only, so the error ratio divides
the job's 5xx rate by the job's total rate (dividing the raw series instead pairs each 5xx series with
the series of identical labels, `status` included, i.e. with itself: 100% at the first 5xx), and a
quantile is taken over buckets summed by `le` across pods (histogram_quantile over raw per-pod bucket
rates gives one quantile per pod, not the service's).
"""

from __future__ import annotations

from envspec.naming import APP_NAMESPACE, EXTERNAL_SECRETS_RELEASE, KUBE_STATE_METRICS_JOB, MONITORING_NAMESPACE, NODE_EXPORTER_JOB
from envspec.topology import AI_WORKER, BACKEND, FRONTEND

# --- Metric names the application exports (the list) ---
HTTP_REQUESTS = "http_requests_total"  # counter, label `status` (HTTP status code)
HTTP_DURATION_BUCKET = "http_request_duration_seconds_bucket"
AI_REQUESTS = "ai_requests_total"
AI_DURATION_BUCKET = "ai_request_duration_seconds_bucket"
DATABASE_CONNECTIONS_FAILED = "database_connections_failed_total"
DATABASE_QUERIES = "database_queries_total"
DATABASE_CONNECTIONS_ACTIVE = "database_connections_active"
APPLICATION_METRICS = (
    HTTP_REQUESTS,
    HTTP_DURATION_BUCKET,
    AI_REQUESTS,
    AI_DURATION_BUCKET,
    DATABASE_CONNECTIONS_FAILED,
    DATABASE_QUERIES,
    DATABASE_CONNECTIONS_ACTIVE,
)

# --- node-exporter ---
NODE_CPU = "node_cpu_seconds_total"
NODE_MEMORY_AVAILABLE = "node_memory_MemAvailable_bytes"
NODE_MEMORY_TOTAL = "node_memory_MemTotal_bytes"
NODE_METRICS = (NODE_CPU, NODE_MEMORY_AVAILABLE, NODE_MEMORY_TOTAL)

# --- Prometheus itself and kube-state-metrics ---
UP = "up"
KUBE_STATE_METRICS = (
    "kube_pod_container_status_waiting_reason",
    "kube_deployment_status_replicas_available",
    "kube_deployment_spec_replicas",
    "kube_horizontalpodautoscaler_status_current_replicas",
    "kube_horizontalpodautoscaler_spec_max_replicas",
    "kube_horizontalpodautoscaler_spec_min_replicas",
    "kube_job_failed",
)

RATE_WINDOW = "5m"
# Scrape jobs (ServiceMonitor/PodMonitor jobLabel `app` = the Deployment name).
BACKEND_JOB = BACKEND.name
FRONTEND_JOB = FRONTEND.name
AI_WORKER_JOB = AI_WORKER.name
APPLICATION_JOBS = (BACKEND_JOB, FRONTEND_JOB, AI_WORKER_JOB)


def _matcher(label: str, value: str) -> str:
    if value.startswith("~"):
        return f'{label}=~"{value[1:]}"'
    if value.startswith("!"):
        return f'{label}!="{value[1:]}"'
    return f'{label}="{value}"'


def selector(metric: str, **matchers: str) -> str:
    """`metric{label="value", ...}`; a value starting with `~` becomes a regex matcher, with `!` a negative one."""
    return f"{metric}{{{', '.join(_matcher(label, value) for label, value in matchers.items())}}}"


def app(metric: str, **matchers: str) -> str:
    """A metric of the application namespace."""
    return selector(metric, namespace=APP_NAMESPACE, **matchers)


def ksm(metric: str, **matchers: str) -> str:
    """A kube-state-metrics series about an object in the application namespace."""
    return selector(metric, job=KUBE_STATE_METRICS_JOB, namespace=APP_NAMESPACE, **matchers)


def node(metric: str, **matchers: str) -> str:
    return selector(metric, job=NODE_EXPORTER_JOB, **matchers)


# --- Recording rules (name -> expression); alerts and the dashboard read these ---
BY = "namespace, job"
REQUESTS_RATE = "namespace_job:http_requests:rate5m"
ERRORS_RATE = "namespace_job:http_requests_5xx:rate5m"
ERROR_RATIO = "namespace_job:http_requests_5xx:ratio_rate5m"
DURATION_BUCKETS_RATE = "namespace_job:http_request_duration_seconds_bucket:rate5m"
DURATION_QUANTILE = "namespace_job_quantile:http_request_duration_seconds:histogram_quantile"
AI_REQUESTS_RATE = "namespace_job:ai_requests:rate5m"
AI_DURATION_BUCKETS_RATE = "namespace_job:ai_request_duration_seconds_bucket:rate5m"
AI_DURATION_QUANTILE = "namespace_job_quantile:ai_request_duration_seconds:histogram_quantile"
DATABASE_QUERIES_RATE = "namespace_job:database_queries:rate5m"
DATABASE_CONNECTIONS_ACTIVE_SUM = "namespace_job:database_connections_active:sum"
DATABASE_CONNECTIONS_FAILED_INCREASE = "namespace_job:database_connections_failed:increase5m"


def rate(metric_selector: str, by: str = BY) -> str:
    return f"sum by ({by}) (rate({metric_selector}[{RATE_WINDOW}]))"


def quantile(q: str, buckets_record: str) -> str:
    return f"histogram_quantile({q}, {buckets_record})"


# A job with traffic but no 5xx has no 5xx series at all; `or ... * 0` fills in a zero rate for
# each of its other series so the ratio is 0 instead of missing.
ERRORS_RATE_EXPR = (
    f"sum by ({BY}) (rate({app(HTTP_REQUESTS, status='~5..')}[{RATE_WINDOW}]) or rate({app(HTTP_REQUESTS)}[{RATE_WINDOW}]) * 0)"
)

# --- Node usage, percent (kube-prometheus-stack relabels node-exporter's `instance` to the node name) ---
NODE_CPU_PERCENT = f"100 * (1 - avg by (instance) (rate({node(NODE_CPU, mode='idle')}[{RATE_WINDOW}])))"
NODE_MEMORY_PERCENT = f"100 * (1 - sum by (instance) ({node(NODE_MEMORY_AVAILABLE)}) / sum by (instance) ({node(NODE_MEMORY_TOTAL)}))"

# --- External Secrets' controller, scraped through its chart's ServiceMonitor (external-secrets v2.9.0,
# pkg/controllers/externalsecret/esmetrics): gauge `externalsecret_status_condition{name, namespace,
# condition, status}`, 1 for the ExternalSecret's current condition. The ServiceMonitor keeps
# `honorLabels: false`, so Prometheus renames the ExternalSecret's `namespace` to `exported_namespace`
# (its own `namespace` is the controller's), and the job is the metrics Service's name.
EXTERNAL_SECRETS_JOB = f"{EXTERNAL_SECRETS_RELEASE}-metrics"
EXTERNALSECRET_CONDITION = "externalsecret_status_condition"
MONITORING_METRICS = (EXTERNALSECRET_CONDITION,)
MONITORING_SECRET_NOT_READY_EXPR = (
    "max by (exported_namespace, name) ("
    + selector(
        EXTERNALSECRET_CONDITION,
        job=EXTERNAL_SECRETS_JOB,
        exported_namespace=MONITORING_NAMESPACE,
        condition="Ready",
        status="False",
    )
    + ") == 1"
)

# Every other ExternalSecret (the application's): not Ready means its Secret keeps the last value synced.
EXTERNAL_SECRET_NOT_READY_EXPR = (
    "max by (exported_namespace, name) ("
    + selector(
        EXTERNALSECRET_CONDITION,
        job=EXTERNAL_SECRETS_JOB,
        exported_namespace=f"!{MONITORING_NAMESPACE}",
        condition="Ready",
        status="False",
    )
    + ") == 1"
)
