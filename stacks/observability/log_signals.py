"""What only the logs show: metric filters and alarms on the container log groups, and the saved Logs
Insights queries the runbooks open.

The events are the JSON records Fluent Bit's `cloudwatch_logs` output writes (charts/log_agent.py): a
pod's line under `log` (or, when the line was JSON, its fields under `log_processed`) next to
`kubernetes.namespace_name`, `kubernetes.labels.app` and the rest of the pod's metadata; a journal
entry as `message`, `ident` (SYSLOG_IDENTIFIER), `host` and `priority`.

- backend-fatal: a backend line that says FATAL, or Node's unhandled promise rejection
  (`[UnhandledPromiseRejection: ...]`, `code: 'ERR_UNHANDLED_REJECTION'`), or a JSON line of level
  `fatal` (pino: 60). Node exits on an unhandled rejection since v15 (`--unhandled-rejections=throw`),
  so each is a crashed request path; the pod restart alone does not say why.
- oom-kills: the kernel's line for every process the OOM killer ends, container limit (`Memory cgroup
  out of memory: Killed process ...`) or node (`Out of memory: Killed process ...`): mm/oom_kill.c,
  `__oom_kill_process`, `pr_err("%s: Killed process %d (%s) total-vm:...")`. EKS AL2023 nodes log
  the kernel to the journal only (no rsyslog), which the agent ships to the `host` group.

Regex terms follow "Supported regular expressions (regex) syntax" (CloudWatch Logs User Guide): no
parentheses, no space, at most two per pattern.
"""

from __future__ import annotations

from dataclasses import dataclass

from cdktf_cdktf_provider_aws.cloudwatch_log_metric_filter import CloudwatchLogMetricFilter, CloudwatchLogMetricFilterMetricTransformation
from cdktf_cdktf_provider_aws.cloudwatch_query_definition import CloudwatchQueryDefinition
from constructs import Construct

from envspec import Names
from envspec.naming import APP_NAMESPACE
from envspec.topology import BACKEND
from stacks.observability.alarms import AlarmDefinition, Metric, MissingData, create_alarm

RUNBOOK = "aws-container-logs"
BACKEND_POD = f'$.kubernetes.namespace_name = "{APP_NAMESPACE}" && $.kubernetes.labels.app = "{BACKEND.name}"'


@dataclass(frozen=True, kw_only=True)
class LogSignal:
    purpose: str  # metric name, alarm name suffix, runbook anchor
    group: str  # container log purpose the filter reads
    summary: str
    pattern: str


LOG_SIGNALS = (
    LogSignal(
        purpose="backend-fatal",
        group="application",
        summary="The backend logged a FATAL line or an unhandled promise rejection.",
        pattern=(
            "{ "
            + BACKEND_POD
            + " && ($.log = %FATAL|UnhandledPromiseRejection|ERR_UNHANDLED_REJECTION% || $.log_processed.level = fatal"
            + " || $.log_processed.level = 60) }"
        ),
    ),
    LogSignal(
        purpose="oom-kills",
        group="host",
        summary="The kernel's OOM killer ended a process on a node (a container over its memory limit, or a node out of memory).",
        pattern='{ $.ident = "kernel" && $.message = %Killed.process.[0-9]+% }',
    ),
)


@dataclass(frozen=True)
class SavedQuery:
    name: str  # shown in the console under `<prefix>/<name>`
    groups: tuple[str, ...]
    query: str


SAVED_QUERIES = (
    SavedQuery(
        "backend-errors",
        ("application",),
        f'filter kubernetes.namespace_name = "{APP_NAMESPACE}" and kubernetes.labels.app = "{BACKEND.name}"\n'
        '| filter log like /(?i)(error|fatal|unhandled)/ or log_processed.level in ["error", "fatal", 50, 60]\n'
        "| fields @timestamp, kubernetes.pod_name, coalesce(log, log_processed.msg) as line\n"
        "| sort @timestamp desc\n| limit 200",
    ),
    SavedQuery(
        "pod-last-lines",
        ("application",),
        f'filter kubernetes.namespace_name = "{APP_NAMESPACE}"\n'
        "| fields @timestamp, kubernetes.pod_name, kubernetes.container_name, coalesce(log, log_processed.msg) as line\n"
        "| sort @timestamp desc\n| limit 500",
    ),
    SavedQuery(
        "oom-kills",
        ("host",),
        'filter ident = "kernel" and message like /Killed process|invoked oom-killer|oom-kill:/\n'
        "| fields @timestamp, host, message\n| sort @timestamp desc\n| limit 100",
    ),
)


class LogSignals(Construct):
    """`groups`: container log purpose -> log group name (the cluster stack's, by reference)."""

    def __init__(self, scope: Construct, construct_id: str, *, names: Names, groups: dict[str, str], topic_arn: str):
        super().__init__(scope, construct_id)
        self.namespace = f"{names.prefix}/logs"
        self.filters, self.alarms, self.queries = [], [], []
        for signal in LOG_SIGNALS:
            logical = signal.purpose.replace("-", "_")
            self.filters.append(
                CloudwatchLogMetricFilter(
                    self,
                    f"filter_{logical}",
                    name=signal.purpose,
                    log_group_name=groups[signal.group],
                    pattern=signal.pattern,
                    metric_transformation=CloudwatchLogMetricFilterMetricTransformation(
                        name=signal.purpose, namespace=self.namespace, value="1", default_value="0"
                    ),
                )
            )
            definition = AlarmDefinition(
                purpose=signal.purpose,
                summary=signal.summary,
                comparison="GreaterThanOrEqualToThreshold",
                threshold=1,
                period=300,
                evaluation_periods=1,
                datapoints_to_alarm=1,
                missing=MissingData("notBreaching", "the filter publishes only when a matching line arrives"),
                runbook=(RUNBOOK, signal.purpose),
                metric=Metric(self.namespace, signal.purpose, {}, "Sum"),
            )
            self.alarms.append(create_alarm(self, names=names, definition=definition, topic_arn=topic_arn))
        for query in SAVED_QUERIES:
            self.queries.append(
                CloudwatchQueryDefinition(
                    self,
                    f"query_{query.name.replace('-', '_')}",
                    name=f"{names.prefix}/{query.name}",
                    log_group_names=[groups[purpose] for purpose in query.groups],
                    query_string=query.query,
                )
            )
