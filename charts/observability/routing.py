"""Where alerts go: critical to PagerDuty and Slack, warning to Slack only.

kube-prometheus-stack runs the operator with `alertmanagerConfigMatcherStrategy: {type: None}`, so
this AlertmanagerConfig (in `monitoring`) routes alerts from every namespace: the application's and
the cluster's own (kube-prometheus-stack's default rules). Alerts without a `critical` or `warning`
severity (Watchdog, InfoInhibitor, `info`) do not match the top route and stay with the base
configuration's `null` receiver. Notifications are grouped by alert name and namespace; a warning
is held back while a critical alert of the same name fires in the same namespace.

Receiver credentials are never here: the operator reads them from the Secrets named below, which
External Secrets produces from Secrets Manager (`names.alerting_secrets`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from envspec import Names
from envspec.naming import SecretBinding

ALERTMANAGER_CONFIG = "ai-subsidy"
GROUP_BY = ("alertname", "namespace")
SEVERITY = "severity"
CRITICAL = "critical"
WARNING = "warning"
SLACK = "slack"
PAGERDUTY = "pagerduty"


@dataclass(frozen=True)
class Matcher:
    name: str
    value: str
    match_type: str = "="  # =, !=, =~, !~


@dataclass(frozen=True)
class Route:
    receiver: str
    matchers: tuple[Matcher, ...]
    continue_: bool = False
    repeat_interval: str | None = None
    routes: tuple[Route, ...] = field(default=())


@dataclass(frozen=True)
class Inhibition:
    source: tuple[Matcher, ...]
    target: tuple[Matcher, ...]
    equal: tuple[str, ...]


@dataclass(frozen=True)
class Routing:
    route: Route
    group_by: tuple[str, ...]
    group_wait: str
    group_interval: str
    inhibitions: tuple[Inhibition, ...]
    slack: SecretBinding
    pagerduty: SecretBinding
    slack_channel: str
    environment: str

    # Notification texts (Alertmanager templates); the alert rules fill summary, description and runbook_url.
    @property
    def slack_title(self) -> str:
        return (
            f"[{self.environment}] "
            '[{{ .Status | toUpper }}{{ if eq .Status "firing" }}:{{ .Alerts.Firing | len }}{{ end }}] '
            "{{ .CommonLabels.alertname }}"
        )

    slack_text = (
        "{{ range .Alerts }}*{{ .Labels.severity | toUpper }}* {{ .Annotations.summary }}\n"
        "{{ .Annotations.description }}\n"
        "Runbook: {{ .Annotations.runbook_url }}\n"
        "{{ end }}"
    )
    slack_color = (
        '{{ if eq .Status "firing" }}{{ if eq .CommonLabels.severity "critical" }}danger{{ else }}warning{{ end }}{{ else }}good{{ end }}'
    )

    @property
    def pagerduty_description(self) -> str:
        return f"[{self.environment}] {{{{ .CommonLabels.alertname }}}}: {{{{ .CommonAnnotations.summary }}}}"

    @property
    def pagerduty_client(self) -> str:
        return f"Alertmanager ({self.environment})"

    pagerduty_runbook_link = "{{ .CommonAnnotations.runbook_url }}"


def severity_is(value: str) -> Matcher:
    return Matcher(SEVERITY, value)


def routing_for(names: Names) -> Routing:
    slack, pagerduty = (
        next(b for b in names.alerting_secrets if b.kubernetes_name == f"alertmanager-{kind}") for kind in (SLACK, PAGERDUTY)
    )
    return Routing(
        route=Route(
            receiver=SLACK,
            matchers=(Matcher(SEVERITY, f"{CRITICAL}|{WARNING}", "=~"),),
            repeat_interval="12h",
            routes=(
                Route(PAGERDUTY, (severity_is(CRITICAL),), continue_=True, repeat_interval="4h"),
                Route(SLACK, (severity_is(CRITICAL),), repeat_interval="4h"),
                Route(SLACK, (severity_is(WARNING),), repeat_interval="12h"),
            ),
        ),
        group_by=GROUP_BY,
        group_wait="30s",
        group_interval="5m",
        inhibitions=(Inhibition(source=(severity_is(CRITICAL),), target=(severity_is(WARNING),), equal=GROUP_BY),),
        slack=slack,
        pagerduty=pagerduty,
        slack_channel=names.spec.alerting.slack.channel,
        environment=names.env,
    )
