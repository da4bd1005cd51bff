"""Boundary cases for every alert, turned into a `promtool test rules` file.

Each case has two scenarios evaluated every minute:

- `firing`: series just past the threshold. The alert's condition must be false one minute before
  `onset` and true at `onset`; the alert must be silent (pending) one minute before `onset + for`
  and firing, with exactly the expected labels and rendered annotations, at `onset + for`.
- `silent`: series just short of the threshold. The alert must stay silent long after any `for`.

`value` is the quantity the alert compares with its threshold, multiplied by `scale` and rounded
(promtool compares floats exactly); the test pins it in both scenarios, so "just past" and "just
short" are numbers a reviewer can read, not claims.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

NS = 'namespace="ai-subsidy"'
BACKEND = f'{NS}, job="ai-subsidy-backend"'
KSM = f'job="kube-state-metrics", {NS}'
WAITING = "kube_pod_container_status_waiting_reason"
NODE = 'job="node-exporter", namespace="monitoring", instance="ip-10-0-1-23.ap-northeast-1.compute.internal"'
BACKEND_POD = "ai-subsidy-backend-7d9c6b5f4-x2x7k"
FRONTEND_POD = "ai-subsidy-frontend-5c8d7f9b6-q4w2m"
WORKER_POD = "ai-worker-6f7b8c9d5-k8s2p"
# External Secrets' controller as Prometheus scrapes it: the ExternalSecret's namespace is `exported_namespace`.
ESO = 'job="external-secrets-metrics", namespace="external-secrets", condition="Ready"'
SLACK_SECRET = f'externalsecret_status_condition{{{ESO}, exported_namespace="monitoring", name="alertmanager-slack"'
REDIS_SECRET = f'externalsecret_status_condition{{{ESO}, exported_namespace="ai-subsidy", name="redis-secret"'


@dataclass(frozen=True)
class Fired:
    labels: dict[str, str]
    description: str


@dataclass(frozen=True)
class AlertCase:
    alert: str
    firing: dict[str, str]  # series -> promtool expanding notation
    silent: dict[str, str]
    onset: int  # minute at which the condition first holds in `firing`
    for_minutes: int
    fired: tuple[Fired, ...]
    value: str  # PromQL of what is compared with the threshold
    firing_value: int | None  # round(value * scale); None: no sample
    silent_value: int | None
    scale: int = 1
    condition: str | None = None  # defaults to the alert's own expression
    extra_checks: tuple[dict[str, Any], ...] = field(default=())


def _scaled(expr: str, scale: int) -> str:
    return f"round(({expr}) * {scale})" if scale != 1 else f"round({expr})"


def value_check(case: AlertCase, minute: int, value: int | None) -> dict[str, Any]:
    expr = f"sum({_scaled(case.value, case.scale)})" if value is not None else case.value
    samples = [{"labels": "{}", "value": value}] if value is not None else []
    return {"expr": expr, "eval_time": f"{minute}m", "exp_samples": samples}


def promtool_tests(case: AlertCase, expression: str, annotations: dict[str, str], rule_labels: dict[str, str]) -> list[dict[str, Any]]:
    """Two promtool test groups (firing and silent) for one case; `expression` is the alert's expr,
    `rule_labels` the labels the rule adds (severity, impact)."""
    condition = case.condition or expression
    fire_at = case.onset + case.for_minutes
    late = fire_at + 10
    fired = [
        {
            "exp_labels": {**item.labels, **rule_labels},
            "exp_annotations": {**annotations, "description": item.description},
        }
        for item in case.fired
    ]
    firing_group = {
        "interval": "1m",
        "input_series": [{"series": series, "values": values} for series, values in case.firing.items()],
        "promql_expr_test": [
            *([{"expr": condition, "eval_time": f"{case.onset - 1}m", "exp_samples": []}] if case.onset > 0 else []),
            {"expr": f"count({condition})", "eval_time": f"{case.onset}m", "exp_samples": [{"labels": "{}", "value": len(case.fired)}]},
            value_check(case, late, case.firing_value),
            *case.extra_checks,
        ],
        "alert_rule_test": [
            {"eval_time": f"{fire_at - 1}m", "alertname": case.alert, "exp_alerts": []},
            {"eval_time": f"{fire_at}m", "alertname": case.alert, "exp_alerts": fired},
        ],
    }
    silent_group = {
        "interval": "1m",
        "input_series": [{"series": series, "values": values} for series, values in case.silent.items()],
        "promql_expr_test": [value_check(case, late, case.silent_value)],
        "alert_rule_test": [
            {"eval_time": f"{fire_at}m", "alertname": case.alert, "exp_alerts": []},
            {"eval_time": f"{late}m", "alertname": case.alert, "exp_alerts": []},
        ],
    }
    return [firing_group, silent_group]


def _buckets(metric: str, labels: str, cumulative_per_minute: dict[str, int], minutes: int = 40) -> dict[str, str]:
    """Histogram buckets growing by the given cumulative counts every minute."""
    return {f'{metric}{{{labels}, le="{le}"}}': f"0+{count}x{minutes}" for le, count in cumulative_per_minute.items()}


CASES: tuple[AlertCase, ...] = (
    AlertCase(
        alert="ApplicationDown",
        firing={
            f'up{{{BACKEND}, instance="10.0.1.10:9464", pod="{BACKEND_POD}"}}': "1 1 1 0x30",
            f'up{{{BACKEND}, instance="10.0.2.11:9464", pod="ai-subsidy-backend-7d9c6b5f4-p9d3z"}}': "1x33",
        },
        silent={f'up{{{BACKEND}, instance="10.0.1.10:9464", pod="{BACKEND_POD}"}}': "1x30"},
        onset=3,
        for_minutes=5,
        fired=(
            Fired(
                {"namespace": "ai-subsidy", "job": "ai-subsidy-backend", "instance": "10.0.1.10:9464", "pod": BACKEND_POD},
                f"Prometheus has failed to scrape backend target 10.0.1.10:9464 (pod {BACKEND_POD}) for 5 minutes (up = 0).",
            ),
        ),
        value=f'min(up{{{BACKEND}, pod="{BACKEND_POD}"}})',
        firing_value=0,
        silent_value=1,
    ),
    AlertCase(
        alert="ApplicationComponentDown",
        firing={
            f'up{{{NS}, job="ai-subsidy-frontend", instance="10.0.1.12:9464", pod="{FRONTEND_POD}"}}': "1 1 1 0x30",
            f'up{{{NS}, job="ai-worker", instance="10.0.3.14:9464", pod="{WORKER_POD}"}}': "1x33",
        },
        silent={
            f'up{{{NS}, job="ai-subsidy-frontend", instance="10.0.1.12:9464", pod="{FRONTEND_POD}"}}': "1x30",
            f'up{{{NS}, job="ai-worker", instance="10.0.3.14:9464", pod="{WORKER_POD}"}}': "1x30",
        },
        onset=3,
        for_minutes=5,
        fired=(
            Fired(
                {"namespace": "ai-subsidy", "job": "ai-subsidy-frontend", "instance": "10.0.1.12:9464", "pod": FRONTEND_POD},
                f"Prometheus has failed to scrape ai-subsidy-frontend target 10.0.1.12:9464 (pod {FRONTEND_POD}) for 5 minutes (up = 0).",
            ),
        ),
        value=f'min(up{{{NS}, job=~"ai-subsidy-frontend|ai-worker"}})',
        firing_value=0,
        silent_value=1,
    ),
    AlertCase(
        alert="ApplicationTargetsMissing",
        # The frontend's only target disappears (stale) at minute 3; a backend target that is down
        # still exists, which is ApplicationDown's business, not this alert's.
        firing={
            f'up{{{BACKEND}, instance="10.0.1.10:9464", pod="{BACKEND_POD}"}}': "0x33",
            f'up{{{NS}, job="ai-subsidy-frontend", instance="10.0.1.12:9464", pod="{FRONTEND_POD}"}}': "1 1 1 stale",
            f'up{{{NS}, job="ai-worker", instance="10.0.3.14:9464", pod="{WORKER_POD}"}}': "1x33",
        },
        silent={
            f'up{{{BACKEND}, instance="10.0.1.10:9464", pod="{BACKEND_POD}"}}': "0x30",
            f'up{{{NS}, job="ai-subsidy-frontend", instance="10.0.1.12:9464", pod="{FRONTEND_POD}"}}': "1x30",
            f'up{{{NS}, job="ai-worker", instance="10.0.3.14:9464", pod="{WORKER_POD}"}}': "1x30",
        },
        onset=3,
        for_minutes=10,
        fired=(
            Fired(
                {"namespace": "ai-subsidy", "job": "ai-subsidy-frontend"},
                "No target of job ai-subsidy-frontend in namespace ai-subsidy has been discovered for 10 minutes (absent = 1): "
                "its pods, Service or monitor are gone.",
            ),
        ),
        value=f'count(up{{{NS}, job="ai-subsidy-frontend"}})',
        firing_value=None,
        silent_value=1,
    ),
    AlertCase(
        alert="HighResponseTime",
        # 100 requests a minute; 94 within 2 s puts the 95th in the (2, 2.5] bucket: p95 = 2 + 0.5 * 1/6.
        firing=_buckets(
            "http_request_duration_seconds_bucket", f'{BACKEND}, pod="{BACKEND_POD}"', {"1": 80, "2": 94, "2.5": 100, "+Inf": 100}
        ),
        # 96 within 2 s: p95 = 1 + 1 * 15/16 = 1.9375 s (1.93749... in floating point). The frontend is slow, but only the backend counts.
        silent={
            **_buckets(
                "http_request_duration_seconds_bucket", f'{BACKEND}, pod="{BACKEND_POD}"', {"1": 80, "2": 96, "2.5": 100, "+Inf": 100}
            ),
            **_buckets(
                "http_request_duration_seconds_bucket",
                f'{NS}, job="ai-subsidy-frontend", pod="{FRONTEND_POD}"',
                {"1": 10, "2": 20, "+Inf": 100},
            ),
        },
        onset=1,
        for_minutes=10,
        fired=(
            Fired(
                {"namespace": "ai-subsidy", "job": "ai-subsidy-backend", "quantile": "0.95"},
                "The 95th percentile response time of ai-subsidy-backend has been 2.083s (threshold 2s) for 10 minutes.",
            ),
        ),
        value='namespace_job_quantile:http_request_duration_seconds:histogram_quantile{job="ai-subsidy-backend", quantile="0.95"}',
        scale=1000,
        firing_value=2083,
        silent_value=1937,
    ),
    AlertCase(
        alert="HighErrorRate",
        # 1000 requests a minute over two pods: 101 answered 503 (10.1%); 404s are not errors; the
        # second pod has no 5xx series at all.
        firing={
            f'http_requests_total{{{BACKEND}, pod="{BACKEND_POD}", status="200"}}': "0+400x40",
            f'http_requests_total{{{BACKEND}, pod="{BACKEND_POD}", status="503"}}': "0+101x40",
            f'http_requests_total{{{BACKEND}, pod="ai-subsidy-backend-7d9c6b5f4-p9d3z", status="200"}}': "0+449x40",
            f'http_requests_total{{{BACKEND}, pod="ai-subsidy-backend-7d9c6b5f4-p9d3z", status="404"}}': "0+50x40",
        },
        silent={
            f'http_requests_total{{{BACKEND}, pod="{BACKEND_POD}", status="200"}}': "0+402x40",
            f'http_requests_total{{{BACKEND}, pod="{BACKEND_POD}", status="500"}}': "0+99x40",
            f'http_requests_total{{{BACKEND}, pod="ai-subsidy-backend-7d9c6b5f4-p9d3z", status="200"}}': "0+449x40",
            f'http_requests_total{{{BACKEND}, pod="ai-subsidy-backend-7d9c6b5f4-p9d3z", status="404"}}': "0+50x40",
        },
        onset=1,
        for_minutes=5,
        fired=(
            Fired(
                {"namespace": "ai-subsidy", "job": "ai-subsidy-backend"},
                "10.1% of ai-subsidy-backend requests have been answered with a 5xx status (threshold 10%) for 5 minutes.",
            ),
        ),
        value='namespace_job:http_requests_5xx:ratio_rate5m{job="ai-subsidy-backend"}',
        scale=1000,
        firing_value=101,
        silent_value=99,
    ),
    AlertCase(
        alert="DatabaseConnectionFailure",
        # Two pods each failing 0.6 connections a minute: 6 failures in 5 minutes, first reached at minute 5.
        firing={
            f'database_connections_failed_total{{{BACKEND}, pod="{BACKEND_POD}"}}': "0+0.6x40",
            f'database_connections_failed_total{{{BACKEND}, pod="ai-subsidy-backend-7d9c6b5f4-p9d3z"}}': "0+0.6x40",
        },
        # 0.5 a minute each: exactly 5 in 5 minutes, which is not more than 5.
        silent={
            f'database_connections_failed_total{{{BACKEND}, pod="{BACKEND_POD}"}}': "0+0.5x40",
            f'database_connections_failed_total{{{BACKEND}, pod="ai-subsidy-backend-7d9c6b5f4-p9d3z"}}': "0+0.5x40",
        },
        onset=5,
        for_minutes=2,
        fired=(
            Fired(
                {"namespace": "ai-subsidy", "job": "ai-subsidy-backend"},
                "ai-subsidy-backend failed to open 6 database connections in the last 5 minutes (threshold 5), for 2 minutes.",
            ),
        ),
        value="namespace_job:database_connections_failed:increase5m",
        scale=10,
        firing_value=60,
        silent_value=50,
    ),
    AlertCase(
        alert="AIServiceHighLatency",
        # 94 of 100 AI requests within 10 s: p95 = 10 + 5 * 1/6 s.
        firing=_buckets(
            "ai_request_duration_seconds_bucket", f'{NS}, job="ai-worker", pod="{WORKER_POD}"', {"5": 50, "10": 94, "15": 100, "+Inf": 100}
        ),
        # 96 within 10 s: p95 = 5 + 5 * 45/46 s.
        silent=_buckets(
            "ai_request_duration_seconds_bucket", f'{NS}, job="ai-worker", pod="{WORKER_POD}"', {"5": 50, "10": 96, "15": 100, "+Inf": 100}
        ),
        onset=1,
        for_minutes=5,
        fired=(
            Fired(
                {"namespace": "ai-subsidy", "job": "ai-worker", "quantile": "0.95"},
                "The 95th percentile duration of AI requests made by ai-worker has been 10.83s (threshold 10s) for 5 minutes.",
            ),
        ),
        value='namespace_job_quantile:ai_request_duration_seconds:histogram_quantile{quantile="0.95"}',
        scale=1000,
        firing_value=10833,
        silent_value=9891,
    ),
    AlertCase(
        alert="HighCPUUsage",
        # Two CPUs idle 8.7 s of every 60: 85.5% busy.
        firing={
            f'node_cpu_seconds_total{{{NODE}, cpu="0", mode="idle"}}': "0+8.7x40",
            f'node_cpu_seconds_total{{{NODE}, cpu="1", mode="idle"}}': "0+8.7x40",
            f'node_cpu_seconds_total{{{NODE}, cpu="0", mode="user"}}': "0+51.3x40",
        },
        # Idle 9.3 s of every 60: 84.5% busy.
        silent={
            f'node_cpu_seconds_total{{{NODE}, cpu="0", mode="idle"}}': "0+9.3x40",
            f'node_cpu_seconds_total{{{NODE}, cpu="1", mode="idle"}}': "0+9.3x40",
        },
        onset=1,
        for_minutes=10,
        fired=(
            Fired(
                {"instance": "ip-10-0-1-23.ap-northeast-1.compute.internal"},
                "CPU usage of node ip-10-0-1-23.ap-northeast-1.compute.internal has been 85.5% (threshold 85%) for 10 minutes.",
            ),
        ),
        value='100 * (1 - avg by (instance) (rate(node_cpu_seconds_total{job="node-exporter", mode="idle"}[5m])))',
        scale=10,
        firing_value=855,
        silent_value=845,
    ),
    AlertCase(
        alert="HighMemoryUsage",
        # 16 GB node; 1.5 GB available from minute 2: 90.625% used.
        firing={
            f"node_memory_MemTotal_bytes{{{NODE}}}": "16000000000x40",
            f"node_memory_MemAvailable_bytes{{{NODE}}}": "4000000000 4000000000 1500000000x40",
        },
        # 1.7 GB available: 89.375% used.
        silent={
            f"node_memory_MemTotal_bytes{{{NODE}}}": "16000000000x40",
            f"node_memory_MemAvailable_bytes{{{NODE}}}": "1700000000x40",
        },
        onset=2,
        for_minutes=5,
        fired=(
            Fired(
                {"instance": "ip-10-0-1-23.ap-northeast-1.compute.internal"},
                "Memory usage of node ip-10-0-1-23.ap-northeast-1.compute.internal has been 90.6% (threshold 90%) for 5 minutes.",
            ),
        ),
        value=(
            '100 * (1 - sum by (instance) (node_memory_MemAvailable_bytes{job="node-exporter"})'
            ' / sum by (instance) (node_memory_MemTotal_bytes{job="node-exporter"}))'
        ),
        scale=1000,
        firing_value=90625,
        silent_value=89375,
    ),
    AlertCase(
        alert="PodCrashLooping",
        firing={
            f'{WAITING}{{{KSM}, pod="{WORKER_POD}", container="ai-worker", reason="CrashLoopBackOff"}}': ("0 0 1x40"),
        },
        # Waiting for another reason here, and crash-looping in another namespace: neither counts.
        silent={
            f'{WAITING}{{{KSM}, pod="{WORKER_POD}", container="ai-worker", reason="CrashLoopBackOff"}}': "0x40",
            f'{WAITING}{{{KSM}, pod="{WORKER_POD}", container="ai-worker", reason="ContainerCreating"}}': "1x40",
            'kube_pod_container_status_waiting_reason{job="kube-state-metrics", namespace="other", pod="x", container="x", '
            'reason="CrashLoopBackOff"}': "1x40",
        },
        onset=2,
        for_minutes=15,
        fired=(
            Fired(
                {"namespace": "ai-subsidy", "pod": WORKER_POD, "container": "ai-worker"},
                f"Container ai-worker of pod {WORKER_POD} has been in CrashLoopBackOff for 15 minutes (waiting = 1).",
            ),
        ),
        value=f'max(kube_pod_container_status_waiting_reason{{{KSM}, reason="CrashLoopBackOff"}})',
        firing_value=1,
        silent_value=0,
    ),
    AlertCase(
        alert="DeploymentReplicasBelowDesired",
        firing={
            f'kube_deployment_spec_replicas{{{KSM}, deployment="ai-subsidy-backend"}}': "3x40",
            f'kube_deployment_status_replicas_available{{{KSM}, deployment="ai-subsidy-backend"}}': "3 3 2x40",
        },
        silent={
            f'kube_deployment_spec_replicas{{{KSM}, deployment="ai-subsidy-backend"}}': "3x40",
            f'kube_deployment_status_replicas_available{{{KSM}, deployment="ai-subsidy-backend"}}': "3x40",
        },
        onset=2,
        for_minutes=15,
        fired=(
            Fired(
                {"namespace": "ai-subsidy", "deployment": "ai-subsidy-backend"},
                "Deployment ai-subsidy-backend has had only 2 available replicas, fewer than desired, for 15 minutes.",
            ),
        ),
        # Available minus desired.
        value=f"sum(kube_deployment_status_replicas_available{{{KSM}}}) - sum(kube_deployment_spec_replicas{{{KSM}}})",
        firing_value=-1,
        silent_value=0,
    ),
    AlertCase(
        alert="AutoscalerAtMaximum",
        firing={
            f'kube_horizontalpodautoscaler_spec_min_replicas{{{KSM}, horizontalpodautoscaler="ai-subsidy-frontend"}}': "2x50",
            f'kube_horizontalpodautoscaler_spec_max_replicas{{{KSM}, horizontalpodautoscaler="ai-subsidy-frontend"}}': "6x50",
            f'kube_horizontalpodautoscaler_status_current_replicas{{{KSM}, horizontalpodautoscaler="ai-subsidy-frontend"}}': "4 4 6x50",
        },
        # One replica short of the maximum; and an autoscaler whose minimum is its maximum is not "maxed out".
        silent={
            f'kube_horizontalpodautoscaler_spec_min_replicas{{{KSM}, horizontalpodautoscaler="ai-subsidy-frontend"}}': "2x50",
            f'kube_horizontalpodautoscaler_spec_max_replicas{{{KSM}, horizontalpodautoscaler="ai-subsidy-frontend"}}': "6x50",
            f'kube_horizontalpodautoscaler_status_current_replicas{{{KSM}, horizontalpodautoscaler="ai-subsidy-frontend"}}': "5x50",
            f'kube_horizontalpodautoscaler_spec_min_replicas{{{KSM}, horizontalpodautoscaler="ai-worker"}}': "1x50",
            f'kube_horizontalpodautoscaler_spec_max_replicas{{{KSM}, horizontalpodautoscaler="ai-worker"}}': "1x50",
            f'kube_horizontalpodautoscaler_status_current_replicas{{{KSM}, horizontalpodautoscaler="ai-worker"}}': "1x50",
        },
        onset=2,
        for_minutes=30,
        fired=(
            Fired(
                {"namespace": "ai-subsidy", "horizontalpodautoscaler": "ai-subsidy-frontend"},
                "HorizontalPodAutoscaler ai-subsidy-frontend has run at its maximum of 6 replicas for 30 minutes; it cannot add capacity.",
            ),
        ),
        # Current minus maximum replicas of the frontend's autoscaler.
        value=(
            f'sum(kube_horizontalpodautoscaler_status_current_replicas{{{KSM}, horizontalpodautoscaler="ai-subsidy-frontend"}})'
            f' - sum(kube_horizontalpodautoscaler_spec_max_replicas{{{KSM}, horizontalpodautoscaler="ai-subsidy-frontend"}})'
        ),
        firing_value=0,
        silent_value=-1,
    ),
    AlertCase(
        alert="MonitoringSecretNotReady",
        # The Slack webhook secret stops syncing at minute 2 (the gauge flips from status True to False).
        firing={
            f'{SLACK_SECRET}, status="True"}}': "1 1 0x30",
            f'{SLACK_SECRET}, status="False"}}': "0 0 1x30",
            f'externalsecret_status_condition{{{ESO}, exported_namespace="monitoring", name="grafana-admin", status="True"}}': "1x32",
        },
        # Every monitoring secret is Ready; an application secret failing is another alert's business.
        silent={
            f'{SLACK_SECRET}, status="True"}}': "1x30",
            f'{SLACK_SECRET}, status="False"}}': "0x30",
            f'externalsecret_status_condition{{{ESO}, exported_namespace="ai-subsidy", name="redis-secret", status="False"}}': "1x30",
        },
        onset=2,
        for_minutes=10,
        fired=(
            Fired(
                {"exported_namespace": "monitoring", "name": "alertmanager-slack"},
                "ExternalSecret alertmanager-slack in namespace monitoring has not been Ready for 10 minutes (Ready=False is 1); "
                "while a receiver's Secret is affected, the heartbeat stops.",
            ),
        ),
        value=f'max(externalsecret_status_condition{{{ESO}, exported_namespace="monitoring", status="False"}})',
        firing_value=1,
        silent_value=0,
    ),
    AlertCase(
        alert="ExternalSecretNotReady",
        # The application's Redis secret stops syncing at minute 2 (the gauge flips from status True to False).
        firing={
            f'{REDIS_SECRET}, status="True"}}': "1 1 0x30",
            f'{REDIS_SECRET}, status="False"}}': "0 0 1x30",
            f'externalsecret_status_condition{{{ESO}, exported_namespace="ai-subsidy", name="database-secret", status="True"}}': "1x32",
        },
        # The application's secrets are Ready; a monitoring secret failing is MonitoringSecretNotReady's business.
        silent={
            f'{REDIS_SECRET}, status="True"}}': "1x30",
            f'{REDIS_SECRET}, status="False"}}': "0x30",
            f'{SLACK_SECRET}, status="False"}}': "1x30",
        },
        onset=2,
        for_minutes=10,
        fired=(
            Fired(
                {"exported_namespace": "ai-subsidy", "name": "redis-secret"},
                "ExternalSecret redis-secret in namespace ai-subsidy has not been Ready for 10 minutes (Ready=False is 1): "
                "its Secret keeps the last value synced, so a rotated credential does not reach the pods "
                "and a new Secret is never created.",
            ),
        ),
        value=f'max(externalsecret_status_condition{{{ESO}, exported_namespace="ai-subsidy", status="False"}})',
        firing_value=1,
        silent_value=0,
    ),
    AlertCase(
        alert="MigrationJobFailed",
        firing={
            f'kube_job_failed{{{KSM}, job_name="ai-subsidy-backend-migrate", condition="true"}}': "0 0 1x20",
            f'kube_job_failed{{{KSM}, job_name="ai-subsidy-backend-migrate", condition="false"}}': "1 1 0x20",
        },
        # The migration has not failed; another Job has, which is not this alert's business.
        silent={
            f'kube_job_failed{{{KSM}, job_name="ai-subsidy-backend-migrate", condition="true"}}': "0x20",
            f'kube_job_failed{{{KSM}, job_name="ai-subsidy-backend-migrate", condition="false"}}': "1x20",
            f'kube_job_failed{{{KSM}, job_name="ad-hoc-report", condition="true"}}': "1x20",
        },
        onset=2,
        for_minutes=1,
        fired=(
            Fired(
                {"namespace": "ai-subsidy", "job_name": "ai-subsidy-backend-migrate"},
                "Job ai-subsidy-backend-migrate in namespace ai-subsidy has failed (failed = 1); "
                "the Argo CD sync that ran it stopped before the new backend rolled out.",
            ),
        ),
        value=f'max(kube_job_failed{{{KSM}, job_name="ai-subsidy-backend-migrate", condition="true"}})',
        firing_value=1,
        silent_value=0,
    ),
)
